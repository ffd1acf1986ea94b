#!/bin/sh
# upgrade@.service's sandbox must not regress: `systemd-analyze security`
# (offline: the unit file as shipped, no running system needed) must rate
# its exposure at most 2.5. On failure, the settings that cost the most.
#   unit_security_test.sh UNIT_FILE [MAX_EXPOSURE_TIMES_10]
unit=${1:?usage: $0 UNIT_FILE [THRESHOLD]}
threshold=${2:-25}
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "skipped: systemd-analyze is not installed"
  exit 77
fi
out=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1)
overall=$(printf '%s\n' "$out" | grep 'Overall exposure level')
if [ -z "$overall" ]; then
  printf '%s\n' "$out"
  echo "FAIL: systemd-analyze gave no overall exposure level for $unit"
  exit 1
fi
echo "$overall"
if ! systemd-analyze security --offline=yes --no-pager \
    --threshold="$threshold" "$unit" >/dev/null 2>&1; then
  echo "FAIL: exposure above $(echo "$threshold" | sed 's/.$/.&/'); what costs the most:"
  # The exposure is the last field of each failed check.
  printf '%s\n' "$out" | grep '✗' | awk '{print $NF "\t" $0}' |
    sort -rn | cut -f2- | head -n 12
  exit 1
fi
echo "ok: at most $(echo "$threshold" | sed 's/.$/.&/')"
