#!/usr/bin/env bash
# v3 crash-loops after start: the rollback begins within 2 s of the first
# crash (noticed from systemd's state change, not at the health timeout).
source "$(dirname "$0")/../lib.sh"
setup_demo 1
# Long health timeout: only a prompt crash detection can pass this test.
conf_set Health TimeoutSec 60s
conf_set Health SettleSec 5s
publish 3 test_service_v3_crash_loop

assert_eq "crash loop: rolled back" 3 "$(upgrade_status demo)"
assert_eq "v1 serving" 1 "$(demo_version)"
# Microsecond journal timestamps: the crash, and the upgrader's failure.
timestamps() {
  sed -n 's/.*"__REALTIME_TIMESTAMP" *: *"\([0-9]*\)".*/\1/p' | sed -n 1p
}
crash_us=$(journal -b -u demo.service -o json --grep 'Main process exited' | timestamps)
failed_us=$(journal -b UPGRADER_EVENT=failed -o json | timestamps)
echo "crash at $crash_us, rollback began at $failed_us"
assert_true "both timestamps found" test -n "$crash_us" -a -n "$failed_us"
delay_ms=$(( (failed_us - crash_us) / 1000 ))
assert_true "rollback began ${delay_ms} ms after the crash (< 2000)" \
  test "$delay_ms" -lt 2000 -a "$delay_ms" -ge 0
finish
