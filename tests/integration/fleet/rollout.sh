#!/usr/bin/env bash
# Rolling upgrades over five hosts, two instances each (demo and demo2),
# with the Ansible collection (ansible/ansible_collections/upgrader/fleet),
# run on this machine as the
# controller with Debian's ansible-core. Each host is a test bed of its
# own (its own systemd, loopback, sshd and release server; fleet_host.sh),
# reached only through its own loopback: ssh's ProxyCommand is a gate
# script that runs `nsenter -t PID -n nc 127.0.0.1 22` unless the test has
# lost that host.
#
#   rollout.sh BUILD SRC [SCENARIO...]
#
# Scenarios (all of them without arguments):
#   good        a good release rolls to every host: the canary first, then
#               batches; the summary names each host
#   again       a second run of the playbook is changed=0 on every host
#   check       --check with a newer release: changed reported, nothing
#               changed anywhere (versions, nothing fetched)
#   canary      a release that fails health on the canary: the canary is
#               rolled back, the rollout stops, no other host even stopped
#   checksum    one host's download does not match its checksum: the
#               rollout stops before any host stops
#   batch2      a failure on the second batch's host: the rollout stops and
#               the canary, upgraded before it, is rolled back: one version
#   unreachable a host that cannot be reached counts as a failure: nothing
#               is upgraded
#   lost        a host that fetched but is lost before its batch: the
#               rollout stops there and rolls back the two hosts it
#               upgraded before; the hosts after it are not even stopped
#   bench       (not by default; bench/fleet.sh) the rollout's wall time
#               against batches x one host's apply alone, into
#               $FLEET_BENCH_JSON
#
# FLEET_CONTROLLER=SUITE runs ansible-playbook in a chroot of that Debian
# release's root (controller.sh; e.g. trixie: ansible-core 2.19 and its
# openssh), the hosts staying this machine's beds; without the root the
# script exits 77, saying so (1 with REQUIRE_RELEASE_BEDS=1).
# FLEET_STRATEGY=NAME runs the playbooks with that Ansible strategy (e.g.
# mitogen_linear, from Debian's ansible-mitogen, not installed by
# install-deps); FLEET_KEEP=1 keeps the fleet's directory (logs, records).
set -euo pipefail
BUILD=$(realpath "$1") SRC=$(realpath "$2")
shift 2
SCENARIOS=${*:-good again check canary checksum batch2 unreachable lost}
HOSTS=5
export BUILD SRC

for tool in ansible-playbook nc nsenter; do
  command -v "$tool" >/dev/null || {
    echo "skipped: $tool is not installed (scripts/install-deps installs it)"
    exit 77
  }
done
[ -x /usr/sbin/sshd ] || { echo "skipped: openssh-server is not installed (scripts/install-deps)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (test beds)"; exit 77; }

# The controller: this machine's ansible-playbook, or another release's.
controller=()
if [ -n "${FLEET_CONTROLLER:-}" ]; then
  "$SRC/scripts/debian-root" --if-made "$FLEET_CONTROLLER" >/dev/null || {
    # The suite (REQUIRE_RELEASE_BEDS=1) has made it: missing is a failure.
    if [ "${REQUIRE_RELEASE_BEDS:-0}" = 1 ]; then
      echo "FAIL: no $FLEET_CONTROLLER root file system"; exit 1
    fi
    echo "skipped: no $FLEET_CONTROLLER root file system yet (scripts/debian-root $FLEET_CONTROLLER makes it)"
    exit 77
  }
  controller=("$SRC/tests/integration/fleet/controller.sh" "$FLEET_CONTROLLER" "$SRC" "$SRC" "$BUILD" --)
fi

failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
assert_eq() {
  if [ "$2" = "$3" ]; then pass "$1 ($3)"; else fail "$1: expected '$2', got '$3'"; fi
}

FLEET=$(mktemp -d "$BUILD/fleet.XXXXXX")
beds=()
stop_beds() {
  touch "$FLEET/stop"
  local pid
  for pid in "${beds[@]+"${beds[@]}"}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${FLEET_KEEP:-}" ] || rm -rf -- "$FLEET"
}
trap stop_beds EXIT

