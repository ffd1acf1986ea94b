#!/usr/bin/env bash
# v3 fails its health check: rolled back to v2 (serving, healthy), exit
# status 3, v3 quarantined, and the next run does not retry it. The
# release a rollback brings back has RollbackTimeoutSec= to be healthy
# again, or TimeoutSec= (then a rollback that fails is finished by the
# next run).
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

# The release a rollback brings back has RollbackTimeoutSec= (30 s in
# demo_config) to be healthy again, not the new release's TimeoutSec=;
# unset, TimeoutSec=. Here v2 is healthy only once /run/v2-back exists
# (an Exec= check; v4 and v5 answer 500 whatever it says).
echo "== RollbackTimeoutSec="
conf_set Health TimeoutSec 2s
conf_set Health Exec "test -e /run/v2-back"
rm -f /run/v2-back
failed_then_v2() { journal -b -o cat --grep "^upgrade to $1 failed: " >/dev/null && [ "$(demo_version)" = 2 ]; }
# v2 back after twice TimeoutSec=: v4's failure logged, v2 serving again
# (its start is where its health check begins), then 4 s.
publish 4 test_service_v3_http_500
(wait_for 60 failed_then_v2 4 && sleep 4 && touch /run/v2-back) &
late=$!
assert_eq "v2 -> v4: rolled back, v2 healthy 4 s into its check (TimeoutSec=2s)" 3 "$(upgrade_status demo)"
assert_true "the flag was set once v2 served again" wait "$late"
assert_true "journal: rolled back to 2, which is healthy" \
  journal -b -o cat UPGRADER_EVENT=rolled-back UPGRADER_TO_VERSION=4 --grep "rolled back to 2, which is healthy"
assert_eq "v2 serving" 2 "$(demo_version)"

# Unset, the old release has TimeoutSec= too: the rollback fails (exit 4),
# the transaction stays for the next run, which finds v2 healthy.
conf_unset Health RollbackTimeoutSec
rm -f /run/v2-back
publish 5 test_service_v3_http_500
assert_eq "v2 -> v5, v2 not healthy within TimeoutSec=2s: rollback failed" 4 "$(upgrade_status demo)"
assert_true "the rollback gave v2 TimeoutSec= (2s)" \
  journal -b -o cat UPGRADER_EVENT=rollback-failed UPGRADER_TO_VERSION=5 \
  --grep "the old release is not healthy: not healthy after 2s"
assert_true "the transaction is kept for the next run" \
  bash -c "upgrader status demo | grep -q '^in progress'"
touch /run/v2-back
assert_eq "next run: rolls back to a healthy v2, v5 quarantined" 5 "$(upgrade_status demo)"
assert_eq "v2 serving" 2 "$(demo_version)"
assert_true "no transaction left" \
  bash -c "! upgrader status demo | grep -q '^in progress'"
assert_eq "binary is v2" "$(sha256sum <"$FIXTURES/test_service_v2")" "$(sha256sum <"$DEMO_BIN")"
finish
