#!/usr/bin/env bash
# examples/cvat as shipped, on stand-ins: a compose project per release
# (an archive of the project directory, signed), two images sharing one
# version, a server whose first start migrates the schema in its volume
# for 4 s before it answers, PreStop= dump, Migrate= restore into an empty
# database, PostUpgrade= cleanup in the new server container, Restore= on
# rollback. Only names change (URLs, registry, ports, timeouts scaled
# down), and the database tool: cvat-db is replaced by a stand-in that
# copies the volume, as the stand-in images have no PostgreSQL.
#   a release naming an image missing from the registry: refused before
#     anything stops, its directory and pulls gone;
#   1 -> 2: migrated once, never interrupted; cleanup ran in 2's image;
#   2 -> 3 whose server answers 500 after migrating: rolled back, the
#     database (volume) restored byte for byte, schema back at 2.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../container_lib.sh"
source "$(dirname "$0")/../compose_lib.sh"
EXAMPLE=$SRC/examples/cvat

install_upgrader
start_release_server
make_vendor_key
start_registry
setup_docker

for v in 1 2 3 4; do
  fixture=test_service_v$((v < 3 ? v : 3))
  [ "$v" = 3 ] && server=test_service_v3_http_500 || server=$fixture
  build_image "cvat-server:$v" "$server"
  build_image "cvat-ui:$v" "$fixture"
  push_image "cvat-server:$v" >/dev/null
  [ "$v" = 4 ] || push_image "cvat-ui:$v" >/dev/null
done
# Release 4 names a ui image the registry does not have.
MISSING="$REGISTRY/cvat-ui:4@sha256:$(printf '%064d' 0)"

# publish_cvat VERSION: cvat-VERSION.tar.gz, the project directory as CVAT
# ships it, its images pinned by digest (the signature covers them), listed
# in SHA256SUMS and signed.
publish_cvat() {
  local v=$1 dir ui
  dir=$(mktemp -d)
  ui="$REGISTRY/cvat-ui:$v@$(image_digest "cvat-ui:$v" 2>/dev/null || true)"
  [ "$v" = 4 ] && ui=$MISSING
  cat >"$dir/docker-compose.yml" <<YAML
version: "3.7"
services:
  cvat_server:
    image: $REGISTRY/cvat-server:$v@$(image_digest "cvat-server:$v")
    network_mode: host
    command: ["--port", "8080", "--migrate", "/data"]
    restart: always
    volumes:
      - cvat_data:/data
  cvat_ui:
    image: $ui
    network_mode: host
    command: ["--port", "\${CVAT_UI_PORT}"]
    restart: always
volumes:
  cvat_data:
YAML
  echo "CVAT_UI_PORT=8081" >"$dir/.env"
  tar -C "$dir" -czf "$RELEASES/cvat-$v.tar.gz" docker-compose.yml .env
  rm -rf "$dir"
  (cd "$RELEASES" && sha256sum cvat-*.tar.gz >SHA256SUMS)
  sign_release "$RELEASES/SHA256SUMS"
}
for v in 1 2 3 4; do publish_cvat "$v"; done

# Release 1, installed by hand as CVAT's guide does, and running.
mkdir -p /opt/cvat/releases/1
tar -C /opt/cvat/releases/1 -xzf "$RELEASES/cvat-1.tar.gz"
ln -s /opt/cvat/releases/1 /opt/cvat/current
install -m 0644 "$EXAMPLE/cvat.service" /etc/systemd/system/
systemctl daemon-reload
systemctl start cvat.service

serving() { [ "$(version_on 8080)" = "$1" ] && [ "$(version_on 8081)" = "$1" ]; }
VOLUME=/var/lib/docker/volumes/cvat_cvat_data/_data
wait_for 60 serving 1 || fail "CVAT 1 did not come up"
assert_eq "1 migrated its schema at first start" 1 "$(cat "$VOLUME/schema")"

