#!/usr/bin/env bash
# Two instances on one engine running the same image digest (issue 18,
# B5): demo pulls svc:2 and other finds it held, so other claims it as
# "using" in its images.json. When demo moves on and KeepImages= prunes
# svc:2, which demo pulled, the engine keeps it: another instance's
# record names it. Once other has moved on too and gives up its claim,
# nothing names svc:2 and demo's next prune removes it. Docker Engine
# through `systemctl start upgrade@NAME`.
ENGINE=docker REGISTRY_MODE=""
source "$(dirname "$0")/../container_setup.sh"

# other.service: the same images as demo, on port 8092, pinned by
# /var/lib/upgrader/other/image.env.
OTHER_PORT=8092
mkdir -p /var/lib/upgrader/other
echo "UPGRADER_IMAGE=$(pinned 1)" >/var/lib/upgrader/other/image.env
cat >/etc/systemd/system/other.service <<UNIT
[Unit]
Requires=docker.service
After=docker.service
[Service]
EnvironmentFile=/var/lib/upgrader/other/image.env
TimeoutStopSec=70
ExecStartPre=-$DOCKER_CLI rm -f other
ExecStart=$DOCKER_CLI run --rm --name other --network=host \${UPGRADER_IMAGE} --port $OTHER_PORT
ExecStop=$DOCKER_CLI stop -t 10 other
Type=exec
UNIT
sed -e 's/^Unit=demo.service$/Unit=other.service/' \
  -e "s|^HTTP=http://127.0.0.1:$DEMO_PORT/|HTTP=http://127.0.0.1:$OTHER_PORT/|" \
  /etc/upgrader/demo.conf >/etc/upgrader/other.conf
assert_true "other.conf names other.service" grep -qx Unit=other.service /etc/upgrader/other.conf
assert_true "other.conf checks port $OTHER_PORT" grep -q "^HTTP=http://127.0.0.1:$OTHER_PORT/" /etc/upgrader/other.conf
config_changed
systemctl start other.service
other_version() {
  curl -fsS --max-time 2 "http://127.0.0.1:$OTHER_PORT/healthz" 2>/dev/null |
    sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}
other_up() { [ -n "$(other_version)" ]; }
assert_true "other.service serving" wait_for 30 other_up
# claim NAME VERSION: the state NAME's images.json records for svc:VERSION
# (by digest, as Mode=container records it); "" if none.
claim() { python3 -c 'import json,sys
for e in json.load(open(sys.argv[1]))["images"]:
    if e["reference"] == sys.argv[2]: print(e["state"])' \
  "/var/lib/upgrader/$1/images.json" "$SVC@$(image_digest "svc:$2")"; }

echo "== demo pulls 2; other finds it held and claims it"
assert_eq "demo 1 -> 2" 0 "$(upgrade_status demo)"
assert_eq "demo pulled 2" pulled "$(claim demo 2)"
assert_eq "other 1 -> 2" 0 "$(upgrade_status other)"
assert_eq "other serves 2" 2 "$(other_version)"
assert_eq "other claims 2 as used, not pulled" using "$(claim other 2)"

echo "== demo moves on to 5, then 6: KeepImages=2 prunes 2, which other runs"
push_image svc:5 >/dev/null
assert_eq "demo 2 -> 5" 0 "$(upgrade_status demo)"
# 6 is the image of 1 (the same test service, byte for byte): held already.
build_image svc:6 test_service_v1
push_image svc:6 >/dev/null
assert_eq "demo 5 -> 6" 0 "$(upgrade_status demo)"
assert_true "the engine still holds 2: other's record names it" holds 2
assert_eq "demo keeps its record of 2, to remove it later" pulled "$(claim demo 2)"
assert_eq "other still serves 2" 2 "$(other_version)"
assert_true "other restarts on 2" systemctl restart other.service
assert_true "other up again" wait_for 30 other_up
assert_eq "other restarted on the image it had" "$(held_image 2)" \
  "$(api_json /containers/other/json | json_field Image)"

echo "== other moves on too; then nothing names 2 and demo's next commit removes it"
conf_set Container Version 5 /etc/upgrader/other.conf
assert_eq "other 2 -> 5" 0 "$(upgrade_status other)"
conf_set Container Version 6 /etc/upgrader/other.conf
assert_eq "other 5 -> 6" 0 "$(upgrade_status other)"
assert_eq "other gave up its claim on 2" "" "$(claim other 2)"
assert_eq "demo rolls back to 5 (a commit)" 0 "$(upgrader rollback demo >/dev/null 2>&1; echo $?)"
assert_true "2 is gone from the engine now" lacks 2
assert_eq "and from demo's record" "" "$(claim demo 2)"
assert_true "6, which other runs, is kept" holds 6
assert_eq "other still serves 6 (a version 1 service)" 1 "$(other_version)"
finish
