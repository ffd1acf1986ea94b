#!/usr/bin/env bash
# A registry that answers every request in time but never ends (a paged tag
# listing, one slow page after another) ends the run at RegistryTimeoutSec=
# with a clear error: nothing changed, the service untouched, and the lock
# released (the next run starts at once and is not told another runs).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../hostile_lib.sh"
setup_demo 1
start_hostile_server
mkdir -p /var/lib/upgrader/slowreg
pinned="127.0.0.1:$HOSTILE_PORT/svc:1@sha256:$(printf '%064d' 0)"
echo "UPGRADER_IMAGE=$pinned" >/var/lib/upgrader/slowreg/image.env
cat >/etc/upgrader/slowreg.conf <<CONF
[Container]
Engine=docker
Socket=/run/no-engine-here.sock
Image=127.0.0.1:$HOSTILE_PORT/svc:@v
CAFile=$RELEASE_CA
RegistryTimeoutSec=4s
[Trust]
AllowUnsigned=yes
[Install]
Mode=container
[Target]
Unit=demo.service
CONF
config_changed
pid=$(systemctl show -p MainPID --value demo.service)

for run in first second; do
  started=$SECONDS
  assert_eq "$run run: failed, nothing changed" 1 "$(upgrade_status slowreg)"
  assert_true "$run run: over within 15 s ($((SECONDS - started)) s), not pages x 60 s" \
    test $((SECONDS - started)) -le 15
done
assert_eq "the journal says why, twice" 2 \
  "$(journal -b -o cat SYSLOG_IDENTIFIER=upgrader UPGRADER_INSTANCE=slowreg \
      --grep 'RegistryTimeoutSec=4s has passed' | wc -l)"
assert_eq "no run was turned away by the lock" "" \
  "$(journal -b -o cat SYSLOG_IDENTIFIER=upgrader UPGRADER_INSTANCE=slowreg \
      --grep 'already running' || true)"
assert_true "the registry was asked for more than one page" \
  test "$(journal -b -o cat --grep 'tags/list\?last=' | wc -l)" -ge 2
assert_eq "the service untouched" "$pid" "$(systemctl show -p MainPID --value demo.service)"
assert_eq "image.env as it was" "UPGRADER_IMAGE=$pinned" "$(cat /var/lib/upgrader/slowreg/image.env)"
finish