# The database tool, stood in for: the volume's files copied.
db_standin /usr/local/lib/upgrader-examples/cvat-db "$VOLUME" /var/backups/cvat

# The example's configuration, with the test bed's names.
sed -e "s|https://releases.example.com/cvat|$RELEASE_URL|" \
  -e "s|^ChecksumsURL=.*|&\nCAFile=$RELEASE_CA|" \
  -e "s|^TrustedKey=.*|TrustedKey=demo.pub|" \
  -e "s|^HTTP=.*|HTTP=http://127.0.0.1:8080/healthz|" \
  -e "s|^SettleSec=.*|SettleSec=2s|" -e "s|^IntervalSec=.*|IntervalSec=500ms|" \
  -e "s|^Successes=.*|Successes=2|" -e "s|^TimeoutSec=30min|TimeoutSec=14s|" \
  -e "s|python3 manage.py cleanup|/test_service --version >>/run/cvat-cleanup|" \
  "$EXAMPLE/cvat.conf" >/etc/upgrader/cvat.conf
config_changed

head -c 1048576 /dev/urandom >"$VOLUME/db.bin"
data_sum() { sha256sum <"$VOLUME/db.bin"; }
DATA=$(data_sum)
invocation() { systemctl show -p InvocationID --value cvat.service; }
holds() { engine_api "$DOCKER_SOCK" GET "/images/$1/json" | grep -q '"Id"'; }
lacks() { ! holds "$1"; }
pin() { conf_set Source Version "$1" /etc/upgrader/cvat.conf; }
unpin() { conf_unset Source Version /etc/upgrader/cvat.conf; }

echo "== 1 -> 4, whose ui image is missing from the registry"
pin 4
before=$(invocation)
assert_eq "refused, nothing changed" 1 "$(upgrade_status cvat)"
assert_eq "the unit was never stopped" "$before" "$(invocation)"
assert_eq "current still names 1" /opt/cvat/releases/1 "$(readlink /opt/cvat/current)"
assert_true "the error names the missing image" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "cvat_ui"
assert_true "4's directory is gone" test ! -e /opt/cvat/releases/4
assert_true "4's server image pulled for it is not kept" \
  lacks "$REGISTRY/cvat-server@$(image_digest cvat-server:4)"
assert_true "no dump was taken" test ! -e /var/backups/cvat.log
unpin

echo "== 1 -> 2"
pin 2
assert_eq "1 -> 2: upgraded" 0 "$(upgrade_status cvat)"
assert_true "both services serve 2" serving 2
assert_eq "current names 2" /opt/cvat/releases/2 "$(readlink /opt/cvat/current)"
assert_eq "2 migrated the schema" 2 "$(cat "$VOLUME/schema")"
assert_true "the migration ran to its end" test ! -e "$VOLUME/migrating"
assert_eq "hooks: dump before the stop, restore only into an empty database" \
  "dump 1 -> 2|restore-if-empty 1 -> 2" "$(paste -sd'|' /var/backups/cvat.log)"
assert_eq "the cleanup ran in 2's server image" 2 "$(cat /run/cvat-cleanup)"
assert_true "the data is intact" test "$DATA" = "$(data_sum)"

echo "== 2 -> 3, whose server migrates, then answers 500"
conf_set Source Version 3 /etc/upgrader/cvat.conf
assert_eq "2 -> 3: rolled back" 3 "$(upgrade_status cvat)"
assert_true "both services serve 2 again" serving 2
assert_eq "current names 2" /opt/cvat/releases/2 "$(readlink /opt/cvat/current)"
assert_eq "Restore= put the schema back at 2" 2 "$(cat "$VOLUME/schema")"
assert_true "the data is intact" test "$DATA" = "$(data_sum)"
assert_true "Restore= ran with the dump of 2" grep -qx "restore 2 -> 3" /var/backups/cvat.log
assert_true "3's directory is gone" test ! -e /opt/cvat/releases/3

finish
