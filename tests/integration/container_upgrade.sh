# The container scenarios, for one engine (ENGINE, REGISTRY_MODE set by the
# scenario that sources this): through `systemctl start upgrade@demo`,
#   1 -> 2 good, the container then runs exactly 2's digest, and a
#     Migrate= hook ran the new image once;
#   3 answering 500: rolled back to 2, serving, quarantined, image gone;
#   4 crash-looping: rolled back to 2;
#   a tag that does not exist, a digest that differs from Digest=, a full
#     disk, the registry down, a digest other than the signed listing's, a
#     listing signed by an unknown key: the unit is never stopped and
#     nothing pulled is kept;
#   2 -> 5 -> 6 good, 5 fetched ahead (`upgrader fetch`) and then not
#     pulled again; images pruned to KeepImages=, never one the upgrader
#     did not pull;
#   `upgrader rollback` back to 5;
#   a migration that leaves its container running and fails: that
#     container is killed before Restore= runs;
#   upgrade@demo wants the engine's API service (the generator's drop-in).
#   the Ansible collection's module (check mode, fetched, upgraded, a
#     second run with nothing to do, rolled_back) on this instance.
source "$(dirname "${BASH_SOURCE[0]}")/container_setup.sh"

# A Migrate= hook that runs the new image once, as ProGet's upgradedb: the
# engine does the work (`podman --remote`, the docker client).
case "$ENGINE" in
  podman) run_once="/usr/bin/podman --remote run --rm --network=host" ;;
  docker) run_once="$DOCKER_CLI run --rm --network=host" ;;
esac
# Preflight= runs the new image the same way, but is a check and runs inside
# upgrade@'s sandbox (no namespaces, no CAP_SYS_ADMIN, a read-only file
# system), where the engine's client only talks to the engine over its API
# socket. Podman takes root without CAP_SYS_ADMIN for a rootless user, so its
# socket is named, as the manual says.
case "$ENGINE" in
  podman) check_once="/usr/bin/podman --remote --url unix://$PODMAN_SOCK run --rm --network=host" ;;
  docker) check_once=$run_once ;;
esac
conf_set Install Preflight "$check_once @image --version"
cat >>/etc/upgrader/demo.conf <<CONF
[Hooks]
Migrate=$run_once \$UPGRADER_IMAGE --version >>/run/migrations 2>&1
Migrate=echo "\$UPGRADER_OLD_IMAGE -> \$UPGRADER_IMAGE" >>/run/migrations
CONF

# rollback_point_is N: image.env.old pins N, the engine still holds N's
# image, and image.env.old is a file of its own, not a second name of
# image.env (an operator who edits one must not edit both).
rollback_point_is() {
  local dir=/var/lib/upgrader/demo
  assert_eq "the rollback point pins $1" "UPGRADER_IMAGE=$(pinned "$1")" \
    "$(grep UPGRADER_IMAGE "$dir/image.env.old")"
  assert_true "the rollback point's image ($1) is held" holds "$1"
  assert_true "image.env and image.env.old are two files" \
    test "$(stat -c %i "$dir/image.env")" != "$(stat -c %i "$dir/image.env.old")"
}

echo "== 1 -> 2"
before=$(invocation)
assert_eq "1 -> 2: upgraded" 0 "$(upgrade_status demo)"
assert_eq "serving 2" 2 "$(demo_version)"
assert_eq "the environment file pins 2's digest" "$(pinned 2)" "$(pinned_now)"
rollback_point_is 1
assert_eq "the container runs exactly 2's image" "$(held_image 2)" "$(running_image)"
assert_true "the unit was restarted" test "$before" != "$(invocation)"
assert_eq "Migrate= ran the new image once (it printed its version)" \
  2 "$(head -n 1 /run/migrations)"
assert_true "Migrate= was told both images" \
  grep -qx "$(pinned 1) -> $(pinned 2)" /run/migrations
assert_eq "events" \
  "started verified stopped swapped started-new healthy committed " \
  "$(journal_events)"
assert_true "the journal names the verified digest" \
  journal -b -o cat UPGRADER_EVENT=verified --grep "$(image_digest svc:2)"

