#!/usr/bin/env bash
# Power loss at the persistence points of an upgrade and of a rollback, on
# ext4 (data=ordered), xfs and btrfs; Mode=binary, or Mode=symlink with
# POWER_LOSS_MODE=symlink (power_loss_symlink.sh). What is installed (the
# binary's directory, or `current` and the release directories) and
# /var/lib/upgrader live on one file system made on a loop device. The
# upgrader is killed right before one mutating system call (as in the kill
# sweep), and at that instant a copy of the loop device's backing file is
# taken: what the disk would hold after a power loss then (the file
# system's own dirty page cache, data and metadata never written back, is
# not in it). The copy is mounted (its journal replayed) and must hold:
#   - in place, a complete release, old or new, with the right digest;
#   - the rollback point intact: before the commit release 0 (the rollback
#     point before the run) and release 1 (the one being replaced) both
#     complete and where a rollback takes them from; after it, release 1;
#   - a state.json that parses (if there is one).
# Then the copy is "booted" (demo.service started on it) and a recovery run
# must end on the expected release with the expected rollback point,
# nothing temporary left and no transaction in progress.
# The suite tries every POWER_LOSS_EVERY-th call (default 12) on each file
# system; POWER_LOSS_EVERY=1 is the long form (upgrade_power_loss*_full).
source "$(dirname "$0")/../lib.sh"
MODE=${POWER_LOSS_MODE:-binary}
case "$MODE" in
  binary) WHERE=$DEMO_DIR ;;  # the binary's directory
  symlink) WHERE=/opt/demo ;;  # current and releases/
  *) echo "unknown POWER_LOSS_MODE '$MODE'" >&2; exit 1 ;;
esac
PL_BINDS="data:$WHERE state:/var/lib/upgrader"
PL_FILESYSTEMS="ext4 xfs btrfs"
source "$(dirname "$0")/../power_loss_lib.sh"

install_upgrader
start_release_server
make_vendor_key

sha_of() { sha256sum <"$1" | cut -d' ' -f1; }
V0=$(sha_of "$FIXTURES/test_service_v3")  # release 0: a stand-in
V1=$(sha_of "$FIXTURES/test_service_v1")
V2=$(sha_of "$FIXTURES/test_service_v2")
BAD=$(sha_of "$FIXTURES/test_service_v3_http_500")
name_of() {
  case "$1" in
    "$V0") echo "release 0" ;; "$V1") echo "release 1" ;;
    "$V2") echo "release 2" ;; "$BAD") echo "release 3" ;;
    missing) echo "nothing" ;; *) echo "no complete release" ;;
  esac
}
sha_at() { if [ -f "$1" ]; then sha_of "$1"; else echo missing; fi; }

unpublish() { rm -f "$RELEASES"/test_service-* "$RELEASES"/demo-*; }

# --- what a release is, per mode -------------------------------------------
# The releases: 0 (sha V0) came before 1, 1 is installed, 0 its rollback
# point; 2 upgrades well, 3 (BAD) is rolled back.
case "$MODE" in
  binary)
    publish_release() { publish "$1" "$2"; }
    # The release installed by hand, into the new file system at $MNT/data.
    install_by_hand() { install -m 0755 "$FIXTURES/test_service_v3" "$MNT/data/demo"; }
    configure() {
      install_demo_service
      demo_config
    }
    in_place() { sha_at "$DEMO_BIN"; }
    # at_rollback_point SHA: whether SHA is where a rollback takes it from.
    at_rollback_point() { [ "$(sha_at "$DEMO_BIN.old")" = "$1" ]; }
    # being_replaced SHA: whether SHA is where a revert takes it from.
    being_replaced() { [ "$(sha_at "$DEMO_DIR/.demo.upgrader-replaced")" = "$1" ]; }
    leftovers() {
      ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true
      ls -A /var/lib/upgrader/demo | grep -v -x -e state.json -e metrics.json || true
    }
    ;;
  symlink)
    publish_release() { publish_tree "$1" "$2"; }
    install_by_hand() {
      mkdir -p "$MNT/data/releases/0/bin"
      cp "$FIXTURES/test_service_v3" "$MNT/data/releases/0/bin/service"
      echo 0 >"$MNT/data/releases/0/VERSION"
      ln -s /opt/demo/releases/0 "$MNT/data/current"
    }
    configure() {
      # The unit only: there is no release yet to start.
      cat >/etc/systemd/system/demo.service <<UNIT
[Service]
Type=exec
ExecStart=/opt/demo/current/bin/service --port $DEMO_PORT
Restart=on-failure
RestartSec=1s
UNIT
      systemctl daemon-reload
      symlink_demo_config
    }
    # The release a directory holds, if complete.
    release_sha() {
      [ -d "$1" ] && [ -f "$1/VERSION" ] && sha_at "$1/bin/service" || echo missing
    }
    in_place() { release_sha "$(readlink /opt/demo/current)"; }
    # The rollback point is the previous release's directory, by version.
    at_rollback_point() {
      local v
      case "$1" in "$V0") v=0 ;; "$V1") v=1 ;; *) return 1 ;; esac
      [ "$(release_sha "/opt/demo/releases/$v")" = "$1" ]
    }
    being_replaced() { at_rollback_point "$1"; }
    leftovers() {
      ls -A /opt/demo | grep -v -x -e current -e releases || true
      ls -A /opt/demo/releases | grep '^\.' || true
      ls -A /var/lib/upgrader/demo | grep -v -x -e state.json -e metrics.json || true
    }
    ;;
