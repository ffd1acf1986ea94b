# A Quadlet container (Podman 4.4+: Debian 13's 5.4) upgraded through
# `systemctl start upgrade@demo`, in the pattern of examples/quadlet:
# demo.container says Image=${UPGRADER_IMAGE} and reads it from the
# environment file the upgrader pins ([Service] EnvironmentFile=).
#   with Notify=healthy (the start job waits for the image's HealthCmd=):
#     1 -> 2 good; 2 -> 3 (answers 500) rolled back and quarantined;
#     a daemon-reload and a restart keep 2;
#   without it: 2 -> 5 good, 5 -> 4 (crash-loops) rolled back;
#   the generated unit is never rewritten by the upgrader.
# Skipped where Podman has no Quadlet (Debian 12's 4.3).
if [ ! -x /usr/lib/systemd/system-generators/podman-system-generator ]; then
  echo "skipped: no Quadlet here (podman-system-generator; Podman 4.4 or newer has it)"
  exit 77
fi
ENGINE=podman
QUADLET=healthy
source "$(dirname "$0")/../container_setup.sh"

quadlet=/etc/containers/systemd/demo.container
generated() { systemctl show -p SourcePath --value demo.service; }
assert_eq "demo.service is Quadlet's, from demo.container" "$quadlet" "$(generated)"
unit_text() { systemctl cat demo.service | grep -v "^#" | sha256sum | cut -c1-16; }
unit_before=$(unit_text)

echo "== Notify=healthy: 1 -> 2"
assert_eq "1 -> 2: upgraded" 0 "$(upgrade_status demo)"
assert_eq "serving 2" 2 "$(demo_version)"
assert_eq "the environment file pins 2's digest" "$(pinned 2)" "$(pinned_now)"
assert_eq "the container runs exactly 2's image" "$(held_image 2)" "$(running_image)"
assert_eq "the unit Quadlet made is unchanged" "$unit_before" "$(unit_text)"

echo "== Notify=healthy: 2 -> 3, which answers 500"
push_image svc:3 >/dev/null
assert_eq "2 -> 3: rolled back" 3 "$(upgrade_status demo)"
assert_eq "serving 2" 2 "$(demo_version)"
assert_eq "the container runs 2's image again" "$(held_image 2)" "$(running_image)"
assert_true "3 quarantined" bash -c "upgrader status demo | grep -q '^quarantined: 3 '"
assert_eq "next run: nothing to do (3 is not tried again)" 5 "$(upgrade_status demo)"

echo "== a daemon-reload regenerates the same unit, and 2 stays pinned"
systemctl daemon-reload
assert_eq "still Quadlet's unit" "$quadlet" "$(generated)"
assert_eq "the same unit text" "$unit_before" "$(unit_text)"
systemctl restart demo.service
assert_true "healthy after a restart" wait_for 30 demo_healthy
assert_eq "serving 2 after the reload and a restart" 2 "$(demo_version)"
assert_eq "the container runs 2's image" "$(held_image 2)" "$(running_image)"

echo "== without Notify=healthy: 2 -> 5 (a good 3)"
container_demo_quadlet "$(pinned 2)" plain
unit_before=$(unit_text)
assert_true "no health command in the plain unit" \
  bash -c "! systemctl cat demo.service | grep -q -- '--sdnotify=healthy'"
push_image svc:5 >/dev/null
assert_eq "2 -> 5: upgraded" 0 "$(upgrade_status demo)"
assert_eq "serving 3 (svc:5)" 3 "$(demo_version)"
assert_eq "the environment file pins 5's digest" "$(pinned 5)" "$(pinned_now)"

echo "== without Notify=healthy: 5 -> 6 (crash-loops), rolled back by the upgrader's own check"
build_image svc:6 test_service_v3_crash_loop
# It answers well for 1.5 s before it exits: SettleSec= must outlast that.
conf_set Health SettleSec 3s
push_image svc:6 >/dev/null
assert_eq "5 -> 6: rolled back" 3 "$(upgrade_status demo)"
assert_eq "serving 3 (svc:5) again" 3 "$(demo_version)"
assert_true "6 quarantined" bash -c "upgrader status demo | grep -q '^quarantined: 6 '"
assert_eq "the unit Quadlet made is unchanged" "$unit_before" "$(unit_text)"
systemctl daemon-reload
assert_eq "a reload keeps 5 pinned" "$(pinned 5)" "$(pinned_now)"

finish