echo "== 2 -> 3, which answers 500"
push_image svc:3 >/dev/null
assert_eq "2 -> 3: rolled back" 3 "$(upgrade_status demo)"
assert_eq "serving 2" 2 "$(demo_version)"
assert_eq "the container runs 2's image again" "$(held_image 2)" "$(running_image)"
assert_true "3 quarantined" bash -c "upgrader status demo | grep -q '^quarantined: 3 '"
assert_true "3's image is not kept" lacks 3
rollback_point_is 1
assert_eq "next run: nothing to do" 5 "$(upgrade_status demo)"

echo "== 2 -> 4, which crash-loops"
# It answers well for 1.5 s before it exits: SettleSec= must outlast that.
conf_set Health SettleSec 3s
push_image svc:4 >/dev/null
assert_eq "2 -> 4: rolled back" 3 "$(upgrade_status demo)"
conf_set Health SettleSec 1s
assert_eq "serving 2" 2 "$(demo_version)"
assert_true "4 quarantined" bash -c "upgrader status demo | grep -q '^quarantined: 4 '"
rollback_point_is 1

# refused WHAT EXPECTED_MESSAGE: a run that must change nothing: exit 1,
# the unit never stopped, no image pulled, nothing staged.
refused() {
  local what=$1 message=$2 before images_before
  before=$(invocation)
  images_before=$(api_json /images/json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  assert_eq "$what: failed, nothing changed" 1 "$(upgrade_status demo)"
  assert_eq "$what: the unit was never stopped" "$before" "$(invocation)"
  assert_eq "$what: serving 2" 2 "$(demo_version)"
  assert_eq "$what: no image pulled" "$images_before" \
    "$(api_json /images/json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
  assert_eq "$what: nothing staged" "" \
    "$(ls -A /var/lib/upgrader/demo | grep -v -x -e state.json -e metrics.json -e images.json -e image.env -e image.env.old || true)"
  assert_true "$what: the journal says why" \
    journal -b -o cat SYSLOG_IDENTIFIER=upgrader UPGRADER_EVENT=failed --grep "$message"
}

echo "== refused before anything stops"
conf_set Container Version 9
refused "a tag that does not exist" "no tag '9' in '$SVC'"
push_image svc:5 >/dev/null
conf_set Container Version 5
conf_set Container Digest "$(image_digest svc:1)"
refused "a digest other than Digest=" "digest mismatch for '$SVC:5'"
conf_unset Container Version
conf_unset Container Digest
# A full disk: the engine's storage (a tmpfs here) leaves no room for 5.
case "$ENGINE" in
  podman) storage=(/var/lib/containers) ;;
  docker) storage=(/var/lib/docker /var/lib/containerd) ;;
esac
for dir in "${storage[@]}"; do
  mount -o remount,size=$(($(df --output=used -k "$dir" | tail -n 1) + 64))k "$dir"
done
refused "a full disk" "could not pull '$SVC@$(image_digest svc:5)'"
for dir in "${storage[@]}"; do mount -o remount,size=4g "$dir"; done
stop_registry
refused "the registry down" "Failed to reach 'https://$REGISTRY/v2/svc/"
restart_registry

