#!/usr/bin/env bash
# examples/progressdb as shipped (configuration and unit), with the test
# service standing in for ProgressDB at /usr/bin/progressdb: the test bed's
# release server, signing key and health URL are the only changes, and
# the backup command (the stand-in has none).
#   1 -> 2 from a signed tarball: progressdb.old kept, the backup ran first;
#   2 -> 3, which answers 500: rolled back to 2 from progressdb.old.
source "$(dirname "$0")/../lib.sh"
EXAMPLE=$SRC/examples/progressdb

install_upgrader
start_release_server
make_vendor_key

# publish_progressdb VERSION FIXTURE: the vendor's tarball holding
# `progressdb`, listed in SHA256SUMS and signed.
publish_progressdb() {
  local dir
  dir=$(mktemp -d)
  cp "$FIXTURES/$2" "$dir/progressdb"
  tar -C "$dir" -czf "$RELEASES/progressdb-$1-linux-amd64.tar.gz" progressdb
  rm -rf "$dir"
  (cd "$RELEASES" && sha256sum progressdb-*.tar.gz >SHA256SUMS)
  sign_release "$RELEASES/SHA256SUMS"
}
publish_progressdb 1 test_service_v1
publish_progressdb 2 test_service_v2

install -m 0755 "$FIXTURES/test_service_v1" /usr/bin/progressdb
install -m 0644 "$EXAMPLE/progressdb.service" /etc/systemd/system/
systemctl daemon-reload
systemctl start progressdb.service
wait_for 10 demo_healthy || fail "ProgressDB 1 is not healthy"

sed -e "s|https://releases.progressdb.example|$RELEASE_URL|" \
  -e "s|^ChecksumsURL=.*|&\nCAFile=$RELEASE_CA|" \
  -e "s|^TrustedKey=.*|TrustedKey=demo.pub|" \
  -e "s|^SettleSec=.*|SettleSec=1s|" -e "s|^TimeoutSec=.*|TimeoutSec=6s|" \
  -e "s|^PreStop=.*|PreStop=echo backup \$UPGRADER_FROM_VERSION >>/run/progressdb-backups|" \
  "$EXAMPLE/progressdb.conf" >/etc/upgrader/progressdb.conf
config_changed

echo "== 1 -> 2"
assert_eq "upgraded" 0 "$(upgrade_status progressdb)"
assert_eq "serving 2" 2 "$(demo_version)"
assert_true "/usr/bin/progressdb is 2" cmp -s "$FIXTURES/test_service_v2" /usr/bin/progressdb
assert_true "progressdb.old is 1" cmp -s "$FIXTURES/test_service_v1" /usr/bin/progressdb.old
# (The version installed by hand is unknown: the listing names tarballs.)
assert_eq "the backup ran, once" 1 "$(grep -c '^backup' /run/progressdb-backups)"

echo "== 2 -> 3, which answers 500"
publish_progressdb 3 test_service_v3_http_500
assert_eq "rolled back" 3 "$(upgrade_status progressdb)"
assert_eq "serving 2" 2 "$(demo_version)"
assert_true "/usr/bin/progressdb is 2 again" cmp -s "$FIXTURES/test_service_v2" /usr/bin/progressdb

finish