ssh-keygen -q -t ed25519 -N '' -f "$FLEET/id" -C upgrader-fleet-test
for n in $(seq 1 $HOSTS); do
  "$SRC/tests/testbed/testbed.sh" run --bind "$SRC" --bind "$BUILD" --bind "$FLEET" -- \
    env BUILD="$BUILD" SRC="$SRC" bash "$SRC/tests/integration/fleet/fleet_host.sh" "$FLEET" "$n" \
    >"$FLEET/host$n.log" 2>&1 &
  beds+=($!)
done
deadline=$((SECONDS + 180))
for n in $(seq 1 $HOSTS); do
  until [ -s "$FLEET/host$n.pid1" ]; do
    if ((SECONDS > deadline)) || ! kill -0 "${beds[$((n - 1))]}" 2>/dev/null; then
      echo "host$n did not come up:"; tail -n 30 "$FLEET/host$n.log"; exit 1
    fi
    sleep 0.2
  done
done
echo "== $HOSTS hosts up in ${SECONDS} s"

pid1() { cat "$FLEET/host$1.pid1"; }
# on N COMMAND: runs COMMAND (bash, with lib.sh's functions) inside host N.
on() {
  local n=$1
  shift
  nsenter -t "$(pid1 "$n")" -m -u -i -n -p -r -w -- \
    env BUILD="$BUILD" SRC="$SRC" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "source '$SRC/tests/integration/lib.sh'; $*"
}
# version N: what host N's two instances serve ("2 2").
version() { on "$1" 'echo $(demo_version) $(DEMO_PORT=8082 demo_version)'; }
main_pid() { on "$1" 'echo $(systemctl show -p MainPID --value demo.service) $(systemctl show -p MainPID --value demo2.service)'; }
# fetched N / installed N: the release host N's two instances have
# fetched ahead / installed, from their state ("3 3", "- -" for none).
state_versions() {
  local name
  for name in demo demo2; do
    on "$1" "upgrader --json status $name" |
      python3 -c 'import json,sys
ref = json.load(sys.stdin).get(sys.argv[1]) or {}
print(ref.get("release", ref).get("version", "-"))' "$2"
  done | paste -sd' '
}
fetched() { state_versions "$1" fetched; }   # {"release": {"version": ...}, ...}
installed() { state_versions "$1" installed; } # {"version": ...}
all_hosts() { seq 1 $HOSTS; }