esac

publish_release 0 test_service_v3
publish_release 1 test_service_v1
configure
conf_set Health SettleSec 0
conf_set Health Successes 1
conf_set Health TimeoutSec 2s
systemctl stop demo.service

# make_pristine FS: $WORK/FS.img with release 0 installed by hand, then
# upgraded to 1 by the upgrader: 1 installed, 0 its rollback point.
make_pristine() {
  local fs=$1 img=$WORK/$1.img
  new_fs "$fs" "$img"
  mount -o loop "$img" "$MNT"
  mkdir -p "$MNT/data" "$MNT/state"
  install_by_hand
  umount "$MNT"
  boot "$img"
  wait_for 10 demo_healthy || fail "$fs: release 0 does not serve"
  upgrader apply demo >/dev/null 2>&1 || fail "$fs: the baseline upgrade 0 -> 1 failed"
  [ "$(in_place)" = "$V1" ] && at_rollback_point "$V0" ||
    fail "$fs: the baseline is not release 1 with 0 as its rollback point"
  halt
}

# The scenario's part of kill_sweep_lib: the pristine image, booted.
reset_release() {
  mountpoint -q "$MNT" && halt
  cp --sparse=always "$WORK/$FS.img" "$WORK/work.img"
  boot "$WORK/work.img"
  wait_for 10 demo_healthy
}

# on_disk NEW WHAT: what a power loss left on the copy now booted.
on_disk() {
  local new=$1 what=$2 now state committed
  now=$(in_place)
  case "$now" in
    "$V1" | "$new") ;;
    *) fail "$what: in place is $(name_of "$now"), not release 1 or the new one"; return ;;
  esac
  state=$MNT/state/demo/state.json
  if [ -e "$state" ] && ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$state" 2>/dev/null; then
    fail "$what: state.json does not parse ($(stat -c %s "$state") bytes)"
    return
  fi
  committed=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print((d.get("installed") or {}).get("version",""))' \
    "$state" 2>/dev/null || true)
  if [ "$committed" = 2 ] && [ "$new" = "$V2" ]; then
    [ "$now" = "$new" ] || fail "$what: committed, but release 1 is in place"
    at_rollback_point "$V1" || being_replaced "$V1" ||
      fail "$what: committed, but release 1 is not where a rollback takes it from"
  else
    at_rollback_point "$V0" ||
      fail "$what: not committed, and release 0 is no longer the rollback point"
    [ "$now" = "$V1" ] || being_replaced "$V1" ||
      fail "$what: not committed, and release 1 is neither in place nor where a revert takes it from"
  fi
}

# recovered FINAL OLD WHAT: after a boot of the copy and one run.
recovered() {
  local final=$1 old=$2 what=$3 rc=0 extra
  upgrader apply demo >/dev/null 2>&1 || rc=$?
  wait_for 10 demo_healthy || { fail "$what: not healthy after the recovery run (exit $rc)"; return; }
  [ "$(in_place)" = "$final" ] ||
    fail "$what: after recovery $(name_of "$(in_place)") is in place (exit $rc)"
  at_rollback_point "$old" ||
    fail "$what: after recovery $(name_of "$old") is not the rollback point (exit $rc)"
  extra=$(leftovers)
  [ -z "$extra" ] || fail "$what: left behind: $extra"
  [ -z "$(upgrader status demo | grep '^in progress' || true)" ] ||
    fail "$what: a transaction is left in progress"
}

for FS in $FILESYSTEMS; do
  echo "== $MODE on $FS"
  unpublish
  publish_release 0 test_service_v3
  publish_release 1 test_service_v1
  make_pristine "$FS"
  publish_release 2 test_service_v2
  power_sweep "upgrade 1 -> 2" "$V2" "$V2" "$V1"
  publish_release 3 test_service_v3_http_500
  power_sweep "upgrade 1 -> 3, rolled back" "$BAD" "$V1" "$V0"
done
echo "== $POINTS power losses in all ($MODE; $FILESYSTEMS)"
finish
