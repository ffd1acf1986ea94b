#!/usr/bin/env bash
# Mode=binary, killed right before each mutating system call (rename, link,
# unlink, mkdir, rmdir, fsync, truncate, chmod, chown) of an upgrade that
# succeeds (v1 -> v2) and of one rolled back (v1 -> v3, which answers 500):
# the next run ends healthy on the expected version, the binary the one
# serving, no transaction in progress, no temp file. The named fault points
# (fault_injection.sh) cover the steps of the transaction; this covers
# every mutating call between them. See kill_sweep_lib.sh.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../kill_sweep_lib.sh"
setup_demo 1 2
# v3's 500s fail the check at its timeout: short, as there are many.
conf_set Health SettleSec 0
conf_set Health Successes 1
conf_set Health TimeoutSec 2s

reset_release() { reset_demo_to_v1; }

files_consistent() {
  [ "$(sha256sum <"$DEMO_BIN")" = "$(sha256sum <"$FIXTURES/test_service_v$1")" ] ||
    { echo "$DEMO_BIN is not release $1"; return 1; }
  local extra
  extra=$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)
  [ -z "$extra" ] || { echo "temp files left: $extra"; return 1; }
}

echo "== v1 -> v2, which succeeds"
sweep "upgrade" 2

echo "== v1 -> v3, which answers 500 and is rolled back"
publish 3 test_service_v3_http_500
sweep "rollback" 1
finish