# The way into host N (ssh's ProxyCommand): its own loopback's port 22,
# unless $FLEET/lostN says the host is lost.
cat >"$FLEET/gate" <<'GATE'
#!/bin/sh
# gate FLEET N PID1
[ -e "$1/lost$2" ] && { echo "host$2 is lost (the test says so)" >&2; exit 1; }
exec nsenter -t "$3" -n nc 127.0.0.1 22
GATE
chmod 0755 "$FLEET/gate"
# lose N: host N cannot be reached from now on: new connections are refused
# and the open ones (ssh's control masters, through nc in host N's network
# namespace) are cut.
lose() {
  touch "$FLEET/lost$1"
  local netns pid
  netns=$(readlink "/proc/$(pid1 "$1")/ns/net")
  for pid in $(pgrep -x nc); do
    [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$netns" ] && kill "$pid" 2>/dev/null
  done
  return 0
}
find_again() { rm -f "$FLEET/lost$1"; }

# The inventory: hostN through its own loopback only. A fresh ssh control
# directory per playbook run, so that no connection outlives a scenario.
{
  echo "all:"
  echo "  hosts:"
  for n in $(all_hosts); do
    echo "    host$n:"
    echo "      ansible_ssh_common_args: >-"
    echo "        -o ProxyCommand=\"$FLEET/gate $FLEET $n $(pid1 "$n")\""
    echo "        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
  done
  echo "  vars:"
  echo "    ansible_user: root"
  echo "    ansible_ssh_private_key_file: $FLEET/id"
  echo "    ansible_python_interpreter: /usr/bin/python3"
  echo "    ansible_pipelining: true"
} >"$FLEET/hosts.yml"

# playbook NAME [ANSIBLE-PLAYBOOK ARG]...: runs the collection's rolling
# upgrade over the fleet; its JSON report in $FLEET/NAME.json, its exit
# status in $FLEET/NAME.rc.
playbook() {
  local name=$1 rc=0
  shift
  mkdir -p "$FLEET/cp-$name"
  ANSIBLE_COLLECTIONS_PATH="$SRC/ansible" ANSIBLE_STDOUT_CALLBACK=fleet_json \
    ANSIBLE_CALLBACK_PLUGINS="$SRC/tests/integration/fleet/callback_plugins" \
    ANSIBLE_SSH_CONTROL_PATH_DIR="$FLEET/cp-$name" ANSIBLE_HOST_KEY_CHECKING=false \
    ANSIBLE_LOCAL_TEMP="$FLEET/tmp" ANSIBLE_FORKS=5 ANSIBLE_NOCOLOR=1 \
    "${controller[@]}" ${FLEET_STRATEGY:+env ANSIBLE_STRATEGY=$FLEET_STRATEGY} ansible-playbook -i "$FLEET/hosts.yml" upgrader.fleet.rolling_upgrade \
      -e "{\"upgrader_instances\": $INSTANCES}" "$@" >"$FLEET/$name.json" 2>"$FLEET/$name.err" || rc=$?
  echo "$rc" >"$FLEET/$name.rc"
  echo "   playbook '$name': exit $rc"
  # 0 done, 2 hosts failed; anything else is Ansible's own trouble.
  case $rc in 0 | 2) ;; *) echo "   --- its stderr:"; tail -n 30 "$FLEET/$name.err" ;; esac
}
# report NAME EXPR: a Python expression over the JSON report `r`, printed.
report() {
  python3 - "$FLEET/$1.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
stats = r["stats"]
def task_hosts(play_name, task_name):
    """The hosts of each batch (play entry) that ran the task, in order."""
    out = []
    for p in r["plays"]:
        if p["play"]["name"] != play_name:
            continue
        for t in p["tasks"]:
            if t["task"]["name"].split(" : ")[-1] == task_name:
                out.append(sorted(t["hosts"]))
    return out
def outcomes(task_name):
    """host -> [outcome of each instance] for the task, over all batches."""
    out = {}
    for p in r["plays"]:
        for t in p["tasks"]:
            if t["task"]["name"].split(" : ")[-1] != task_name:
                continue
            for h, res in t["hosts"].items():
                out.setdefault(h, []).extend(
                    x.get("outcome", "unreachable" if x.get("unreachable") else "?")
                    for x in res.get("results", []))
    return out
print(eval(sys.argv[2]))
PY
}
summary_lines() {
  python3 - "$FLEET/$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for p in r["plays"]:
    for t in p["tasks"]:
        if t["task"]["name"].split(" : ")[-1].startswith("From, to, outcome"):
            for res in t["hosts"].values():
                for line in res.get("msg", []):
                    print(line)
PY
}
show_failure() {
  echo "   --- $1: stderr and failed tasks ---"
  tail -n 20 "$FLEET/$1.err"
  python3 - "$FLEET/$1.json" <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))
for p in r["plays"]:
    for t in p["tasks"]:
        for h, res in t["hosts"].items():
            if res.get("failed") or res.get("unreachable"):
                print("  ", p["play"]["name"], "/", t["task"]["name"], "/", h, ":", res.get("msg", "")[:300])
                for item in res.get("results", []):
                    if item.get("failed") or item.get("unreachable"):
                        print("      item", item.get("item"), ":", str(item.get("msg", ""))[:500])
PY
}
# publish_on N VERSION FIXTURE: release VERSION of host N's release server.
publish_on() { on "$1" "publish $2 $3"; }
publish_all() { local n; for n in $(all_hosts); do publish_on "$n" "$1" "$2"; done; }
remember_pids() {
  local n
  for n in $(all_hosts); do
    PIDS[$n]=$(main_pid "$n")
    VERSIONS[$n]=$(version "$n")
  done
}
declare -A PIDS VERSIONS
INSTANCES='["demo", "demo2"]' 

