#!/usr/bin/env bash
# upgrade@.service's sandbox: ProtectSystem=strict, and write access to
# exactly the directories each instance installs into, granted by
# upgrader-generator on daemon-reload. Inside it (where Preflight= runs)
# nothing else is writable and root holds no CAP_SYS_ADMIN, yet the upgrader
# stops and starts units over D-Bus, for an upgrade and for a rollback. A
# configuration moved without a daemon-reload fails with EROFS and says what
# to do; bad configurations cost only their own instance its drop-in, never
# the reload.
source "$(dirname "$0")/../lib.sh"
setup_demo 1 2

show() { systemctl show -p "$1" --value upgrade@demo.service; }
# granted NAME: what the generator granted upgrade@NAME: its ReadWritePaths=
# but the metrics directory, which the unit itself grants every instance.
granted() {
  systemctl show -p ReadWritePaths --value "upgrade@$1.service" |
    sed -e 's|-/var/lib/prometheus/node-exporter *||'
}
echo "== the unit and the generator's drop-in"
assert_eq "ProtectSystem=" strict "$(show ProtectSystem)"
assert_eq "writable: the directory of Path=" "-$DEMO_DIR" "$(granted demo)"
assert_true "writable: the metrics directory, if there is one" \
  bash -c "systemctl show -p ReadWritePaths --value upgrade@demo.service | grep -q -- -/var/lib/prometheus/node-exporter"
assert_eq "capabilities" "cap_chown cap_dac_override cap_fowner" "$(show CapabilityBoundingSet)"
assert_true "the drop-in names its source" \
  grep -qx 'SourcePath=/etc/upgrader/demo.conf' \
  /run/systemd/generator/upgrade@demo.service.d/50-upgrader-paths.conf
assert_eq "systemd reads it without a warning" "" \
  "$(journal -b -q -o cat --grep 'SourcePath= path is not absolute' || true)"
# The unit as it runs, drop-in included, not only the file as shipped.
systemd-analyze security --no-pager upgrade@demo.service | grep 'Overall exposure' || true
assert_true "exposure of upgrade@demo.service at most 2.5" \
  systemd-analyze security --no-pager --threshold=25 upgrade@demo.service

echo "== inside the sandbox"
# Preflight= runs in the upgrader's process, inside the sandbox: it checks
# what a command there can do, and fails the upgrade if it can do too much.
cat >/usr/local/bin/sandbox-preflight <<'SH'
#!/bin/sh
"$1" --version >/dev/null || exit 1
for dir in /etc /usr /var/lib /opt/demo /root; do
  if touch "$dir/sandbox-probe" 2>/dev/null; then echo "could write $dir"; exit 1; fi
done
# Bits 0, 1, 3: CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER; no CAP_SYS_ADMIN (21).
grep -qx 'CapBnd:[[:space:]]*000000000000000b' /proc/self/status ||
  { grep Cap /proc/self/status; exit 1; }
touch /tmp/sandbox-probe || { echo "no private /tmp"; exit 1; }
SH
chmod 0755 /usr/local/bin/sandbox-preflight
conf_set Install Preflight "/usr/local/bin/sandbox-preflight @path"
assert_eq "1 -> 2: Preflight= found the sandbox closed; stop and start over D-Bus without CAP_SYS_ADMIN" \
  0 "$(upgrade_status demo)"
assert_eq "v2 serving" 2 "$(demo_version)"
assert_eq "nothing was written outside" "" \
  "$(ls /etc/sandbox-probe /usr/sandbox-probe /var/lib/sandbox-probe /opt/demo/sandbox-probe 2>/dev/null || true)"
assert_true "the state and the lock were written" \
  test -s /var/lib/upgrader/demo/state.json -a -e /run/upgrader/demo.lock

