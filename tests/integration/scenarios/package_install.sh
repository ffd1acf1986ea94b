#!/usr/bin/env bash
# The .deb of scripts/package, used as a new user would, with no build tree
# in sight (the source and build trees are hidden under empty file systems
# before anything is installed):
#   apt-get install ./upgrader_*.deb, its Depends satisfied from Debian;
#     the units, generator, catalog, manuals, completion and example are
#     in place, nothing enabled or started;
#   a configuration dropped into /etc/upgrader/demo.conf, then
#     `systemctl start upgrade@demo` upgrades the test service 1 -> 2;
#   `systemctl enable --now upgrade@demo.timer` schedules it, and it runs;
#   reinstalling the package while an upgrade is in progress (held in a
#     PreStop= hook) does not interrupt it; reinstalling while nothing runs
#     succeeds;
#   remove keeps /var/lib/upgrader; purge leaves no file of the package and
#     removes the state.
# The .deb of the release the bed runs (RELEASE; Debian 12 when unset).
# Skipped without packages in dist/ (unless REQUIRE_PACKAGES=1).
source "$(dirname "$0")/../lib.sh"
source "$SRC/tests/packaging/packages_lib.sh"
deb=$(package_file "${DIST:-$SRC/dist}" "upgrader_*+$(deb_release_tag)_*.deb") || exit $?

# What the scenario needs from the trees, copied before they are hidden.
PKG=/run/package-test
mkdir -p "$PKG"
cp "$deb" "$PKG/"
DEB=$PKG/$(basename "$deb")
for f in test_service_v1 test_service_v2 test_service_v3; do
  cp "$FIXTURES/$f" "$PKG/"
done
FIXTURES=$PKG
mount -t tmpfs -o ro,mode=0755 hidden "$SRC"
if [ -d "$BUILD" ]; then mount -t tmpfs -o ro,mode=0755 hidden "$BUILD"; fi

echo "== nothing of upgrader before the package"
assert_true "no build tree visible" test ! -e "$BUILD/upgrader"
assert_true "no upgrader on the PATH" bash -c '! command -v upgrader'
assert_true "no upgrade@.service" bash -c '! systemctl cat upgrade@demo.service >/dev/null 2>&1'

echo "== apt-get install ./$(basename "$DEB")"
apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 "$@" \
    >>/run/apt.log 2>&1
}
assert_true "installed, its dependencies already satisfied from Debian" \
  apt_get install --no-install-recommends "$DEB"
assert_true "upgrader --version" bash -c 'upgrader --version | grep -q "^upgrader 0\."'
assert_true "the template unit is known to systemd" systemctl cat upgrade@demo.service
assert_true "the timer too" systemctl cat upgrade@demo.timer
assert_true "the generator is in place" \
  test -x /usr/lib/systemd/system-generators/upgrader-generator
assert_true "the journal catalog was updated on install" \
  bash -c 'journalctl --list-catalog 471537b968f34ee4a2a188490559d71d | grep -q upgrader'
assert_true "the manuals are in place" bash -c 'man -w upgrader && man -w upgrader.conf && man -w upgrade@.service'
assert_true "the bash completion is in place" \
  test -f /usr/share/bash-completion/completions/upgrader
assert_true "the commented example is there, and a conffile" \
  bash -c 'dpkg-query -W -f="\${Conffiles}" upgrader | grep -q /etc/upgrader/example.conf.sample'
assert_eq "nothing started" "" \
  "$(systemctl list-units --no-legend --state=active,activating,failed 'upgrade@*')"
assert_eq "nothing enabled" "" \
  "$(systemctl list-unit-files --no-legend --state=enabled 'upgrade@*')"
assert_eq "the sample is not an instance" "" "$(upgrader list 2>&1 | grep -i example || true)"

echo "== a configuration in /etc/upgrader/demo.conf, then systemctl start upgrade@demo"
start_release_server
make_vendor_key
publish 1 test_service_v1
publish 2 test_service_v2
install_demo_service
demo_config
assert_eq "1 -> 2: upgraded" 0 "$(upgrade_status demo)"
assert_eq "serving 2" 2 "$(demo_version)"
assert_true "the state is in /var/lib/upgrader" test -f /var/lib/upgrader/demo/state.json

echo "== systemctl enable --now upgrade@demo.timer"
# Due in a second rather than daily, to see it fire: a drop-in, as the
# manual says to change the schedule.
mkdir -p /etc/systemd/system/upgrade@demo.timer.d
cat >/etc/systemd/system/upgrade@demo.timer.d/soon.conf <<'UNIT'
[Timer]
OnCalendar=
OnCalendar=*-*-* *:*:00/2
RandomizedDelaySec=0
AccuracySec=1s
UNIT
systemctl daemon-reload
runs_before=$(exit_status_lines demo)
assert_true "enabled and started" systemctl enable --now upgrade@demo.timer
assert_true "the timer is active" systemctl is-active --quiet upgrade@demo.timer
timer_ran() { [ "$(exit_status_lines demo)" -gt "$runs_before" ]; }
assert_true "the timer started upgrade@demo" wait_for 20 timer_ran
assert_eq "which found nothing to do" 5 "$(last_exit_status demo)"
systemctl disable --now upgrade@demo.timer >/dev/null 2>&1
wait_for 20 bash -c '! systemctl is-active --quiet upgrade@demo.service' ||
  fail "the timer's last run did not end"

echo "== the package reinstalled during an upgrade"
publish 3 test_service_v3
cat >>/etc/upgrader/demo.conf <<'CONF'
[Hooks]
PreStop=touch /run/in-hook; while [ ! -e /run/go ]; do sleep 0.05; done
CONF
config_changed
systemctl start --no-block upgrade@demo.service
assert_true "the upgrade reached its PreStop= hook" wait_for 30 test -e /run/in-hook
invocation=$(systemctl show -p InvocationID --value upgrade@demo.service)
assert_true "reinstalled while it runs" apt_get install --reinstall "$DEB"
assert_eq "upgrade@demo still runs, the same invocation" "$invocation" \
  "$(systemctl show -p InvocationID --value upgrade@demo.service)"
touch /run/go
upgrade_done() { [ "$(systemctl show -p ActiveState --value upgrade@demo.service)" != activating ]; }
assert_true "the upgrade finished" wait_for 60 upgrade_done
assert_eq "and succeeded: 2 -> 3" 0 "$(last_exit_status demo)"
assert_eq "serving 3" 3 "$(demo_version)"
assert_true "reinstalled while nothing runs" apt_get install --reinstall "$DEB"

echo "== apt-get remove, then purge"
dpkg-query -L upgrader | while read -r f; do [ -d "$f" ] || echo "$f"; done >/run/package-files
assert_true "the package owns files" test -s /run/package-files
assert_true "removed" apt_get remove upgrader
assert_true "the state is kept" test -f /var/lib/upgrader/demo/state.json
assert_true "the operator's configuration is kept" test -f /etc/upgrader/demo.conf
assert_true "purged" apt_get purge upgrader
left=$(while read -r f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done </run/package-files || true)
assert_eq "no file of the package is left" "" "$left"
assert_true "the state is gone with the purge" test ! -e /var/lib/upgrader
assert_true "the operator's configuration stays" test -f /etc/upgrader/demo.conf
assert_true "demo.service still serves 3" bash -c '[ "$(curl -fsS http://127.0.0.1:8080/healthz | sed -n "s/.*\"version\":\"\([^\"]*\)\".*/\1/p")" = 3 ]'

if [ "$failures" -ne 0 ]; then tail -n 40 /run/apt.log >&2; fi
finish