echo "== a signed listing of digests (DigestsURL=)"
# The vendor signs which digest each tag must name; the registry is then
# trusted for availability only.
make_vendor_key
mkdir -p /srv/digests
# digests_listing TAG=IMAGE...: DIGESTS naming IMAGE's digest for TAG.
digests_listing() {
  local pair
  for pair in "$@"; do
    printf '%s  %s\n' "$(image_digest "svc:${pair#*=}" | sed 's/^sha256://')" "${pair%%=*}"
  done >/srv/digests/DIGESTS
}
conf_unset Trust AllowUnsigned
conf_set Trust TrustedKey demo.pub
conf_set Container DigestsURL file:///srv/digests/DIGESTS
conf_set Container AllowedSchemes file
digests_listing 5=1
sign_release /srv/digests/DIGESTS
refused "a registry digest the signed listing does not name" \
  "digest mismatch for '$SVC:5': the registry serves $(image_digest svc:5), the signed listing"
digests_listing 5=5
minisign -G -W -f -p /run/other.pub -s /run/other.key >/dev/null
minisign -S -s /run/other.key -m /srv/digests/DIGESTS >/dev/null
refused "a listing signed by an unknown key" \
  "Refusing 'file:///srv/digests/DIGESTS': its signature .* does not verify"
sign_release /srv/digests/DIGESTS

echo "== 2 -> 5 -> 6"
# 5 fetched ahead: pulled (the registry sends its blobs) while 2 serves
# on, untouched; the apply then pulls nothing (no blob read since).
pid=$(systemctl show -p MainPID --value demo.service)
blobs=$(registry_blob_reads)
assert_eq "fetch 5" 0 "$(upgrader fetch demo >/dev/null 2>&1; echo $?)"
assert_true "5 is held after the fetch" holds 5
assert_true "the fetch pulled 5: blob reads $blobs -> $(registry_blob_reads)" \
  test "$(registry_blob_reads)" -gt "$blobs"
assert_eq "the fetch left the unit alone" "$pid" \
  "$(systemctl show -p MainPID --value demo.service)"
blobs=$(registry_blob_reads)
assert_eq "2 -> 5: upgraded" 0 "$(upgrade_status demo)"
assert_eq "the apply pulled nothing: no blob read since the fetch" "$blobs" \
  "$(registry_blob_reads)"
assert_true "the journal says 5 was fetched ahead" \
  journal -b -o cat UPGRADER_EVENT=verified --grep "release 5 fetched ahead at"
assert_eq "serving 5 (a version 3 service)" 3 "$(demo_version)"
assert_eq "the container runs exactly 5's image" "$(held_image 5)" "$(running_image)"
assert_true "the journal names the signed listing" \
  journal -b -o cat UPGRADER_EVENT=verified --grep "digest listing signed by key"
# Unsigned again, for the steps that push images without listing them.
conf_unset Trust TrustedKey
conf_set Trust AllowUnsigned yes
conf_unset Container DigestsURL
conf_unset Container AllowedSchemes
build_image svc:6 test_service_v1
push_image svc:6 >/dev/null
assert_eq "5 -> 6: upgraded" 0 "$(upgrade_status demo)"
assert_eq "the container runs exactly 6's image" "$(held_image 6)" "$(running_image)"
# KeepImages=2: 6 in service and 5 the rollback point stay; 2, which the
# upgrader pulled, is pruned; 1 was pulled by the operator, not by the
# upgrader, so it is never removed.
assert_true "5 kept (rollback point)" holds 5
assert_true "2 pruned" lacks 2
assert_true "1 kept (not the upgrader's)" holds 1

echo "== upgrader rollback"
assert_eq "rollback on request" 0 "$(upgrader rollback demo >/dev/null 2>&1; echo $?)"
assert_eq "serving 5 again (a version 3 service)" 3 "$(demo_version)"
assert_eq "the container runs 5's image" "$(held_image 5)" "$(running_image)"
assert_true "6 quarantined by the rollback" bash -c "upgrader status demo | grep -q '^quarantined: 6 '"
assert_eq "timer run after the rollback: nothing to do" 5 "$(upgrade_status demo)"
assert_eq "check: nothing newer to install" 5 "$(upgrader check demo >/dev/null 2>&1; echo $?)"
assert_true "status --json is JSON with the pinned image" \
  bash -c "upgrader --json status demo | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"installed\"][\"id\"] == \"$(pinned 5)\"'"

echo "== a migration that leaves its container running, then fails"
# Restore= must not put data back while the migration still writes it: the
# container the hook started (here serving on 9099) is killed first, or
# Restore= below fails and so does the rollback.
case "$ENGINE" in
  podman) run_detached="/usr/bin/podman --remote run -d --rm --network=host" ;;
  docker) run_detached="$DOCKER_CLI run -d --rm --network=host" ;;
