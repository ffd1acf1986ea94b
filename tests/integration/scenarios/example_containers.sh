#!/usr/bin/env bash
# The container examples as shipped (configuration and units), one boot for
# the three of them: examples/progressdb-container (Podman, a signed listing
# of digests, Preflight=, Migrate= with the new image), examples/proget
# (Docker, a pinned tag, upgradedb with the new image, the previous image
# kept) and examples/quay (Podman, two containers on one image,
# /health/endtoend with data.is_testing false). On stand-ins: what changes
# is names (registry, listing URL, key, health paths), timeouts scaled down,
# the containers' arguments and network (the stand-in takes --port and the
# test bed has no bridge), and the vendors' own commands (backup scripts,
# `migrate`, `upgradedb`), stood in for by ones that leave a trace.
# Each: a good upgrade, then a broken release rolled back.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../container_lib.sh"
source "$(dirname "$0")/../compose_lib.sh"
EXAMPLES=$SRC/examples

install_upgrader
start_registry
setup_podman
setup_docker
make_vendor_key

# image NAME TAG FIXTURE [push]: built, and pushed unless "nopush".
image() {
  build_image "$1:$2" "$3"
  [ "${4:-push}" = nopush ] || push_image "$1:$2" >/dev/null
}
serves() { [ "$(version_on "$1")" = "$2" ]; }
scaled() {  # the example's [Health] timings, for a test
  sed -e '/^SettleSec=/d' -e '/^IntervalSec=/d' -e '/^TimeoutSec=10min$/d' \
    -e 's|^\[Health\]$|&\nSettleSec=1s\nIntervalSec=200ms\nTimeoutSec=8s|'
}
docker_holds() { engine_api "$DOCKER_SOCK" GET "/images/$1/json" | grep -q '"Id"'; }
both_serve() { serves 8080 "$1" && serves 8081 "$1"; }
# install_unit EXAMPLE UNIT SED: the example's unit with the stand-in's
# arguments.
install_unit() {
  sed "$3" "$EXAMPLES/$1/$2" >"/etc/systemd/system/$2"
  systemctl daemon-reload
}
pin_image() {  # pin_image INSTANCE REF: the image running before any upgrade
  mkdir -p "/var/lib/upgrader/$1"
  echo "UPGRADER_IMAGE=$2" >"/var/lib/upgrader/$1/image.env"
}

echo "== examples/progressdb-container"
image progressdb 1 test_service_v1
image progressdb 2 test_service_v2
mkdir -p /srv/digests
for v in 1 2; do
  printf '%s  %s\n' "$(image_digest "progressdb:$v" | sed 's/^sha256://')" "$v"
done >/srv/digests/DIGESTS
engine_pull podman "$REGISTRY/progressdb:1" >/dev/null
pin_image progressdb "$REGISTRY/progressdb:1"
install_unit progressdb-container progressdb.service 's|\${UPGRADER_IMAGE}$|& --port 8080|'
systemctl start progressdb.service
wait_for 30 serves 8080 1 || fail "progressdb 1 did not come up"
mkdir -p /usr/local/sbin
for s in backup restore; do
  printf '#!/bin/sh\necho %s "$UPGRADER_FROM_VERSION" >>/run/progressdb-hooks\n' "$s" \
    >"/usr/local/sbin/$s-progressdb"
  chmod 0755 "/usr/local/sbin/$s-progressdb"
done
sed -e "s|^Image=registry.example.com/|Image=$REGISTRY/|" \
  -e "s|^DigestsURL=.*|DigestsURL=file:///srv/digests/DIGESTS\nAllowedSchemes=file|" \
  -e "s|^TrustedKey=.*|TrustedKey=demo.pub|" \
  -e 's|\$UPGRADER_IMAGE migrate$|$UPGRADER_IMAGE --version >>/run/progressdb-migrations|' \
  "$EXAMPLES/progressdb-container/progressdb.conf" | scaled >/etc/upgrader/progressdb.conf
config_changed
sign_release /srv/digests/DIGESTS
assert_eq "1 -> 2: upgraded" 0 "$(upgrade_status progressdb)"
assert_true "serving 2" serves 8080 2
assert_eq "Migrate= ran the new image" 2 "$(cat /run/progressdb-migrations)"
assert_true "the digest came from the signed listing" \
  journal -b -o cat UPGRADER_EVENT=verified --grep "digest listing signed by key"
image progressdb 3 test_service_v3_http_500
printf '%s  3\n' "$(image_digest progressdb:3 | sed 's/^sha256://')" >>/srv/digests/DIGESTS
sign_release /srv/digests/DIGESTS
assert_eq "2 -> 3 (answers 500): rolled back" 3 "$(upgrade_status progressdb)"
assert_true "serving 2 again" serves 8080 2
assert_eq "hooks: backups, then Restore= on the rollback" \
  "backup 1|backup 2|restore 2" "$(paste -sd'|' /run/progressdb-hooks)"