for scenario in $SCENARIOS; do
  echo "== $scenario"
  case $scenario in
    good)
      # Release 2 is on every host's server already (fleet_host.sh).
      playbook good
      assert_eq "good: the playbook succeeds" 0 "$(cat "$FLEET/good.rc")"
      [ "$(cat "$FLEET/good.rc")" = 0 ] || show_failure good
      for n in $(all_hosts); do assert_eq "good: host$n serves 2" "2 2" "$(version "$n")"; done
      assert_eq "good: every host fetched first, in one batch" \
        "[['host1', 'host2', 'host3', 'host4', 'host5']]" \
        "$(report good "task_hosts('Fetch and verify on every host before any stops', 'Fetch ahead')")"
      assert_eq "good: the canary alone, then batches ([1] + [1, 25%] of 5)" \
        "[['host1'], ['host2'], ['host3'], ['host4'], ['host5']]" \
        "$(report good "task_hosts('Upgrade, a canary first, then batches', 'Upgrade through upgrade@NAME.service')")"
      assert_eq "good: each host upgraded" "5" \
        "$(report good "sum(1 for v in outcomes('Upgrade through upgrade@NAME.service').values() if v == ['upgraded', 'upgraded'])")"
      assert_eq "good: the summary has a line per host and instance" "10" "$(summary_lines good | grep -c ': 1 -> 2, upgraded, ')"
      ;;
    again)
      playbook again
      assert_eq "again: the playbook succeeds" 0 "$(cat "$FLEET/again.rc")"
      assert_eq "again: changed=0 on every host" "[0, 0, 0, 0, 0]" \
        "$(report again "[stats['host%d' % n]['changed'] for n in range(1, 6)]")"
      ;;
    check)
      publish_all 3 test_service_v3
      playbook check --check
      assert_eq "check: the playbook succeeds" 0 "$(cat "$FLEET/check.rc")"
      [ "$(cat "$FLEET/check.rc")" = 0 ] || show_failure check
      assert_eq "check: it says each host would change" "[1, 1, 1, 1, 1]" \
        "$(report check "[min(stats['host%d' % n]['changed'], 1) for n in range(1, 6)]")"
      for n in $(all_hosts); do
        assert_eq "check: host$n still serves 2" "2 2" "$(version "$n")"
        assert_eq "check: nothing fetched on host$n" "- -" "$(fetched "$n")"
      done
      ;;
    canary)
      # 3 answers 503 everywhere: the canary's check fails.
      publish_all 3 test_service_v3_never_healthy
      for n in $(all_hosts); do
        on "$n" "conf_set Health TimeoutSec 2s; conf_set Health TimeoutSec 2s /etc/upgrader/demo2.conf"
      done
      remember_pids
      playbook canary
      assert_eq "canary: the playbook fails" 2 "$(cat "$FLEET/canary.rc")"
      assert_eq "canary: host1 was rolled back by upgrader" "{'host1': ['rolled-back', 'rolled-back']}" \
        "$(report canary "outcomes('Upgrade through upgrade@NAME.service')")"
      assert_eq "canary: host1 serves 2" "2 2" "$(version 1)"
      for n in 2 3 4 5; do
        assert_eq "canary: host$n serves 2" "2 2" "$(version "$n")"
        assert_eq "canary: host$n was not even stopped" "${PIDS[$n]}" "$(main_pid "$n")"
      done
      ;;
    checksum)
      # 4 is good, but host3's server sends other bytes than its listing names.
      publish_all 4 test_service_v3
      on 3 "cp \$FIXTURES/test_service_v1 \$RELEASES/test_service-4"
      remember_pids
      playbook checksum
      assert_eq "checksum: the playbook fails" 2 "$(cat "$FLEET/checksum.rc")"
      assert_eq "checksum: host3's fetch of each instance names the mismatch" 2 \
        "$(report checksum "sum('checksum mismatch' in res.get('msg', '') for p in r['plays'] for t in p['tasks'] for h, res in t['hosts'].items() for res in res.get('results', []))")"
      for n in $(all_hosts); do
        assert_eq "checksum: host$n not stopped" "${PIDS[$n]}" "$(main_pid "$n")"
        assert_eq "checksum: host$n serves what it served" "${VERSIONS[$n]}" "$(version "$n")"
      done
      on 3 "rm \$RELEASES/test_service-4; publish 4 test_service_v3"
      ;;
    batch2)
      # 5 is good everywhere but on host2, the second batch, where it
      # never becomes healthy.
      publish_all 5 test_service_v3
      on 2 "rm \$RELEASES/test_service-5; publish 5 test_service_v3_never_healthy"
      remember_pids
      playbook batch2
      assert_eq "batch2: the playbook fails" 2 "$(cat "$FLEET/batch2.rc")"
      assert_eq "batch2: host1 upgraded, host2 rolled back by upgrader" \
        "{'host1': ['upgraded', 'upgraded'], 'host2': ['rolled-back', 'rolled-back']}" \
        "$(report batch2 "outcomes('Upgrade through upgrade@NAME.service')")"
      assert_eq "batch2: the rollout rolled back host1's two instances" "[('host1', 'demo'), ('host1', 'demo2')]" \
        "$(report batch2 "sorted((res['item']['host'], res['item']['name']) for p in r['plays'] for t in p['tasks'] if t['task']['name'].endswith('Roll back the instances this rollout upgraded') for h, x in t['hosts'].items() for res in x.get('results', []) if res.get('outcome') == 'rolled-back-on-request')")"
      for n in $(all_hosts); do assert_eq "batch2: host$n serves 2" "2 2" "$(version "$n")"; done
      for n in 3 4 5; do
        assert_eq "batch2: host$n was not even stopped" "${PIDS[$n]}" "$(main_pid "$n")"
      done
      ;;
    unreachable)
      publish_all 6 test_service_v3
      remember_pids
      lose 4
      playbook unreachable
      find_again 4
      assert_eq "unreachable: the playbook fails" 2 "$(cat "$FLEET/unreachable.rc")"
      assert_eq "unreachable: host4's fetch found it unreachable" True \
        "$(report unreachable "any(res.get('unreachable') for p in r['plays'] for t in p['tasks'] for h, res in t['hosts'].items() if h == 'host4')")"
      assert_eq "unreachable: no host was upgraded" "{}" \
        "$(report unreachable "outcomes('Upgrade through upgrade@NAME.service')")"
      for n in $(all_hosts); do
        assert_eq "unreachable: host$n not stopped" "${PIDS[$n]}" "$(main_pid "$n")"
      done
      ;;
    lost)
      # Every host fetches 9; host3 is lost once host1 has installed it,
      # before host3's batch (the third: host1, host2, host3).
      publish_all 9 test_service_v3
      remember_pids
      (
        deadline=$((SECONDS + 120))
        until [ "$(installed 1)" = "9 9" ]; do
          ((SECONDS < deadline)) || exit 1
          sleep 0.05
        done
        lose 3
      ) &
      watcher=$!
      playbook lost
      lost_rc=0
      wait "$watcher" || lost_rc=$?
      find_again 3
      assert_eq "lost: host3 was lost once host1 had installed 9" 0 "$lost_rc"
      assert_eq "lost: the playbook fails" 2 "$(cat "$FLEET/lost.rc")"
      assert_eq "lost: every host fetched 9" \
        "{'host1': ['fetched', 'fetched'], 'host2': ['fetched', 'fetched'], 'host3': ['fetched', 'fetched'], 'host4': ['fetched', 'fetched'], 'host5': ['fetched', 'fetched']}" \
        "$(report lost "outcomes('Fetch ahead')")"
      assert_eq "lost: host1 and host2 upgraded, host3 unreachable" \
        "{'host1': ['upgraded', 'upgraded'], 'host2': ['upgraded', 'upgraded'], 'host3': ['unreachable', 'unreachable']}" \
        "$(report lost "outcomes('Upgrade through upgrade@NAME.service')")"
      assert_eq "lost: the rollout rolled back host1 and host2" \
        "[('host1', 'demo'), ('host1', 'demo2'), ('host2', 'demo'), ('host2', 'demo2')]" \
        "$(report lost "sorted((res['item']['host'], res['item']['name']) for p in r['plays'] for t in p['tasks'] if t['task']['name'].endswith('Roll back the instances this rollout upgraded') for h, x in t['hosts'].items() for res in x.get('results', []) if res.get('outcome') == 'rolled-back-on-request')")"
      for n in $(all_hosts); do
        assert_eq "lost: host$n serves what it served" "${VERSIONS[$n]}" "$(version "$n")"
      done
      for n in 3 4 5; do
        assert_eq "lost: host$n was not even stopped" "${PIDS[$n]}" "$(main_pid "$n")"
      done
      # What host3 fetched stays staged (it could not be told otherwise);
      # its next run takes it over or drops it.
      assert_eq "lost: host3 keeps what it fetched" "9 9" "$(fetched 3)"
      ;;
    bench)
      # bench/fleet.sh: the rollout's wall time against one host's apply
      # alone (systemctl start upgrade@demo, no Ansible) times the batches.
      publish_all 7 test_service_v3
      for n in $(all_hosts); do on "$n" "conf_set Health TimeoutSec 8s"; done
      on 1 "upgrade_status demo /run/apply-times >/dev/null"
      alone=$(on 1 'read -r b e </run/apply-times; echo $(((e - b) / 1000))')
      assert_eq "bench: host1's demo upgraded alone" 3 "$(version 1 | cut -d' ' -f1)"
      publish_all 8 test_service_v3
      # One instance: the figure is against one apply per host.
      INSTANCES='["demo"]'
      began=${EPOCHREALTIME/./}
      playbook bench
      ended=${EPOCHREALTIME/./}
      INSTANCES='["demo", "demo2"]' 
      assert_eq "bench: the rollout succeeds" 0 "$(cat "$FLEET/bench.rc")"
      [ "$(cat "$FLEET/bench.rc")" = 0 ] || show_failure bench
      batches=$(report bench "len(task_hosts('Upgrade, a canary first, then batches', 'Upgrade through upgrade@NAME.service'))")
      # Where the rest goes: the fetch play, and per batch what the upgrade
      # task took beyond the module's own run on the host (Ansible: the
      # controller's fork, ssh, the module's start); the callback stamps
      # times.
      python3 - "$alone" "$began" "$ended" "$batches" "$FLEET/bench.json" \
        "${FLEET_BENCH_JSON:-$FLEET/bench-result.json}" <<'PY'
