#!/usr/bin/env bash
# The upgrader is killed (SIGKILL, injected by strace) right before a
# system call that changes the file system: every rename, link, unlink,
# mkdir, rmdir, fsync, truncate, chmod and chown it makes during an upgrade
# that succeeds (v1 -> v2) and during one that is rolled back (v1 -> v3,
# which answers 500). After each kill, the next `systemctl start
# upgrade@demo` must leave the service healthy on the old or the new
# version, the binary the one serving, no transaction in progress and no
# temp file behind. The named fault points (fault_injection.sh) cover the
# steps of the transaction; this covers every mutating call between them.
#
# In the suite every fourth call is tried (KILL_SWEEP_EVERY=4, about a
# minute); to try them all (a few minutes), the test labelled long:
#   ctest --test-dir build -L long --output-on-failure
source "$(dirname "$0")/../lib.sh"
if ! command -v strace >/dev/null; then
  echo "skipped: strace is not installed (scripts/install-deps installs it)"
  exit 77
fi
every=${KILL_SWEEP_EVERY:-4}
setup_demo 1 2
# v3's 500s fail the check at its timeout: short, as there are many.
sed -i 's/^SettleSec=1s/SettleSec=0/; s/^Successes=3/Successes=1/; s/^TimeoutSec=8s/TimeoutSec=2s/' \
  /etc/upgrader/demo.conf
MUTATING=rename,renameat,renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,mkdir,mkdirat,rmdir,fsync,fdatasync,ftruncate,truncate,fchmod,fchmodat,fchown,fchownat

reset_to_v1() {
  systemctl stop demo.service
  rm -rf /var/lib/upgrader/demo
  cp "$FIXTURES/test_service_v1" "$DEMO_BIN.new"
  mv "$DEMO_BIN.new" "$DEMO_BIN"
  rm -f "$DEMO_BIN.old"
  systemctl reset-failed demo.service 2>/dev/null || true
  systemctl start demo.service
  wait_for 10 demo_healthy
}

# mutating_calls: "SYSCALL N" for each mutating call of one run of
# `upgrader apply demo` from v1, in order (N counts that syscall's calls,
# as strace's when= does).
mutating_calls() {
  reset_to_v1
  strace -qq -e trace="$MUTATING" -o /run/sweep-trace upgrader apply demo >/dev/null 2>&1 || true
  awk -F'(' '/^[a-z0-9_]+\(/ { n[$1]++; print $1, n[$1] }' /run/sweep-trace
}

# sweep WHAT EXPECTED_FINAL_VERSION
sweep() {
  local what=$1 final=$2 calls=() call name nth i=0 rc served tried=0
  mapfile -t calls < <(mutating_calls)
  assert_true "$what: the run makes mutating calls to kill before (${#calls[@]})" \
    test "${#calls[@]}" -gt 10
  for call in "${calls[@]}"; do
    i=$((i + 1))
    [ $(((i - 1) % every)) -eq 0 ] || continue
    tried=$((tried + 1))
    read -r name nth <<<"$call"
    reset_to_v1
    rc=0
    strace -qq -o /dev/null -e trace="$name" -e inject="$name:signal=KILL:when=$nth" \
      upgrader apply demo >/dev/null 2>&1 || rc=$?
    if [ "$rc" -ne 137 ]; then
      fail "$what: killed before $name #$nth: the run was not killed (exit $rc)"
      continue
    fi
    # The next run finishes or undoes what the killed one left, then goes
    # on: the end state is the expected version.
    rc=$(upgrade_status demo)
    if ! wait_for 10 demo_healthy; then
      fail "$what: after a kill before $name #$nth: demo.service is not healthy (next run: $rc)"
      continue
    fi
    served=$(demo_version)
    [ "$served" = "$final" ] ||
      fail "$what: after a kill before $name #$nth: serving '$served', expected $final (next run: $rc)"
    [ "$(sha256sum <"$DEMO_BIN")" = "$(sha256sum <"$FIXTURES/$(fixture_of "$served")")" ] ||
      fail "$what: after a kill before $name #$nth: $DEMO_BIN is not the release serving"
    [ -z "$(upgrader status demo | grep '^in progress' || true)" ] ||
      fail "$what: after a kill before $name #$nth: a transaction is left in progress"
    [ -z "$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)" ] ||
      fail "$what: after a kill before $name #$nth: temp files left: $(ls -A "$DEMO_DIR" | tr '\n' ' ')"
  done
  assert_true "$what: $tried kills, each followed by a consistent run" test "$tried" -gt 0
}

fixture_of() {
  case "$1" in
    1) echo test_service_v1 ;;
    2) echo test_service_v2 ;;
    *) echo unknown ;;
  esac
}

echo "== v1 -> v2, which succeeds"
sweep "upgrade" 2

echo "== v1 -> v3, which answers 500 and is rolled back"
publish 3 test_service_v3_http_500
sweep "rollback" 1
finish
