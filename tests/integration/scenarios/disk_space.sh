#!/usr/bin/env bash
# A release that does not fit is refused before it fills the file system it
# would land in (the service's own data may live there): releases on a
# 64 MiB file system, a 1 MiB tar.gz that unpacks to 256 MiB, then a
# download of 80 MiB. Each run fails with nothing changed: the service
# never stopped, nothing left in the releases directory, and the message
# names the file system and its free space.
source "$(dirname "$0")/../lib.sh"
install_upgrader
start_release_server
make_vendor_key
publish_tree 1 test_service_v1

rm -rf /var/lib/upgrader/demo /opt/demo
mkdir -p /opt/demo/releases
mount -t tmpfs -o size=64m,mode=0755 tmpfs /opt/demo/releases
mkdir -p /opt/demo/releases/1/bin
cp "$FIXTURES/test_service_v1" /opt/demo/releases/1/bin/service
echo 1 >/opt/demo/releases/1/VERSION
ln -s /opt/demo/releases/1 /opt/demo/current
start_demo_unit /opt/demo/current/bin/service
symlink_demo_config
conf_set Source MaxSize 1G

# publish_big VERSION SOURCE MIB: release VERSION with data/blob, MIB MiB
# read from SOURCE, gzipped fast.
publish_big() {
  local dir
  dir=$(mktemp -d)
  mkdir -p "$dir/bin" "$dir/data"
  cp "$FIXTURES/test_service_v2" "$dir/bin/service"
  echo "$1" >"$dir/VERSION"
  head -c "$(($3 << 20))" "$2" >"$dir/data/blob"
  tar -C "$dir" -c bin VERSION data | gzip -1 >"$RELEASES/demo-$1.tar.gz"
  rm -rf "$dir"
  (cd "$RELEASES" && sha256sum demo-*.tar.gz >SHA256SUMS)
  sign_release "$RELEASES/SHA256SUMS"
}

# refused WHAT MESSAGE: failed before anything changed.
refused() {
  local pid
  pid=$(systemctl show -p MainPID --value demo.service)
  assert_eq "$1: failed, nothing changed" 1 "$(upgrade_status demo)"
  assert_eq "$1: the service never stopped" "$pid" \
    "$(systemctl show -p MainPID --value demo.service)"
  assert_eq "$1: v1 serving" 1 "$(demo_version)"
  assert_eq "$1: nothing left beside release 1" "1" "$(ls -A /opt/demo/releases)"
  assert_true "$1: the journal names the file system and its free space" \
    journal -b -o cat SYSLOG_IDENTIFIER=upgrader UPGRADER_EVENT=failed --grep "$2"
}

publish_big 2 /dev/zero 256
assert_true "the archive is small" test "$(stat -c %s "$RELEASES/demo-2.tar.gz")" -lt $((2 << 20))
refused "256 MiB unpacked" \
  "it unpacks to more than fits: the file system of '/opt/demo/releases[^']*' has [0-9]+ MiB free, of which 3 MiB stay free"

publish_big 3 /dev/urandom 80
refused "an 80 MiB download" \
  "does not fit: the file system of '/opt/demo/releases' has [0-9]+ MiB free, of which 3 MiB stay free"
finish
