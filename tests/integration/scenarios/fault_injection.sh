#!/usr/bin/env bash
# The process is killed (_exit, no clean-up, as SIGKILL or a power loss
# would) at every step of apply and of rollback; the next `upgrader apply`
# must leave the service healthy on the old or the new version, and a
# watcher checking the path during the whole run must never see it missing
# or partial. Needs a build with -DUPGRADER_FAULT_INJECTION=ON.
source "$(dirname "$0")/../lib.sh"
needs_fault_injection
setup_demo 1 2
# As the kill sweep: the release that fails its check (v3, answering 500)
# is given up after 2 s rather than 8, at each of the rollback's points.
conf_set Health SettleSec 0
conf_set Health Successes 1
conf_set Health TimeoutSec 2s
echo "[Hooks]" >>/etc/upgrader/demo.conf
echo "Migrate=true" >>/etc/upgrader/demo.conf
v1=$(sha256sum <"$FIXTURES/test_service_v1")
v2=$(sha256sum <"$FIXTURES/test_service_v2")
v3=$(sha256sum <"$FIXTURES/test_service_v3_http_500")

# Checks the path as fast as it can until told to stop; records anything
# that is not a complete release.
watch_path() {
  local h
  while [ ! -e /run/watch-stop ]; do
    h=$(sha256sum <"$DEMO_BIN" 2>/dev/null) || h=missing
    case "$h" in "$v1" | "$v2" | "$v3") ;; *) echo "$h" >>/run/watch-bad ;; esac
  done
}
watch_path &
watcher=$!

# crash_then_apply POINT EXPECTED_RESULT_VERSIONS
crash_then_apply() {
  local point=$1
  reset_demo_to_v1
  kill_then_apply "$point"
  assert_true "after '$point': demo.service healthy" wait_for 10 demo_healthy
  local served
  served=$(demo_version)
  assert_true "after '$point': serving old or new ($served)" \
    test "$served" = 1 -o "$served" = 2
  assert_eq "after '$point': no transaction left" "" \
    "$(upgrader status demo | grep '^in progress' || true)"
  assert_eq "after '$point': no temp files" "" \
    "$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)"
}

# Every step of apply: v1 -> v2, which would succeed.
# (Mode=binary pulls nothing.)
points=$(fault_points apply pulled)
assert_true "the apply's fault points are known" test -n "$points"
for point in $points; do
  crash_then_apply "$point"
  assert_eq "after '$point': upgraded to v2 in the end" 2 "$(demo_version)"
done

# Every step of a rollback: v1 -> v3, which fails its health check.
publish 3 test_service_v3_http_500
for point in $(fault_points rollback); do
  crash_then_apply "$point"
  assert_eq "after '$point': back on v1" 1 "$(demo_version)"
done

touch /run/watch-stop
wait "$watcher"
assert_eq "the watcher never saw the path missing or partial" "" \
  "$(cat /run/watch-bad 2>/dev/null | sort | uniq -c)"
finish
