#!/usr/bin/env bash
# A compose upgrade (a version variable in the env file, two images sharing
# it, a Migrate= hook) killed (_exit, no clean-up, as SIGKILL or a power
# loss would) at a fault point of apply or of rollback; the next
# `upgrader apply` must end consistent: the project on the old or the new
# release, every service up on it, the env file saying which, no
# transaction in progress, nothing temporary beside the env file, no
# container of the project left over. In the suite a sample of the points
# is tried; every point is the test labelled long
# (FAULT_POINTS=all). Needs -DUPGRADER_FAULT_INJECTION=ON.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../container_lib.sh"
source "$(dirname "$0")/../compose_lib.sh"
needs_fault_injection

APPLY_POINTS=$(fault_points apply)
ROLLBACK_POINTS=$(fault_points rollback)
[ -n "$APPLY_POINTS" ] && [ -n "$ROLLBACK_POINTS" ] || fail "no fault points known"
if [ "${FAULT_POINTS:-sample}" = sample ]; then
  APPLY_POINTS="pulled swapped started"
  ROLLBACK_POINTS="rollback-reverted"
fi

install_upgrader
start_registry
setup_docker
two_service_release 1 test_service_v1 test_service_v1
two_service_release 2 test_service_v2 test_service_v2
two_service_release 3 test_service_v3_http_500 test_service_v3

DIR=/srv/app
two_service_project "$DIR"
two_service_config /etc/upgrader/demo.conf "$DIR" 2
cat >>/etc/upgrader/demo.conf <<CONF
IntervalSec=300ms
SettleSec=1s
TimeoutSec=10s
[Hooks]
Migrate=true
CONF

# The version both services serve; "" while they differ or are down.
project_version() {
  local web side
  web=$(version_on 8080)
  side=$(version_on 8081)
  [ -n "$web" ] && [ "$web" = "$side" ] && echo "$web"
}
project_up() { [ -n "$(project_version)" ]; }

# Release 1 running, no upgrader state, release 2's images not pulled.
reset_release() {
  systemctl stop app.service
  systemctl reset-failed app.service 2>/dev/null || true
  rm -rf /var/lib/upgrader/demo "$DIR/release.env.old"
  printf 'APP_VERSION=1\nDB_PASSWORD="s3cret"\n' >"$DIR/release.env"
  for ref in svc:2 sidecar:2 svc:3 sidecar:3; do
    engine_api "$DOCKER_SOCK" DELETE "/images/$REGISTRY/$ref" >/dev/null || true
  done
  systemctl start app.service
  wait_for 60 project_up || fail "reset: release 1 did not come up"
}

# crash_then_apply POINT: killed there, then a normal apply; the project
# must end on one release, consistent.
crash_then_apply() {
  local point=$1 served env_version left containers
  reset_release
  kill_then_apply "$point"
  assert_true "after '$point': every service up, on one release" wait_for 20 project_up
  served=$(project_version)
  env_version=$(sed -n 's/^APP_VERSION=//p' "$DIR/release.env")
  assert_eq "after '$point': the env file names the release served" "$served" "$env_version"
  assert_true "after '$point': its other lines kept" grep -qx 'DB_PASSWORD="s3cret"' "$DIR/release.env"
  assert_eq "after '$point': no transaction left" "" \
    "$(upgrader status demo | grep '^in progress' || true)"
  left=$(ls -A "$DIR" | grep -v -x -e docker-compose.yml -e release.env -e release.env.old || true)
  assert_eq "after '$point': nothing temporary beside the env file" "" "$left"
  containers=$(engine_api "$DOCKER_SOCK" GET "/containers/json?all=1" |
    grep -o '"com.docker.compose.project":"app"' | wc -l)
  assert_eq "after '$point': the project's two containers, no more" 2 "$containers"
}

for point in $APPLY_POINTS; do
  crash_then_apply "$point"
  assert_eq "after '$point': upgraded to 2 in the end" 2 "$(project_version)"
done

sed -i 's/^Version=2/Version=3/' /etc/upgrader/demo.conf
for point in $ROLLBACK_POINTS; do
  crash_then_apply "$point"
  assert_eq "after '$point': back on 1" 1 "$(project_version)"
done
finish
