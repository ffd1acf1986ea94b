#!/usr/bin/env bash
# Hooks: PreStop= runs before the stop (a backup), a failing Migrate= fails
# the upgrade, and the rollback runs Restore= and PostRollback=; hooks see
# the UPGRADER_* environment. Each hook runs as a transient unit of its own,
# outside the upgrader's sandbox: its output is in the journal under that
# unit, and the error of a failed one ends with its last lines from there.
source "$(dirname "$0")/../lib.sh"
setup_demo 1 2
cat >>/etc/upgrader/demo.conf <<'CONF'

[Hooks]
PreStop=echo "prestop $UPGRADER_FROM_VERSION->$UPGRADER_TO_VERSION $(systemctl is-active demo.service)" >>/var/log/hooks.log; echo "backup of ${UPGRADER_INSTANCE} done in $(cut -d: -f3 /proc/self/cgroup | tail -n 1)"
Migrate=echo "migrate $UPGRADER_STAGED_PATH" >>/var/log/hooks.log; echo "migrating, pid $$"; exit 7
Restore=echo "restore $UPGRADER_INSTANCE" >>/var/log/hooks.log
PostRollback=echo postrollback >>/var/log/hooks.log
PostUpgrade=echo postupgrade >>/var/log/hooks.log
CONF
assert_eq "failed migration: rolled back" 3 "$(upgrade_status demo)"
assert_eq "v1 serving" 1 "$(demo_version)"
assert_eq "hooks ran in order" \
  "prestop 1->2 active|migrate /opt/demo/bin/.demo.upgrader-staged|restore demo|postrollback" \
  "$(paste -sd'|' /var/log/hooks.log)"
assert_true "failure names the hook and its status" \
  journal -b -o cat UPGRADER_EVENT=failed --grep "Migrate= hook failed.*exited with status 7"
assert_true "failure names the hook's unit and ends with its output" \
  journal -b -o cat UPGRADER_EVENT=failed --grep "exited with status 7 \(upgrader-hook-demo-migrate-[0-9]+-[0-9]+\.service\): migrating, pid [0-9]+$"
assert_true "the hook ran in a unit of its own, not in upgrade@demo's" \
  journal -b -o cat -u 'upgrader-hook-demo-prestop-*' --grep "^backup of demo done in /.*system.slice/upgrader-hook-demo-prestop-[0-9]+-1.service$"
assert_true "its output is in the journal under that unit" \
  journal -b -o cat -u 'upgrader-hook-demo-migrate-*' --grep "^migrating, pid [0-9]+$"
assert_eq "the shell, not systemd, expanded \$\$" 0 \
  "$(journal -b -o cat -u 'upgrader-hook-demo-*' | grep -c '^migrating, pid \$\?$' || true)"

# A hook's output reaches the journal and the state file escaped, and the
# password of a URL it printed never does.
conf_set Hooks Migrate 'printf "\033[2Jpulling https://ci:hunter2@registry.example/x\n"; exit 7'
upgrader unquarantine demo >/dev/null
assert_eq "hostile hook output: rolled back" 3 "$(upgrade_status demo)"
assert_true "escape sequence shown escaped, password hidden" \
  journal -b -o cat UPGRADER_EVENT=failed --grep 'x1b\[2Jpulling https://ci:\*\*\*@registry'
assert_eq "no raw escape byte or password in journal or state" "" \
  "$({ journal -b -o cat UPGRADER_EVENT=failed; upgrader status demo; cat /var/lib/upgrader/demo/state.json; } | grep -a -e $'\033' -e hunter2 || true)"

# A failing PreStop= changes nothing: the service is never stopped.
conf_set Hooks Migrate true
conf_set Hooks PreStop "exit 1"
upgrader unquarantine demo >/dev/null
pid=$(systemctl show -p MainPID --value demo.service)
assert_eq "failed PreStop: unchanged" 1 "$(upgrade_status demo)"
assert_eq "failed PreStop: same process" "$pid" "$(systemctl show -p MainPID --value demo.service)"

# Hooks may write where the upgrader's sandbox does not let it (a backup in
# /usr/local, a marker in /etc): they run outside it.
conf_set Hooks PreStop "echo prestop >/etc/upgrader-prestop-marker"
conf_set Hooks PostUpgrade "touch /usr/local/backup-marker"
upgrader unquarantine demo >/dev/null || true
assert_eq "hooks writing outside the sandbox: upgraded" 0 "$(upgrade_status demo)"
assert_eq "v2 serving" 2 "$(demo_version)"
assert_true "PreStop= wrote /etc" test -s /etc/upgrader-prestop-marker
assert_true "PostUpgrade= wrote /usr/local" test -e /usr/local/backup-marker
no_hook_unit_loaded() {
  [ -z "$(systemctl list-units --all --no-legend 'upgrader-hook-*')" ]
}
assert_true "systemd collected every hook unit, failed ones too" \
  wait_for 5 no_hook_unit_loaded
finish