import json, statistics, sys
alone, rollout, batches = int(sys.argv[1]), (int(sys.argv[3]) - int(sys.argv[2])) / 1000, int(sys.argv[4])
r = json.load(open(sys.argv[5]))
plays = r["plays"]
fetch = plays[1]["play"]["started"] - plays[0]["play"]["started"]
beyond = [h["_ended"] - t["task"]["started"] - x["seconds"]
          for p in plays for t in p["tasks"] if t["task"]["name"].endswith("Upgrade through upgrade@NAME.service")
          for h in t["hosts"].values() for x in h.get("results", [])]
json.dump({"fleet_apply_alone_ms": alone, "fleet_rollout_ms": round(rollout), "fleet_batches": batches,
           "fleet_fetch_play_ms": round(fetch * 1000),
           "fleet_batch_beyond_module_ms": round(statistics.median(beyond) * 1000),
           "fleet_wall_vs_batches": round(rollout / (batches * alone), 3)}, open(sys.argv[6], "w"))
PY
      echo "   $(cat "${FLEET_BENCH_JSON:-$FLEET/bench-result.json}")"
      ;;
    *) fail "unknown scenario '$scenario'" ;;
  esac
done

echo "== $failures failure(s), ${SECONDS} s"
[ "$failures" = 0 ]
