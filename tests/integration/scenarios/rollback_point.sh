#!/usr/bin/env bash
# A failed upgrade is a no-op, rollback point included (Mode=binary): after
# v1 -> v2, two releases that fail their health check are rolled back one
# after the other; demo.old is still v1 after each, a file of its own (not
# a second name of demo), `upgrader status` still says previous 1, and
# `upgrader rollback` then goes back to v1.
source "$(dirname "$0")/../lib.sh"
setup_demo 1 2
conf_set Health TimeoutSec 3s
assert_eq "v1 -> v2" 0 "$(upgrade_status demo)"

sha() { sha256sum <"$1"; }
# rollback_point_is VERSION WHEN
rollback_point_is() {
  assert_eq "$2: demo.old is v$1" "$(sha "$FIXTURES/test_service_v$1")" \
    "$(sha "$DEMO_BIN.old")"
  assert_true "$2: demo and demo.old are two files" \
    test "$(stat -c %i "$DEMO_BIN")" != "$(stat -c %i "$DEMO_BIN.old")"
  assert_true "$2: status says previous $1" \
    bash -c "upgrader status demo | grep -qx 'previous: *$1'"
  assert_eq "$2: nothing else beside them" "" \
    "$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)"
}
rollback_point_is 1 "after v2"

for v in 3 4; do
  publish "$v" test_service_v3_http_500
  assert_eq "v2 -> v$v: rolled back" 3 "$(upgrade_status demo)"
  assert_eq "v2 serving after v$v" 2 "$(demo_version)"
  rollback_point_is 1 "after v$v failed"
done

assert_eq "rollback on request after two failed attempts" 0 \
  "$(upgrader rollback demo >/dev/null 2>&1; echo $?)"
assert_eq "v1 serving" 1 "$(demo_version)"
rollback_point_is 2 "after the rollback"
finish
