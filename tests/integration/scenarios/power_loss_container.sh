#!/usr/bin/env bash
# Mode=container (Docker) at system-call granularity: the upgrader is
# killed right before each mutating system call of an upgrade (2 -> 5) and
# of one rolled back (2 -> 3, answers 500), with /var/lib/upgrader (the
# environment file the unit reads its image from, its rollback point, the
# record of pulls, state.json) on a file system made on a loop device.
# Each point is tried twice:
#   - killed (SIGKILL: the page cache survives): the next run on the live
#     file system must end consistent;
#   - power lost at that instant (a copy of the loop device's backing file,
#     see power_loss.sh): the copy, mounted, must pin a complete image in
#     image.env, keep the rollback point (1) and the image being replaced
#     (2), and parse; a recovery run on it must end consistent.
# Consistent: serving the expected image, healthy, image.env and
# image.env.old pinning what they must, nothing staged, no transaction.
# The engine's own storage is not on the loop device (only the upgrader's
# files are under test). The suite tries every POWER_LOSS_EVERY-th call
# (default 24) on xfs (where a missing fsync shows); POWER_LOSS_EVERY=1 and
# all three file systems is the long form.
source "$(dirname "$0")/../lib.sh"
POWER_LOSS_EVERY=${POWER_LOSS_EVERY:-24}
PL_BINDS=".:/var/lib/upgrader"
PL_FILESYSTEMS="xfs"
source "$(dirname "$0")/../power_loss_lib.sh"

ENGINE=docker HEALTH_TIMEOUT=2s HEALTH_SUCCESSES=1 HEALTH_SETTLE=0
source "$(dirname "$0")/../container_setup.sh"
STATE=/var/lib/upgrader/demo
systemctl stop demo.service

pinned_at() { sed -n 's/^UPGRADER_IMAGE=//p' "$1" 2>/dev/null; }
# aim VERSION: the runs install svc:VERSION (Version=), whatever is newest.
aim() { conf_set Container Version "$1"; }
# forget_new: the engine without the images an attempt pulls (3 and 5),
# so that every point starts alike.
forget_new() {
  local v
  for v in 3 5; do
    engine_api "$ENGINE_SOCK" DELETE "/images/$(image_ref "svc:$v")" >/dev/null 2>&1 || true
  done
}

# make_pristine FS: svc:1 pinned by hand, then upgraded to 2 by the
# upgrader: 2 in service, 1 its rollback point.
make_pristine() {
  local fs=$1 img=$WORK/$1.img
  new_fs "$fs" "$img"
  mount -o loop "$img" "$MNT"
  mkdir -p "$MNT/demo"
  echo "UPGRADER_IMAGE=$(pinned 1)" >"$MNT/demo/image.env"
  umount "$MNT"
  boot "$img"
  wait_for 20 demo_healthy || fail "$fs: svc:1 does not serve"
  aim 2
  upgrader apply demo >/dev/null 2>&1 || fail "$fs: the baseline upgrade 1 -> 2 failed"
  [ "$(pinned_at "$STATE/image.env")" = "$(pinned 2)" ] &&
    [ "$(pinned_at "$STATE/image.env.old")" = "$(pinned 1)" ] ||
    fail "$fs: the baseline is not 2 with 1 as its rollback point"
  halt
}

reset_release() {
  mountpoint -q "$MNT" && halt
  forget_new  # the images an attempt pulled: every point starts alike
  cp --sparse=always "$WORK/$FS.img" "$WORK/work.img"
  boot "$WORK/work.img"
  wait_for 20 demo_healthy
}

# on_disk NEW WHAT: the copy of a power loss, before anything runs on it.
on_disk() {
  local new=$1 what=$2 now committed
  now=$(pinned_at "$STATE/image.env")
  [ "$now" = "$(pinned 2)" ] || [ "$now" = "$(pinned "$new")" ] ||
    { fail "$what: image.env pins '$now', neither 2 nor $new"; return; }
  if [ -e "$STATE/state.json" ] &&
    ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$STATE/state.json" 2>/dev/null; then
    fail "$what: state.json does not parse"
    return
  fi
  committed=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print((d.get("installed") or {}).get("version",""))' \
    "$STATE/state.json" 2>/dev/null || true)
  if [ "$committed" = "$new" ]; then
    [ "$(pinned_at "$STATE/image.env.old")" = "$(pinned 2)" ] ||
      [ "$(pinned_at "$STATE/.image.env.upgrader-replaced")" = "$(pinned 2)" ] ||
      fail "$what: committed, but 2 is not where a rollback takes it from"
  else
    [ "$(pinned_at "$STATE/image.env.old")" = "$(pinned 1)" ] ||
      fail "$what: not committed, and the rollback point pins '$(pinned_at "$STATE/image.env.old")', not 1"
    [ "$now" = "$(pinned 2)" ] || [ "$(pinned_at "$STATE/.image.env.upgrader-replaced")" = "$(pinned 2)" ] ||
      fail "$what: not committed, and 2 is neither in image.env nor where a revert takes it from"
  fi
}

# recovered FINAL OLD WHAT: after one more run (on the copy of a power
# loss, or on the live system after a kill: after_kill).
recovered() {
  local final=$1 old=$2 what=$3 rc=0 extra
  upgrader apply demo >/dev/null 2>&1 || rc=$?
  wait_for 20 demo_healthy || { fail "$what: not healthy after the next run (exit $rc)"; return; }
  [ "$(pinned_at "$STATE/image.env")" = "$(pinned "$final")" ] ||
    fail "$what: image.env pins '$(pinned_at "$STATE/image.env")', not $final (exit $rc)"
  [ "$(running_image)" = "$(held_image "$final")" ] ||
    fail "$what: the container does not run $final's image"
  [ "$(pinned_at "$STATE/image.env.old")" = "$(pinned "$old")" ] ||
    fail "$what: image.env.old pins '$(pinned_at "$STATE/image.env.old")', not $old (exit $rc)"
  extra=$(ls -A "$STATE" | grep -v -x -e state.json -e metrics.json -e images.json -e image.env -e image.env.old || true)
  [ -z "$extra" ] || fail "$what: left behind: $extra"
  [ -z "$(upgrader status demo | grep '^in progress' || true)" ] ||
    fail "$what: a transaction is left in progress"
}

# Killed, the page cache intact: the next run on the live system.
after_kill() { recovered "$@"; }
# The copy of a power loss starts from an engine without what the run
# after the kill pulled.
before_power_on() { forget_new; }

push_image svc:3 >/dev/null  # answers 500
push_image svc:5 >/dev/null  # a good version 3 service
for FS in $FILESYSTEMS; do
  echo "== container on $FS"
  make_pristine "$FS"
  aim 3
  power_sweep "upgrade 2 -> 3, rolled back" 3 2 1
  aim 5
  power_sweep "upgrade 2 -> 5" 5 5 2
done
echo "== $POINTS points in all (container; $FILESYSTEMS)"
finish
