#!/usr/bin/env bash
# A compose upgrade (a version variable in the env file, two images sharing
# it, a Migrate= hook) killed (_exit, no clean-up, as SIGKILL or a power
# loss would) at a fault point of apply or of rollback; the next
# `upgrader apply` must end consistent: the project on the old or the new
# release, every service up on it, the env file saying which, no
# transaction in progress, nothing temporary beside the env file, no
# container of the project left over. In the suite a sample of the points
# is tried; every point is the test labelled long
# (FAULT_POINTS=all). Needs -DUPGRADER_FAULT_INJECTION=ON.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../container_lib.sh"
source "$(dirname "$0")/../compose_lib.sh"
needs_fault_injection

APPLY_POINTS=$(fault_points apply)
ROLLBACK_POINTS=$(fault_points rollback)
[ -n "$APPLY_POINTS" ] && [ -n "$ROLLBACK_POINTS" ] || fail "no fault points known"
if [ "${FAULT_POINTS:-sample}" = sample ]; then
  # compose_kill_sweep kills between the points, at every system call.
  APPLY_POINTS="pulled swapped"
  ROLLBACK_POINTS="rollback-reverted"
fi

install_upgrader
start_registry
setup_docker
two_service_release 1 test_service_v1 test_service_v1
two_service_release 2 test_service_v2 test_service_v2
two_service_release 3 test_service_v3_http_500 test_service_v3

kill_test_project

# crash_then_apply POINT: killed there, then a normal apply; the project
# must end on one release, consistent.
crash_then_apply() {
  local point=$1 wrong
  reset_two_service_release
  kill_then_apply "$point"
  assert_true "after '$point': every service up, on one release" wait_for 20 project_up
  wrong=$(project_consistent "$(project_version)") ||
    fail "after '$point': $wrong"
}

for point in $APPLY_POINTS; do
  crash_then_apply "$point"
  assert_eq "after '$point': upgraded to 2 in the end" 2 "$(project_version)"
done

fail_fast_at_3
for point in $ROLLBACK_POINTS; do
  crash_then_apply "$point"
  assert_eq "after '$point': back on 1" 1 "$(project_version)"
done
finish
