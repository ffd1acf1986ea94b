#!/usr/bin/env bash
# `systemctl start upgrade@demo` upgrades v1 -> v2 from a real nginx with a
# SHA256SUMS listing; .old keeps v1; the journal has the structured events;
# then the Ansible collection's rolling upgrade playbook over this one host.
source "$(dirname "$0")/../lib.sh"
setup_demo 1 2
assert_eq "version before" 1 "$(demo_version)"

assert_eq "exit status of upgrade@demo" 0 "$(upgrade_status demo)"
assert_eq "version served after" 2 "$(demo_version)"
assert_eq "demo.service state" active "$(systemctl is-active demo.service)"
assert_eq "$DEMO_BIN.old is v1" "$(sha256sum <"$FIXTURES/test_service_v1")" \
  "$(sha256sum <"$DEMO_BIN.old")"
assert_eq "$DEMO_BIN is v2" "$(sha256sum <"$FIXTURES/test_service_v2")" \
  "$(sha256sum <"$DEMO_BIN")"
assert_eq "journal events" \
  "started verified stopped swapped started-new healthy committed " \
  "$(journal_events)"
assert_eq "status installed" 2 \
  "$(upgrader status demo --json | sed -n 's/.*"installed":{[^}]*"version":"\([^"]*\)".*/\1/p')"
assert_eq "journal carries the versions" 1 \
  "$(journal -b -o cat UPGRADER_EVENT=committed UPGRADER_FROM_VERSION=1 UPGRADER_TO_VERSION=2 | wc -l)"
assert_eq "no temp files left" "" \
  "$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)"

# Running again: nothing to do (exit 5), service untouched.
pid=$(systemctl show -p MainPID --value demo.service)
assert_eq "second run: nothing to do" 5 "$(upgrade_status demo)"
assert_eq "second run left the process alone" "$pid" \
  "$(systemctl show -p MainPID --value demo.service)"

# Anti-rollback: back on 1 by request, and the server now offers 1.5, older
# than the 2 verified before (a replayed release): refused, untouched,
# unless the operator says so.
assert_eq "rollback on request" 0 "$(upgrader rollback demo >/dev/null 2>&1; echo $?)"
assert_eq "v1 serving again" 1 "$(demo_version)"
rm "$RELEASES/test_service-2"
publish 1.5 test_service_v2
pid=$(systemctl show -p MainPID --value demo.service)
assert_eq "older than verified before: refused" 1 "$(upgrade_status demo)"
assert_true "the refusal says why" \
  journal -b -o cat -u upgrade@demo.service --grep "refusing to install 1.5: version 2 was verified for this instance before"
assert_eq "refused: same process" "$pid" "$(systemctl show -p MainPID --value demo.service)"
assert_eq "--allow-downgrade installs it" 0 \
  "$(upgrader apply --allow-downgrade demo >/dev/null 2>&1; echo $?)"
assert_eq "highest verified is kept" 2 \
  "$(upgrader status demo --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["highest_verified"])')"

echo "== the Ansible collection's rolling upgrade playbook over this host"
publish 3 test_service_v3
assert_eq "the playbook upgrades 1.5 -> 3" 0 "$(fleet_playbook demo)"
assert_eq "it fetched first" fetched "$(fleet_outcomes 'Fetch ahead')"
assert_eq "then upgraded" upgraded "$(fleet_outcomes 'Upgrade through upgrade@NAME.service')"
assert_eq "v3 serving" 3 "$(demo_version)"
publish 4 test_service_v3_never_healthy
conf_set Health TimeoutSec 2s
assert_eq "a release that never becomes healthy fails the playbook" 2 "$(fleet_playbook demo)"
assert_eq "upgrader rolled it back" rolled-back "$(fleet_outcomes 'Upgrade through upgrade@NAME.service')"
assert_true "the summary says so" grep -q '"localhost demo: 3 -> 4, rolled-back, ' /run/fleet-playbook.json
assert_eq "v3 serving still" 3 "$(demo_version)"
finish
