#!/usr/bin/env bash
# v3 fails its health check: rolled back to v2 (serving, healthy), exit
# status 3, v3 quarantined, and the next run does not retry it.
source "$(dirname "$0")/../lib.sh"
setup_demo 1 2
# v3 answers 500 until it is given up: after 4 s, not 8 (a good version
# passes in about 1.3 s).
conf_set Health TimeoutSec 4s
assert_eq "v1 -> v2" 0 "$(upgrade_status demo)"
publish 3 test_service_v3_http_500

assert_eq "v2 -> v3: rolled back" 3 "$(upgrade_status demo)"
assert_eq "v2 serving" 2 "$(demo_version)"
assert_true "v2 healthy" demo_healthy
assert_eq "binary is v2 again" "$(sha256sum <"$FIXTURES/test_service_v2")" \
  "$(sha256sum <"$DEMO_BIN")"
assert_true "status lists v3 as quarantined" \
  bash -c "upgrader status demo | grep -q '^quarantined: 3 '"
assert_true "journal has rolled-back" \
  journal -b -o cat UPGRADER_EVENT=rolled-back UPGRADER_TO_VERSION=3 --grep "rolled back to 2"
pid=$(systemctl show -p MainPID --value demo.service)
assert_eq "next run: nothing to do" 5 "$(upgrade_status demo)"
assert_true "status says the last run had nothing to do" \
  bash -c "upgrader status demo | grep -q '^last result: nothing-to-do at '"
assert_eq "next run did not touch the service" "$pid" \
  "$(systemctl show -p MainPID --value demo.service)"
assert_eq "no temp files" "" "$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)"

# Released from quarantine by the operator, a fixed v3 goes through.
publish 3 test_service_v3
upgrader unquarantine demo 3 >/dev/null
assert_eq "fixed v3 after unquarantine" 0 "$(upgrade_status demo)"
assert_eq "v3 serving" 3 "$(demo_version)"

# `upgrader rollback` goes back to v2 on request, and keeps v3 out.
assert_eq "rollback on request" 0 "$(upgrader rollback demo >/dev/null 2>&1; echo $?)"
assert_eq "v2 serving after rollback" 2 "$(demo_version)"
assert_eq "timer run after rollback: nothing to do" 5 "$(upgrade_status demo)"
finish
