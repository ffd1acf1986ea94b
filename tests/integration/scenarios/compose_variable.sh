#!/usr/bin/env bash
# A Docker Compose project whose release is a version variable in its env
# file (the NocoBase way: APP_VERSION=1 used as svc:${APP_VERSION}), run by
# Debian's docker-compose 1.29 in the foreground of a unit, upgraded through
# `systemctl start upgrade@app`:
#   a release one of whose images is missing from the registry fails before
#     anything stops, and keeps nothing it pulled;
#   1 -> 2 fetched ahead (both images pulled, the unit untouched), then
#     good without a pull: both services run 2, the env file keeps its
#     other lines, the named volume is intact;
#   2 -> 4 whose sidecar crash-loops under `restart: unless-stopped` while
#     web answers well: only the project check sees it; rolled back.
#   the Ansible collection's module: fetched, upgraded (no pull), nothing
#     to do, rolled_back.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../container_lib.sh"
source "$(dirname "$0")/../compose_lib.sh"

install_upgrader
start_registry
setup_docker
# Two images share one version, as CVAT's do: svc (web) and sidecar.
two_service_release 1 test_service_v1 test_service_v1
two_service_release 2 test_service_v2 test_service_v2
two_service_release 4 test_service_v3 test_service_v3_crash_loop
# 5: web is in the registry, its sidecar is not.
build_image svc:5 test_service_v3
push_image svc:5 >/dev/null

PROJECT_DIR=/srv/app
ENV_FILE=$PROJECT_DIR/release.env
two_service_project "$PROJECT_DIR"
systemctl start app.service
both_on() { [ "$(version_on 8080)" = "$1" ] && [ "$(version_on 8081)" = "$1" ]; }
wait_for 60 both_on 1 || fail "the project did not come up with version 1"

two_service_config /etc/upgrader/app.conf "$PROJECT_DIR" 5
cat >>/etc/upgrader/app.conf <<CONF
IntervalSec=500ms
Successes=2
# Longer than the 1.5 s the crash-looping sidecar of 4 runs for.
SettleSec=3s
TimeoutSec=12s
CONF
config_changed

# The named volume holds data the project must keep across every release.
VOLUME_DATA=/var/lib/docker/volumes/app_data/_data
wait_for 10 test -d "$VOLUME_DATA" || fail "no volume app_data"
head -c 1048576 /dev/urandom >"$VOLUME_DATA/db.bin"
DATA_SUM=$(sha256sum <"$VOLUME_DATA/db.bin")
data_intact() { [ "$(sha256sum <"$VOLUME_DATA/db.bin")" = "$DATA_SUM" ]; }

api_json() { engine_api "$DOCKER_SOCK" GET "$1"; }
holds() { api_json "/images/$REGISTRY/$1/json" | grep -q '"Id"'; }
lacks() { ! holds "$1"; }
invocation() { systemctl show -p InvocationID --value app.service; }
version_in_env() { sed -n 's/^APP_VERSION=//p' "$ENV_FILE"; }
set_version() { conf_set Container Version "$1" /etc/upgrader/app.conf; }

echo "== 1 -> 5, whose sidecar image is missing from the registry"
before=$(invocation)
assert_eq "refused, nothing changed" 1 "$(upgrade_status app)"
assert_eq "the unit was never stopped" "$before" "$(invocation)"
assert_true "serving 1" both_on 1
assert_eq "the env file still says 1" 1 "$(version_in_env)"
assert_true "the error names the missing image" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "sidecar:5"
assert_true "web's image pulled for it is not kept" lacks svc:5
assert_true "nothing staged beside the env file" \
  bash -c "[ -z \"\$(ls -A $PROJECT_DIR | grep -v -x -e docker-compose.yml -e release.env)\" ]"

echo "== 1 -> 2, fetched ahead"
# Both images pulled and the env file staged while 1 serves on, untouched;
# the upgrade then pulls nothing.
set_version 2
before=$(invocation)
blobs=$(registry_blob_reads)
assert_eq "fetch 2" 0 "$(upgrader fetch app >/dev/null 2>&1; echo $?)"
assert_eq "the fetch left the unit alone" "$before" "$(invocation)"
assert_true "the fetch pulled web's 2" holds svc:2
assert_true "the fetch pulled the sidecar's 2" holds sidecar:2
assert_true "the registry sent blobs for it" test "$(registry_blob_reads)" -gt "$blobs"
assert_eq "the env file still says 1" 1 "$(version_in_env)"
assert_true "the staged env file says 2" \
  grep -qx 'APP_VERSION=2' "$PROJECT_DIR/.release.env.upgrader-staged"
blobs=$(registry_blob_reads)
assert_eq "1 -> 2: upgraded" 0 "$(upgrade_status app)"
assert_eq "the apply pulled nothing" "$blobs" "$(registry_blob_reads)"
assert_true "nothing staged is left" test ! -e "$PROJECT_DIR/.release.env.upgrader-staged"
assert_true "both services serve 2" both_on 2
assert_true "the unit was restarted" test "$before" != "$(invocation)"
assert_eq "the env file says 2" 2 "$(version_in_env)"
assert_true "the env file kept its other lines" grep -qx 'DB_PASSWORD="s3cret"' "$ENV_FILE"
assert_eq "the env file kept its mode" 600 "$(stat -c %a "$ENV_FILE")"
assert_true "the rollback point says 1" grep -qx 'APP_VERSION=1' "$ENV_FILE.old"
assert_true "the volume is intact" data_intact

echo "== 2 -> 4, whose sidecar crash-loops while web is fine"
set_version 4
assert_eq "2 -> 4: rolled back" 3 "$(upgrade_status app)"
assert_true "the project check named the sidecar" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "project 'app': service 'sidecar'"
assert_true "both services serve 2 again" both_on 2
assert_true "the volume is intact" data_intact
containers=$(api_json "/containers/json?all=1" | grep -o '"com.docker.compose.project":"app"' | wc -l)
assert_eq "only the project's two containers exist" 2 "$containers"

echo "== the Ansible collection's module drives this project"
two_service_release 6 test_service_v3 test_service_v3
set_version 6
assert_eq "state=fetched: 6's images pulled ahead" "fetched true" \
  "$(fleet_module --field outcome --field changed name=app state=fetched | paste -sd' ')"
assert_true "the fetch pulled web's 6" holds svc:6
blobs=$(registry_blob_reads)
assert_eq "state=upgraded: 2 -> 6 through upgrade@app" "upgraded true 2 6 false" \
  "$(fleet_module --field outcome --field changed --field from --field to --field failed name=app | paste -sd' ')"
assert_eq "the apply pulled nothing" "$blobs" "$(registry_blob_reads)"
assert_true "both services serve 3 (release 6)" both_on 3
assert_eq "again: nothing to do, unchanged" "nothing-to-do false" \
  "$(fleet_module --field outcome --field changed name=app | paste -sd' ')"
assert_eq "state=rolled_back: back to 2" "rolled-back-on-request true 2" \
  "$(fleet_module --field outcome --field changed --field installed name=app state=rolled_back | paste -sd' ')"
assert_true "both services serve 2 again" both_on 2
assert_true "the volume is intact" data_intact

finish
