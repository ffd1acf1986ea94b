#!/usr/bin/env bash
# Two test beds booted at once do not interfere: each starts, reads and
# stops its own unit, sees neither the other's unit nor its cgroup, and
# its unit keeps running while the other bed stops its own. The beds meet
# at barriers in a directory bound into both. Afterwards no cgroup of
# either bed is left on the host. Binding the host's /tmp is refused.
#
#   side_by_side_test.sh            (on the host, as root: the test)
#   side_by_side_test.sh probe NAME OTHER DIR   (inside a bed)
set -euo pipefail

readonly WAIT=90

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# Waits until DIR/FILE exists, up to WAIT seconds.
await() {
  local file=$1 i
  for ((i = 0; i < WAIT * 10; i++)); do
    [ -e "$file" ] && return 0
    sleep 0.1
  done
  fail "${file##*/} did not appear within ${WAIT}s"
}

probe() {
  local me=$1 other=$2 dir=$3
  local unit=probe-$me.service cgroup=/sys/fs/cgroup/systemd/system.slice
  systemd-run -q --unit="$unit" sleep infinity
  [ "$(systemctl is-active "$unit")" = active ] || fail "$me: $unit is not active"
  [ -d "$cgroup/$unit" ] || fail "$me: no cgroup $cgroup/$unit"
  touch "$dir/up-$me"
  await "$dir/up-$other"

  # Both units run now. This bed knows only its own.
  local listed
  listed=$(systemctl list-units --all --plain --no-legend 'probe-*' | awk '{print $1}')
  [ "$listed" = "$unit" ] || fail "$me: probe units listed: '$listed', not only $unit"
  [ ! -e "$cgroup/probe-$other.service" ] || fail "$me: sees the cgroup of $other's unit"
  ok "$me: lists only its own unit, and sees only its own cgroup"
  touch "$dir/checked-$me"
  await "$dir/checked-$other"

  # One bed stops its unit first; the other's keeps running meanwhile.
  if [ "$me" = a ]; then
    systemctl stop "$unit"
    touch "$dir/stopped-$me"
  else
    await "$dir/stopped-$other"
    [ "$(systemctl is-active "$unit")" = active ] ||
      fail "$me: $unit stopped when the other bed stopped its own"
    ok "$me: its unit runs on after the other bed stopped its own"
    systemctl stop "$unit"
  fi
  [ "$(systemctl is-active "$unit")" != active ] || fail "$me: $unit still active after stop"
  [ ! -d "$cgroup/$unit" ] || fail "$me: cgroup of $unit left after stop"
  ok "$me: stopped its unit, and its cgroup went with it"
}

if [ "${1:-}" = probe ]; then
  shift
  probe "$@"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "needs root: skipped"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
self=$here/$(basename "$0")
# Not under /tmp: each bed mounts its own.
dir=$(mktemp -d /var/tmp/upgrader-side-by-side.XXXXXX)
trap 'rm -rf -- "$dir"' EXIT
"$here/testbed.sh" run --bind "$here" --bind "$dir" -- \
  bash "$self" probe a b "$dir" >"$dir/a.log" 2>&1 &
a=$!
"$here/testbed.sh" run --bind "$here" --bind "$dir" -- \
  bash "$self" probe b a "$dir" >"$dir/b.log" 2>&1 &
b=$!
# Each bed's name (the state directory in which testbed.sh records its PID
# as the owner; its cgroups are named after it), for the check at the end:
# other tests' beds may be running beside these.
names=()
for pid in "$a" "$b"; do
  found=""
  for ((i = 0; i < 600; i++)); do
    found=$(grep -lx "$pid" /tmp/upgrader-testbed.*/owner 2>/dev/null | head -n 1 || true)
    [ -n "$found" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$found" ] || fail "no state directory of the bed run by PID $pid"
  found=${found%/owner}
  names+=("${found##*/}")
done
rc=0
wait "$a" || rc=1
wait "$b" || rc=1
sed 's/^/bed a: /' "$dir/a.log"
sed 's/^/bed b: /' "$dir/b.log"
[ "$rc" = 0 ] || fail "a bed's probe failed"
left=$(find /sys/fs/cgroup -maxdepth 6 -type d \( -name "${names[0]}" -o -name "${names[1]}" \) \
  2>/dev/null || true)
[ -z "$left" ] || fail "cgroups left on the host: $left"
ok "no cgroup of either bed left on the host"

# A bed empties its /tmp at boot: binding the host's in is refused, and
# nothing boots.
rc=0
"$here/testbed.sh" run --bind /tmp -- true 2>"$dir/refused.log" || rc=$?
[ "$rc" = 2 ] || fail "--bind /tmp: exit status $rc, expected 2"
grep -q "refused" "$dir/refused.log" || fail "--bind /tmp: no reason given: $(cat "$dir/refused.log")"
ok "binding the host's /tmp is refused"
echo "== all assertions held"