esac
conf_drop Hooks
# answers9099: any HTTP answer on 127.0.0.1:9099.
cat >/run/answers9099 <<'SH'
#!/bin/sh
curl -s -o /dev/null --max-time 2 http://127.0.0.1:9099/
SH
chmod +x /run/answers9099
cat >>/etc/upgrader/demo.conf <<CONF
[Hooks]
Migrate=$run_detached \$UPGRADER_IMAGE --port 9099 >/dev/null && timeout 20 sh -c 'until /run/answers9099; do sleep 0.1; done' && touch /run/migrating && exit 1
Restore=! /run/answers9099 && touch /run/restored
CONF
build_image svc:7 test_service_v3_never_healthy
push_image svc:7 >/dev/null
assert_eq "5 -> 7: the migration fails, rolled back" 3 "$(upgrade_status demo)"
assert_true "the migration's container was running when its hook failed" test -e /run/migrating
assert_true "Restore= ran with the migration's container gone" test -e /run/restored
assert_true "nothing answers on 9099" bash -c "! /run/answers9099"
assert_eq "serving 5 (a version 3 service)" 3 "$(demo_version)"
rollback_point_is 6

echo "== EnvironmentFile= outside /var/lib/upgrader, through upgrade@.service"
# The generator must grant its directory; without it the swap fails with
# EROFS inside the sandbox.
conf_drop Hooks
install -d -m 0755 /etc/demo-image
cp -p /var/lib/upgrader/demo/image.env /var/lib/upgrader/demo/image.env.old /etc/demo-image/
sed -i "s|^EnvironmentFile=.*|EnvironmentFile=/etc/demo-image/image.env|" /etc/systemd/system/demo.service
conf_set Container EnvironmentFile /etc/demo-image/image.env
config_changed
build_image svc:8 test_service_v2
push_image svc:8 >/dev/null
assert_eq "5 -> 8: upgraded" 0 "$(upgrade_status demo)"
assert_eq "serving 8 (a version 2 service)" 2 "$(demo_version)"
assert_eq "/etc/demo-image/image.env pins 8" "UPGRADER_IMAGE=$(pinned 8)" \
  "$(grep UPGRADER_IMAGE /etc/demo-image/image.env)"
assert_eq "its rollback point pins 5" "UPGRADER_IMAGE=$(pinned 5)" \
  "$(grep UPGRADER_IMAGE /etc/demo-image/image.env.old)"
assert_eq "no systemd warning about the drop-in" "" \
  "$(journal -b -q -o cat --grep 'SourcePath=' || true)"
# The generator's 50-upgrader-engine.conf: the engine's API service is
# started along with upgrade@demo (Wants=), not before it (no After=).
assert_true "upgrade@demo wants $ENGINE.service" \
  bash -c "systemctl show -p Wants --value upgrade@demo.service | tr ' ' '\n' | grep -qx $ENGINE.service"
assert_true "and is not ordered after it" \
  bash -c "! systemctl show -p After --value upgrade@demo.service | tr ' ' '\n' | grep -qx $ENGINE.service"

echo "== the Ansible collection's module drives this instance"
build_image svc:9 test_service_v3
push_image svc:9 >/dev/null
assert_eq "check mode: 8 -> 9 would change" "upgrade-available true 9" \
  "$(fleet_module --field outcome --field changed --field to --check name=demo | paste -sd' ')"
assert_eq "check mode changed nothing" 2 "$(demo_version)"
assert_eq "state=fetched: 9 pulled ahead" "fetched true" \
  "$(fleet_module --field outcome --field changed name=demo state=fetched | paste -sd' ')"
assert_true "the engine holds 9" holds 9
assert_eq "state=upgraded: 8 -> 9 through upgrade@demo" "upgraded true 8 9 false" \
  "$(fleet_module --field outcome --field changed --field from --field to --field failed name=demo | paste -sd' ')"
assert_eq "serving 9 (a version 3 service)" 3 "$(demo_version)"
assert_eq "again: nothing to do, unchanged" "nothing-to-do false" \
  "$(fleet_module --field outcome --field changed name=demo | paste -sd' ')"
assert_eq "state=rolled_back: back to 8" "rolled-back-on-request true 8" \
  "$(fleet_module --field outcome --field changed --field installed name=demo state=rolled_back | paste -sd' ')"
assert_eq "serving 8 (a version 2 service)" 2 "$(demo_version)"
finish
