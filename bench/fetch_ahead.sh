#!/usr/bin/env bash
# What fetching ahead saves a host's apply: the wall time of `systemctl
# start upgrade@demo` for a large Mode=binary release (BENCH_FETCH_MIB,
# default 512 MiB: the test service with random bytes appended, which an
# ELF file ignores) downloaded over HTTPS from the in-bed nginx, against
# the same apply after `upgrader fetch demo` staged the release (then the
# apply hashes the staged file again, swaps, starts and checks). Runs
# INSIDE the test bed:
#
#   tests/testbed/testbed.sh run --bind SRC --bind BUILD --bind OUTDIR -- \
#     env BUILD=BUILD SRC=SRC BENCH_SMOKE=0|1 bash SRC/bench/fetch_ahead.sh OUTDIR/fetch_ahead.json
#
# RUNS=3 of each (BENCH_SMOKE=1: one, 8 MiB), interleaved; a fast health
# check (20 ms, one success) so that the figure is about the release.
# Writes OUT_JSON: apply_ms, apply_after_fetch_ms (medians) and
# apply_after_fetch_vs_apply; OUT_JSON.details: each run's times.
set -euo pipefail

OUT_JSON=${1:?usage: fetch_ahead.sh OUT_JSON (inside the test bed; needs BUILD and SRC)}
# shellcheck source=../tests/integration/lib.sh
source "$SRC/tests/integration/lib.sh"

RUNS=${RUNS:-3}
MIB=${BENCH_FETCH_MIB:-512}
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
  RUNS=1
  MIB=8
fi
WORK=$(mktemp -d /tmp/fetch-ahead.XXXXXX) # the test bed's /tmp: gone at power-off
log() { echo "fetch_ahead: $*" >&2; }
die() {
  log "$*"
  journalctl --sync
  journalctl -b --no-pager -o short-precise -n 40 >&2 || true
  exit 1
}
rm -f "$OUT_JSON" "$OUT_JSON.details"

setup_demo 1
conf_set Health IntervalSec 20ms
conf_set Health Successes 1
conf_set Health SettleSec 0
# The preflight runs the release; it is the same in both cases.
conf_unset Install Preflight
# Release 2: the v2 service and MIB MiB of random bytes.
{
  cat "$FIXTURES/test_service_v2"
  head -c "$((MIB * 1024 * 1024))" /dev/urandom
} >"$RELEASES/test_service-2"
chmod 0644 "$RELEASES/test_service-2"
(cd "$RELEASES" && sha256sum test_service-* >SHA256SUMS)
sign_release "$RELEASES/SHA256SUMS"
log "release 2: $MIB MiB"

# timed_apply: ms of `systemctl start upgrade@demo`, which must upgrade.
timed_apply() {
  local status begin end
  rm -f "$WORK/times"
  status=$(upgrade_status demo "$WORK/times")
  [ "$status" = 0 ] || die "upgrade@demo exited $status"
  [ "$(demo_version)" = 2 ] || die "not serving 2 after the upgrade"
  read -r begin end <"$WORK/times"
  echo $(((end - begin) / 1000))
}

: >"$WORK/apply" && : >"$WORK/after_fetch"
for run in $(seq 1 "$RUNS"); do
  reset_demo_to_v1
  ms=$(timed_apply)
  echo "$ms" >>"$WORK/apply"
  log "run $run: apply ${ms} ms"

  reset_demo_to_v1
  upgrader fetch demo >/dev/null 2>&1 || die "upgrader fetch demo failed"
  ms=$(timed_apply)
  journal -b -o cat UPGRADER_EVENT=verified --grep "fetched ahead at" -n 1 >/dev/null ||
    die "the apply did not take the fetched release over"
  echo "$ms" >>"$WORK/after_fetch"
  log "run $run: apply after fetch ${ms} ms"
done

python3 - "$WORK/apply" "$WORK/after_fetch" "$OUT_JSON" "$MIB" <<'PY'
import json, statistics, sys
apply_runs = [int(x) for x in open(sys.argv[1]).read().split()]
fetched_runs = [int(x) for x in open(sys.argv[2]).read().split()]
a, f = statistics.median(apply_runs), statistics.median(fetched_runs)
json.dump({"apply_ms": a, "apply_after_fetch_ms": f,
           "apply_after_fetch_vs_apply": round(f / a, 3)}, open(sys.argv[3], "w"))
json.dump({"release_mib": int(sys.argv[4]), "apply_ms": apply_runs,
           "apply_after_fetch_ms": fetched_runs}, open(sys.argv[3] + ".details", "w"))
PY
log "medians: $(cat "$OUT_JSON")"
