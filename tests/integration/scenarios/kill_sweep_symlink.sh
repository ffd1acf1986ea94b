#!/usr/bin/env bash
# Mode=symlink, killed right before each mutating system call of an upgrade
# that succeeds (release 1 -> 2: extract, flip `current`, prune) and of one
# rolled back (1 -> 3, never healthy: flip back, then delete the failed
# release directory, where issue 9's defect 11 was: a half-deleted release
# left under its own name). The next run ends healthy on the expected
# release, `current` pointing at a complete release directory, no
# transaction in progress, no temp or half-deleted directory. See
# kill_sweep_lib.sh.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../kill_sweep_lib.sh"
install_upgrader
start_release_server
make_vendor_key

reset_release() {
  systemctl stop demo.service
  install_release_1
  systemctl reset-failed demo.service 2>/dev/null || true
  systemctl start demo.service
  wait_for 10 demo_healthy
}

# Release 2 and 3 are both "version 2" and "never healthy" fixtures; what
# the service reports is its fixture's version, the directory's VERSION
# file says which release it is.
files_consistent() {
  local target extra
  target=$(readlink /opt/demo/current)
  [ -f "$target/VERSION" ] && [ -x "$target/bin/service" ] ||
    { echo "current -> '$target', not a complete release"; return 1; }
  [ "$(sha256sum <"$target/bin/service")" = "$(sha256sum <"$FIXTURES/test_service_v$1")" ] ||
    { echo "current -> '$target', not release $1"; return 1; }
  extra=$(ls -A /opt/demo/releases | grep -v -x -e 1 -e 2 -e 3 || true)
  [ -z "$extra" ] || { echo "left in releases/: $extra"; return 1; }
  local d
  for d in /opt/demo/releases/*; do
    [ -f "$d/VERSION" ] && [ -x "$d/bin/service" ] ||
      { echo "a half-deleted or partial release directory: $d"; return 1; }
  done
}

publish_tree 1 test_service_v1
publish_tree 2 test_service_v2
install_release_1
start_demo_unit /opt/demo/current/bin/service
symlink_demo_config
# Many rollbacks, each failing the check at its timeout: short.
conf_set Health TimeoutSec 2s

echo "== 1 -> 2, which succeeds"
sweep "upgrade" 2

echo "== 1 -> 3, never healthy, rolled back and its directory deleted"
publish_tree 3 test_service_v3_never_healthy
sweep "rollback" 1
finish