echo "== a rollback from inside the sandbox"
# v3 answers 500: the upgrader stops v3 and starts v2 again over D-Bus, and
# puts the old file back in the directory the generator granted.
publish 3 test_service_v3_http_500
pid=$(systemctl show -p MainPID --value demo.service)
assert_eq "2 -> 3: rolled back" 3 "$(upgrade_status demo)"
assert_eq "v2 serving" 2 "$(demo_version)"
assert_true "v2 healthy" demo_healthy
assert_true "demo.service was stopped and started again" \
  test "$pid" != "$(systemctl show -p MainPID --value demo.service)"
assert_eq "binary is v2 again" "$(sha256sum <"$FIXTURES/test_service_v2")" \
  "$(sha256sum <"$DEMO_BIN")"
assert_true "journal has rolled-back" \
  journal -b -o cat UPGRADER_EVENT=rolled-back UPGRADER_TO_VERSION=3 --grep "rolled back to 2"
publish 3 test_service_v3
upgrader unquarantine demo 3 >/dev/null

echo "== a Path= moved without daemon-reload"
mkdir -p /opt/moved/bin
install -m 0755 "$FIXTURES/test_service_v2" /opt/moved/bin/demo
conf_set Install Path /opt/moved/bin/demo
assert_eq "not reloaded: failed before any change" 1 "$(upgrade_status demo)"
assert_true "the error says read-only and what to do" \
  journal -b -o cat -u upgrade@demo.service --grep "/opt/moved/bin.*Read-only file system.*systemctl daemon-reload"
config_changed
assert_eq "reloaded: writable" "-/opt/moved/bin" "$(granted demo)"
assert_eq "reloaded: upgraded" 0 "$(upgrade_status demo)"
assert_eq "the moved file is 3" "$(sha256sum <"$FIXTURES/test_service_v3")" \
  "$(sha256sum </opt/moved/bin/demo)"

echo "== bad configurations"
cp /etc/upgrader/demo.conf /etc/upgrader/other.conf
conf_set Install Path /opt/other/bin/other /etc/upgrader/other.conf
printf '[Install]\nMode=binary\n' >/etc/upgrader/broken.conf
sed 's|^Path=.*|Path=/everything|' /etc/upgrader/demo.conf >/etc/upgrader/root.conf
cp /etc/upgrader/demo.conf "/etc/upgrader/bad name.conf"
ln -s /etc/upgrader/other.conf /etc/upgrader/linked.conf
mkdir /etc/upgrader/dir.conf
assert_true "daemon-reload goes through them" systemctl daemon-reload
assert_eq "demo keeps its paths" "-/opt/moved/bin" "$(granted demo)"
assert_eq "other gets its own" "-/opt/other/bin" "$(granted other)"
for name in broken root linked; do
  assert_eq "$name gets none" "" "$(granted "$name")"
done
rm -rf /run/gen && mkdir /run/gen
rc=0
upgrader generate-units /run/gen /run/gen /run/gen 2>/run/gen.err || rc=$?
assert_eq "by hand: exit status" 0 "$rc"
assert_eq "by hand: the drop-ins" \
  "upgrade-fetch@demo.service.d/50-upgrader-paths.conf upgrade-fetch@other.service.d/50-upgrader-paths.conf upgrade@demo.service.d/50-upgrader-paths.conf upgrade@other.service.d/50-upgrader-paths.conf" \
  "$(cd /run/gen && find . -type f | sed 's|^\./||' | sort | paste -sd' ')"
for why in "broken.conf: .*is required" "root.conf: .*refusing to make all of '/' writable" \
    "linked.conf: .*not a regular file" "dir.conf: .*not a regular file" "bad name.conf: .*instance name"; do
  assert_true "says why: $why" grep -q "^upgrader-generator: /etc/upgrader/$why" /run/gen.err
done
# A link planted where the drop-in goes is not followed.
rm -rf /run/gen && mkdir /run/gen /run/elsewhere
ln -s /run/elsewhere /run/gen/upgrade@demo.service.d
upgrader generate-units /run/gen 2>/run/gen.err || true
assert_eq "nothing written through a planted link" "" "$(ls -A /run/elsewhere)"
assert_true "and it says so" grep -q "upgrade@demo.service.d" /run/gen.err
cat /run/gen.err
finish
