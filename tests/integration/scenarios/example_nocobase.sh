#!/usr/bin/env bash
# examples/nocobase as shipped (configuration, unit, env file), on
# stand-ins: the release is NOCOBASE_VERSION= in the env file, the versions
# are the registry's tags fitting "@v-full", PreStop= backs the database up,
# Migrate= migrates it with the new image, Restore= puts the backup back on
# rollback, and downgrades are refused. What differs: names (registry,
# ports, health URL), timeouts scaled down, the compose file (the stand-in
# images run on the host network: the test bed's Docker has no bridge),
# and the database tool (nocobase-db copies the volume; `yarn nocobase
# upgrade` is the stand-in's --migrate-only).
#   1.7.13 -> 1.7.14: migrated, env file keeps its other lines;
#   -> 1.8.0, whose app migrates, then answers 500: rolled back, the
#     database volume restored byte for byte;
#   -> 1.7.13 (pinned): refused as a downgrade, nothing stopped.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../container_lib.sh"
source "$(dirname "$0")/../compose_lib.sh"
EXAMPLE=$SRC/examples/nocobase

install_upgrader
start_registry
setup_docker
build_image nocobase:1.7.13-full test_service_v1
build_image nocobase:1.7.14-full test_service_v2
build_image nocobase:1.8.0-full test_service_v3_http_500
# Not a release number: never taken for the newest.
build_image nocobase:1.9.0-beta.1-full test_service_v3_crash_loop
build_image postgres:16 test_service_v1
for ref in nocobase:1.7.13-full nocobase:1.7.14-full nocobase:1.9.0-beta.1-full \
  postgres:16; do
  push_image "$ref" >/dev/null
done

mkdir -p /srv/nocobase
sed "s/^NOCOBASE_VERSION=.*/NOCOBASE_VERSION=1.7.13/" "$EXAMPLE/release.env" \
  >/srv/nocobase/release.env
chmod 0600 /srv/nocobase/release.env
cat >/srv/nocobase/docker-compose.yml <<YAML
version: "3.7"
services:
  app:
    image: $REGISTRY/nocobase:\${NOCOBASE_VERSION:?NOCOBASE_VERSION must be set}-full
    network_mode: host
    restart: always
    command: ["--port", "13000", "--migrate", "/data"]
    volumes:
      - db-data:/data
  postgres:
    image: $REGISTRY/postgres:16
    network_mode: host
    restart: always
    command: ["--port", "15432"]
    volumes:
      - db-data:/data
volumes:
  db-data:
YAML
install -m 0644 "$EXAMPLE/nocobase.service" /etc/systemd/system/
systemctl daemon-reload
systemctl start nocobase.service

serving() { [ "$(version_on 13000)" = "$1" ]; }
VOLUME=/var/lib/docker/volumes/nocobase_db-data/_data
wait_for 60 serving 1 || fail "NocoBase 1.7.13 did not come up"

# The database tool, stood in for: the volume's files copied.
db_standin /usr/local/lib/upgrader-examples/nocobase-db "$VOLUME" /var/backups/nocobase

sed -e "s|^Image=nocobase/nocobase:|Image=$REGISTRY/nocobase:|" \
  -e "s|^HTTP=.*|HTTP=http://127.0.0.1:13000/healthz|" \
  -e "s|^SettleSec=.*|SettleSec=2s|" -e "s|^IntervalSec=.*|IntervalSec=500ms|" \
  -e "s|^Successes=.*|Successes=2|" -e "s|^TimeoutSec=15min|TimeoutSec=12s|" \
  -e "s|^Migrate=.*|Migrate=$DOCKER_CLI run --rm --network none -v nocobase_db-data:/data $REGISTRY/nocobase:\${UPGRADER_TO_VERSION}-full --migrate-only /data|" \
  "$EXAMPLE/nocobase.conf" >/etc/upgrader/nocobase.conf
conf_set Container Version 1.7.14 /etc/upgrader/nocobase.conf
config_changed

head -c 1048576 /dev/urandom >"$VOLUME/db.bin"
DATA=$(sha256sum <"$VOLUME/db.bin")
data_intact() { [ "$(sha256sum <"$VOLUME/db.bin")" = "$DATA" ]; }
invocation() { systemctl show -p InvocationID --value nocobase.service; }
version_in_env() { sed -n 's/^NOCOBASE_VERSION=//p' /srv/nocobase/release.env; }

echo "== 1.7.13 -> 1.7.14"
assert_eq "upgraded" 0 "$(upgrade_status nocobase)"
assert_true "serving 1.7.14 (the stand-in's version 2)" serving 2
assert_eq "the env file says 1.7.14" 1.7.14 "$(version_in_env)"
assert_true "the env file kept its other lines" grep -qx "APP_KEY=change-me" /srv/nocobase/release.env
assert_eq "Migrate= migrated the schema with the new image" 2 "$(cat "$VOLUME/schema")"
assert_eq "the backup came first" "backup 1.7.13 -> 1.7.14" "$(cat /var/backups/nocobase.log)"
assert_true "the database is intact" data_intact

echo "== 1.7.14 -> 1.8.0 (the newest release number), which answers 500"
push_image nocobase:1.8.0-full >/dev/null
conf_unset Container Version /etc/upgrader/nocobase.conf
assert_eq "rolled back" 3 "$(upgrade_status nocobase)"
assert_true "serving 1.7.14 again" serving 2
assert_eq "the env file says 1.7.14" 1.7.14 "$(version_in_env)"
assert_eq "Restore= put the schema of 1.7.14 back" 2 "$(cat "$VOLUME/schema")"
assert_true "the database is intact" data_intact
assert_true "Restore= ran with the backup of 1.7.14" \
  grep -qx "restore 1.7.14 -> 1.8.0" /var/backups/nocobase.log

echo "== 1.7.14 -> 1.7.13, a downgrade"
conf_set Container Version 1.7.13 /etc/upgrader/nocobase.conf
before=$(invocation)
assert_eq "refused" 1 "$(upgrade_status nocobase)"
assert_true "the journal says why" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "refusing to downgrade from 1.7.14 to 1.7.13"
assert_eq "the unit was never stopped" "$before" "$(invocation)"
assert_true "serving 1.7.14" serving 2

finish