systemctl stop progressdb.service

echo "== examples/proget"
image proget 24.0.23 test_service_v1
image proget 24.0.24 test_service_v2
image proget 24.0.25 test_service_v3_exit_at_start
mkdir -p /etc/proget
: >/etc/proget/db.env
engine_pull docker "$REGISTRY/proget:24.0.23" >/dev/null
pin_image proget "$REGISTRY/proget:24.0.23"
install_unit proget proget.service 's|\${UPGRADER_IMAGE}$|& --port 8624|'
systemctl start proget.service
wait_for 30 serves 8624 1 || fail "ProGet 24.0.23 did not come up"
# The packages volume the unit mounts: it must survive every release.
PACKAGES=/var/lib/docker/volumes/proget-packages/_data
head -c 262144 /dev/urandom >"$PACKAGES/feed.bin"
PACKAGES_SUM=$(sha256sum <"$PACKAGES/feed.bin")
mkdir -p /usr/local/lib/upgrader-examples
printf '#!/bin/sh\necho "$1 $UPGRADER_FROM_VERSION" >>/run/proget-db\n' \
  >/usr/local/lib/upgrader-examples/proget-db
chmod 0755 /usr/local/lib/upgrader-examples/proget-db
sed -e "s|^Image=proget.inedo.com/productimages/inedo/|Image=$REGISTRY/|" \
  -e "s|^HTTP=http://localhost:8624/health|HTTP=http://127.0.0.1:8624/healthz|" \
  -e 's|\$UPGRADER_IMAGE upgradedb$|$UPGRADER_IMAGE --version >>/run/proget-upgradedb|' \
  "$EXAMPLES/proget/proget.conf" | scaled >/etc/upgrader/proget.conf
config_changed
assert_eq "24.0.23 -> 24.0.24 (pinned): upgraded" 0 "$(upgrade_status proget)"
assert_true "serving 24.0.24 (the stand-in's 2)" serves 8624 2
assert_eq "upgradedb ran with the new image" 2 "$(cat /run/proget-upgradedb)"
conf_set Container Version 24.0.25 /etc/upgrader/proget.conf
assert_eq "24.0.24 -> 24.0.25 (exits at start): rolled back" 3 "$(upgrade_status proget)"
assert_true "serving 24.0.24 again" serves 8624 2
assert_eq "the packages volume is intact" "$PACKAGES_SUM" "$(sha256sum <"$PACKAGES/feed.bin")"
assert_true "the previous image is kept" \
  docker_holds "$REGISTRY/proget@$(image_digest proget:24.0.23)"
assert_eq "hooks: backups, Restore= on the rollback" \
  "backup 24.0.23|backup 24.0.24|restore 24.0.24" "$(paste -sd'|' /run/proget-db)"
systemctl stop proget.service

echo "== examples/quay"
image quay 3.12.0 test_service_v1
image quay 3.12.1 test_service_v2
image quay 3.12.2 test_service_v3_testing
engine_pull podman "$REGISTRY/quay:3.12.0" >/dev/null
pin_image quay "$REGISTRY/quay:3.12.0"
# Quay's configuration, which every container mounts, must survive.
mkdir -p /srv/quay/config
head -c 65536 /dev/urandom >/srv/quay/config/config.bin
CONFIG_SUM=$(sha256sum </srv/quay/config/config.bin)
install_unit quay 'quay@.service' \
  's|-p %i:8080 \(.*\) \${UPGRADER_IMAGE}$|--network=host \1 ${UPGRADER_IMAGE} --port %i|'
systemctl start quay@8080.service quay@8081.service
wait_for 30 serves 8080 1 || fail "quay@8080 did not come up"
wait_for 30 serves 8081 1 || fail "quay@8081 did not come up"
sed -e "s|^Image=quay.io/projectquay/|Image=$REGISTRY/|" \
  -e "s|localhost:\([0-9]*\)/health/endtoend|127.0.0.1:\1/healthz|" \
  "$EXAMPLES/quay/quay.conf" | scaled >/etc/upgrader/quay.conf
config_changed
assert_eq "3.12.0 -> 3.12.1: upgraded" 0 "$(upgrade_status quay)"
assert_true "both containers serve 3.12.1" both_serve 2
conf_set Container Version 3.12.2 /etc/upgrader/quay.conf
assert_eq "3.12.1 -> 3.12.2 (a test configuration): rolled back" 3 "$(upgrade_status quay)"
assert_true "the journal says why" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "data.is_testing"
assert_true "both containers serve 3.12.1 again" both_serve 2
assert_eq "the mounted configuration is intact" "$CONFIG_SUM" \
  "$(sha256sum </srv/quay/config/config.bin)"

finish
