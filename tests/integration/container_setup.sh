# The start of every container scenario: sourced by a scenario after it
# set ENGINE (podman|docker) and REGISTRY_MODE ("", --auth or --token).
# Leaves: the upgrader installed; the registry with images svc:1 and svc:2
# pushed and svc:3 (answers 500), svc:4 (crash-loops) and svc:5 (a good
# version 3) built; the engine logged in and holding svc:1, as an operator
# would have pulled it; demo.service running svc:1 from
# /var/lib/upgrader/demo/image.env; /etc/upgrader/demo.conf for
# Mode=container.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/container_lib.sh"
: "${ENGINE:?set ENGINE to podman or docker}"

SVC=$REGISTRY/svc
ENGINE_SOCK=$(_ct_sock "$ENGINE")

install_upgrader
start_registry ${REGISTRY_MODE:-}
"setup_$ENGINE"
if [ "$REGISTRY_AUTH" != none ]; then "${ENGINE}_login"; fi
for v in 1 2; do
  build_image "svc:$v" "test_service_v$v"
  push_image "svc:$v" >/dev/null
done
build_image svc:3 test_service_v3_http_500
build_image svc:4 test_service_v3_crash_loop
build_image svc:5 test_service_v3

# pinned VERSION: the reference the upgrader writes for svc:VERSION.
pinned() { echo "$SVC:$1@$(image_digest "svc:$1")"; }

engine_pull "$ENGINE" "$(image_ref svc:1)" >/dev/null
# QUADLET=healthy|plain: a Quadlet demo.container instead of a unit file.
if [ -n "${QUADLET:-}" ]; then
  container_demo_quadlet "$(pinned 1)" "$QUADLET"
else
  container_demo_unit "$ENGINE" "$(pinned 1)"
fi

container_config() {
  cat >/etc/upgrader/demo.conf <<CONF
# The ProgressDB runbook, container edition.
[Install]
Mode=container

[Container]
Engine=$ENGINE
Image=$SVC:@v
KeepImages=2

[Trust]
# The registry's word alone (one step below checks a signed listing).
AllowUnsigned=yes

[Target]
Unit=demo.service

[Health]
HTTP=http://127.0.0.1:$DEMO_PORT/healthz
ExpectJSON=status=ok
IntervalSec=100ms
TimeoutSec=${HEALTH_TIMEOUT:-6s}
# The release a rollback brings back has longer: on a loaded machine it
# may need more than TimeoutSec= to be back.
RollbackTimeoutSec=30s
Successes=${HEALTH_SUCCESSES:-2}
SettleSec=${HEALTH_SETTLE:-1s}
CONF
  config_changed
}
container_config

# What the engine's API says.
api_json() { engine_api "$ENGINE_SOCK" GET "$1"; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1]) or "")' "$1"; }
# The image ID the running demo container was created from, and the ID of
# the image the engine holds for svc:VERSION by digest ("" if none).
running_image() { api_json /containers/demo/json | json_field Image; }
held_image() { api_json "/images/$(image_ref "svc:$1")/json" | json_field Id; }
holds() { [ -n "$(held_image "$1")" ]; }
lacks() { ! holds "$1"; }
pinned_now() { sed -n 's/^UPGRADER_IMAGE=//p' /var/lib/upgrader/demo/image.env; }
# demo.service's invocation: changes whenever the unit is (re)started.
invocation() { systemctl show -p InvocationID --value demo.service; }
