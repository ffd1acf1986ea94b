#!/usr/bin/env bash
# Mode=symlink: releases are tar.gz archives unpacked into one directory per
# version, and `current` is flipped atomically. Happy path, a failed health
# check, crashes, and pruning beyond KeepReleases=.
source "$(dirname "$0")/../lib.sh"
install_upgrader
start_release_server

publish_tree() {  # VERSION FIXTURE
  local dir
  dir=$(mktemp -d)
  mkdir -p "$dir/bin"
  cp "$FIXTURES/$2" "$dir/bin/service"
  echo "$1" >"$dir/VERSION"
  tar -C "$dir" -czf "$RELEASES/demo-$1.tar.gz" bin VERSION
  rm -rf "$dir"
  (cd "$RELEASES" && sha256sum demo-*.tar.gz >SHA256SUMS)
}
publish_tree 1 test_service_v1

# Version 1 installed by hand, as an operator would have.
mkdir -p /opt/demo/releases/1/bin
cp "$FIXTURES/test_service_v1" /opt/demo/releases/1/bin/service
ln -s /opt/demo/releases/1 /opt/demo/current
start_demo_unit /opt/demo/current/bin/service
cat >/etc/upgrader/demo.conf <<CONF
[Source]
URL=$RELEASE_URL/demo-@v.tar.gz
ChecksumsURL=$RELEASE_URL/SHA256SUMS
CAFile=$RELEASE_CA
[Install]
Mode=symlink
Path=/opt/demo/current
ReleasesDirectory=/opt/demo/releases
KeepReleases=2
Preflight=@path/bin/service --version
[Target]
Unit=demo.service
[Health]
HTTP=http://127.0.0.1:$DEMO_PORT/healthz
ExpectJSON=status=ok
IntervalSec=100ms
TimeoutSec=8s
CONF

publish_tree 2 test_service_v2
assert_eq "1 -> 2" 0 "$(upgrade_status demo)"
assert_eq "v2 serving" 2 "$(demo_version)"
assert_eq "current -> releases/2" /opt/demo/releases/2 "$(readlink /opt/demo/current)"
assert_eq "release 2 complete" 2 "$(cat /opt/demo/releases/2/VERSION)"

publish_tree 3 test_service_v3_never_healthy
sed -i 's/^TimeoutSec=8s/TimeoutSec=2s/' /etc/upgrader/demo.conf
assert_eq "2 -> 3 fails health: rolled back" 3 "$(upgrade_status demo)"
assert_eq "v2 serving" 2 "$(demo_version)"
assert_eq "current -> releases/2 again" /opt/demo/releases/2 "$(readlink /opt/demo/current)"
assert_true "3 quarantined" bash -c "upgrader status demo | grep -q '^quarantined: 3 '"

# Crashes in the middle of an upgrade to 4 end healthy, on 2 or 4 (only in
# a build that can crash on purpose).
publish_tree 4 test_service_v3
crash_points="stopped swapped started checked"
if [ "${FAULT_INJECTION:-OFF}" != ON ]; then
  echo "skipping the crash points: they need -DUPGRADER_FAULT_INJECTION=ON"
  crash_points=""
fi
for point in $crash_points; do
  kill_then_apply "$point"
  assert_true "after '$point': healthy" wait_for 10 demo_healthy
  assert_eq "after '$point': serving 3 (release 4)" 3 "$(demo_version)"
  assert_eq "after '$point': current -> releases/4" /opt/demo/releases/4 "$(readlink /opt/demo/current)"
  assert_true "after '$point': no staging directories" \
    bash -c '! ls -A /opt/demo/releases | grep -q "^\."'
  # back to 2 for the next round
  upgrader rollback demo >/dev/null 2>&1 || true
  upgrader unquarantine demo >/dev/null 2>&1 || true
done

# KeepReleases=2: 1 and 3 are gone, never the one in service or the
# rollback point.
upgrader apply demo >/dev/null 2>&1 || true
assert_eq "releases kept" "2 4" "$(ls /opt/demo/releases | sort -V | paste -sd' ')"
finish
