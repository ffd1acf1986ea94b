# Crash safety of a container upgrade, for one engine (ENGINE set by the
# scenario that sources this). The process is killed (_exit, no clean-up,
# as SIGKILL or a power loss would) at every fault point of apply, of a
# rollback and of the pull; the next `upgrader apply` must end with the
# unit serving the old or the new image, healthy, no transaction left, no
# staged file, and no image pulled by the upgrader that nothing pins.
# In the suite a sample of the points is tried (one at each kind of step:
# the pull, the swap, the start, the commit, a revert); every point is the
# test labelled long (FAULT_POINTS=all). Needs a build with
# -DUPGRADER_FAULT_INJECTION=ON.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
needs_fault_injection
HEALTH_TIMEOUT=3s HEALTH_SUCCESSES=1 HEALTH_SETTLE=0
source "$(dirname "${BASH_SOURCE[0]}")/container_setup.sh"
cat >>/etc/upgrader/demo.conf <<'CONF'
[Hooks]
Migrate=true
CONF

# Back to the start: demo.service on 1, no state, no image but 1's.
reset_to_1() {
  systemctl stop demo.service
  rm -rf /var/lib/upgrader/demo
  mkdir -p /var/lib/upgrader/demo
  set_demo_image "$(pinned 1)"
  local v
  for v in 2 3; do
    engine_api "$ENGINE_SOCK" DELETE "/images/$(image_ref "svc:$v")" >/dev/null 2>&1 || true
  done
  systemctl reset-failed demo.service 2>/dev/null || true
  systemctl start demo.service
  wait_for 20 demo_healthy
}

# Every image the upgrader recorded is pinned by image.env or its rollback
# point, and the engine holds nothing of svc:2 or svc:3 that nothing pins.
images_consistent() {
  python3 - "$(pinned_now)" "$(sed -n 's/^UPGRADER_IMAGE=//p' /var/lib/upgrader/demo/image.env.old 2>/dev/null)" <<'PY'
import json, os, sys
def pull_ref(p):
    name, _, digest = p.partition("@")
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return name + "@" + digest if digest else p
pinned = {pull_ref(p) for p in sys.argv[1:] if p}
path = "/var/lib/upgrader/demo/images.json"
record = json.load(open(path))["images"] if os.path.exists(path) else []
bad = [e for e in record if e["state"] != "pulled" or e["reference"] not in pinned]
sys.exit(1 if bad else 0)
PY
}
no_stray_image() {
  local v
  for v in 2 3; do
    if holds "$v" && [ "$(pinned_now)" != "$(pinned "$v")" ]; then return 1; fi
  done
}

# crash_then_apply POINT
crash_then_apply() {
  local point=$1
  reset_to_1
  kill_then_apply "$point"
  assert_true "after '$point': demo.service healthy" wait_for 20 demo_healthy
  local served
  served=$(demo_version)
  assert_true "after '$point': serving 1 or 2 ($served)" \
    test "$served" = 1 -o "$served" = 2
  assert_eq "after '$point': the container runs what image.env pins" \
    "$(api_json "/images/$(pullref_now)/json" | json_field Id)" "$(running_image)"
  assert_eq "after '$point': no transaction left" "" \
    "$(upgrader status demo | grep '^in progress' || true)"
  assert_eq "after '$point': nothing staged" "" \
    "$(ls -A /var/lib/upgrader/demo | grep -v -x -e state.json -e metrics.json -e images.json -e image.env -e image.env.old || true)"
  assert_true "after '$point': every recorded image is pinned" images_consistent
  assert_true "after '$point': no stray image" no_stray_image
}
pullref_now() { pinned_now | sed 's/:[^:@/]*@/@/'; }

APPLY_POINTS=$(fault_points apply)
ROLLBACK_POINTS=$(fault_points rollback)
[ -n "$APPLY_POINTS" ] && [ -n "$ROLLBACK_POINTS" ] || fail "no fault points known"
if [ "${FAULT_POINTS:-sample}" = sample ]; then
  APPLY_POINTS="pulled swapped started committed"
  ROLLBACK_POINTS="rollback-reverted"
fi

# Steps of apply: 1 -> 2, which would succeed.
for point in $APPLY_POINTS; do
  crash_then_apply "$point"
  assert_eq "after '$point': upgraded to 2 in the end" 2 "$(demo_version)"
done

# Steps of a rollback: 1 -> 3, which answers 500.
push_image svc:3 >/dev/null
for point in $ROLLBACK_POINTS; do
  crash_then_apply "$point"
  assert_eq "after '$point': back on 1" 1 "$(demo_version)"
done
finish
