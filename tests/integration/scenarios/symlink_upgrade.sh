#!/usr/bin/env bash
# Mode=symlink: releases are tar.gz archives unpacked into one directory per
# version, and `current` is flipped atomically. A release fetched ahead, a
# failed health check, crashes, pruning beyond KeepReleases=, and the
# Ansible collection's module driving the instance.
source "$(dirname "$0")/../lib.sh"
install_upgrader
start_release_server
make_vendor_key

# minisign's legacy form here; the other scenarios use the default.
publish_tree 1 test_service_v1 -l

# Version 1 installed by hand, as an operator would have.
install_release_1
start_demo_unit /opt/demo/current/bin/service
symlink_demo_config

# 2 fetched ahead: unpacked into its directory while 1 serves on,
# untouched; the upgrade then flips to it without downloading it again.
publish_tree 2 test_service_v2 -l
pid=$(systemctl show -p MainPID --value demo.service)
assert_eq "fetch 2" 0 "$(upgrader fetch demo >/dev/null 2>&1; echo $?)"
assert_eq "fetched: release 2 unpacked" 2 "$(cat /opt/demo/releases/2/VERSION)"
assert_eq "fetched: current -> releases/1 still" /opt/demo/releases/1 \
  "$(readlink /opt/demo/current)"
assert_eq "the fetch left the service alone" "$pid" \
  "$(systemctl show -p MainPID --value demo.service)"
assert_eq "downloaded once" 1 "$(release_downloads demo-2.tar.gz)"
assert_eq "1 -> 2" 0 "$(upgrade_status demo)"
assert_eq "the apply took the fetched release: no second download" 1 \
  "$(release_downloads demo-2.tar.gz)"
assert_eq "v2 serving" 2 "$(demo_version)"
assert_eq "current -> releases/2" /opt/demo/releases/2 "$(readlink /opt/demo/current)"
assert_eq "release 2 complete" 2 "$(cat /opt/demo/releases/2/VERSION)"

publish_tree 3 test_service_v3_never_healthy -l
conf_set Health TimeoutSec 2s
assert_eq "2 -> 3 fails health: rolled back" 3 "$(upgrade_status demo)"
assert_eq "v2 serving" 2 "$(demo_version)"
assert_eq "current -> releases/2 again" /opt/demo/releases/2 "$(readlink /opt/demo/current)"
assert_true "3 quarantined" bash -c "upgrader status demo | grep -q '^quarantined: 3 '"

# Crashes in the middle of an upgrade to 4 end healthy, on 2 or 4 (only in
# a build that can crash on purpose).
publish_tree 4 test_service_v3 -l
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

# A failed downgrade to the version of the rollback point (2, republished
# never healthy): its directory was set aside, not replaced, and comes back
# byte for byte; `upgrader rollback` still goes to it.
echo "the operator's" >/opt/demo/releases/2/note
kept=$(cd /opt/demo/releases/2 && find . -type f -exec sha256sum {} + | sort)
publish_tree 2 test_service_v3_never_healthy -l
conf_set Source Version 2
conf_set Install AllowDowngrade yes
assert_eq "4 -> 2 (republished) fails health: rolled back" 3 "$(upgrade_status demo)"
assert_eq "current -> releases/4 again" /opt/demo/releases/4 "$(readlink /opt/demo/current)"
assert_eq "release 2 as it was" "$kept" \
  "$(cd /opt/demo/releases/2 && find . -type f -exec sha256sum {} + | sort)"
assert_eq "nothing else in releases" "2 4" "$(ls -A /opt/demo/releases | sort -V | paste -sd' ')"
assert_eq "upgrader rollback goes to the kept 2" 0 \
  "$(upgrader rollback demo >/dev/null 2>&1; echo $?)"
assert_eq "v2 serving" 2 "$(demo_version)"

echo "== the Ansible collection's module drives this instance"
conf_unset Source Version
publish_tree 5 test_service_v3 -l
assert_eq "state=fetched: 5 unpacked ahead" "fetched true" \
  "$(fleet_module --field outcome --field changed name=demo state=fetched | paste -sd' ')"
assert_eq "fetched: release 5 unpacked" 5 "$(cat /opt/demo/releases/5/VERSION)"
assert_eq "state=upgraded: 2 -> 5 through upgrade@demo" "upgraded true 2 5 false" \
  "$(fleet_module --field outcome --field changed --field from --field to --field failed name=demo | paste -sd' ')"
assert_eq "current -> releases/5" /opt/demo/releases/5 "$(readlink /opt/demo/current)"
assert_eq "the apply took the fetched release: one download" 1 "$(release_downloads demo-5.tar.gz)"
assert_eq "again: nothing to do, unchanged" "nothing-to-do false" \
  "$(fleet_module --field outcome --field changed name=demo | paste -sd' ')"
assert_eq "state=rolled_back: back to 2" "rolled-back-on-request true 2" \
  "$(fleet_module --field outcome --field changed --field installed name=demo state=rolled_back | paste -sd' ')"
assert_eq "current -> releases/2" /opt/demo/releases/2 "$(readlink /opt/demo/current)"
finish
