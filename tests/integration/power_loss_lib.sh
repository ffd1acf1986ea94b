# The power-loss sweep, shared by scenarios/power_loss*.sh (see
# power_loss.sh for what it shows, and docs/testbed.md for why a copy of a
# loop device's backing file is what a disk holds after a power loss).
# The scenario sets, before sourcing:
#   PL_BINDS        "SUBDIR:TARGET ...": what of the loop device's file
#                   system is bound where (the installed files, the state);
#   PL_FILESYSTEMS  the default of POWER_LOSS_FILESYSTEMS;
# and defines:
#   reset_release            the pristine image of $FS booted, serving;
#   on_disk NEW WHAT         checks the copy of a power loss, booted;
#   recovered FINAL OLD WHAT runs once more and checks the end state;
#   after_kill FINAL OLD WHAT (optional) the same, on the live system right
#                            after the kill (SIGKILL: the page cache kept);
#   before_power_on          (optional) what else a power cycle resets.
# kill_sweep_lib.sh gives mutating_calls (which calls reset_release).
source "$(dirname "${BASH_SOURCE[0]}")/kill_sweep_lib.sh"
for tool in mkfs.ext4 mkfs.xfs mkfs.btrfs; do
  command -v "$tool" >/dev/null || {
    echo "skipped: $tool is not installed (scripts/install-deps installs it)"
    exit 77
  }
done
EVERY=${POWER_LOSS_EVERY:-12}
FILESYSTEMS=${POWER_LOSS_FILESYSTEMS:-$PL_FILESYSTEMS}
WORK=/run/power-loss
MNT=/pl
mkdir -p "$WORK" "$MNT"
POINTS=0

# new_fs FS IMAGE: an empty FS file system of 320 MiB (sparse) in IMAGE.
new_fs() {
  rm -f "$2"
  truncate -s 320M "$2"
  case "$1" in
    ext4) mkfs.ext4 -q -F "$2" ;;
    xfs) mkfs.xfs -q -f "$2" ;;
    btrfs) mkfs.btrfs -q -f "$2" >/dev/null ;;
  esac
}

# boot IMAGE: the file system on IMAGE mounted (its journal replayed) and
# bound as PL_BINDS says, demo.service started as a boot would.
boot() {
  local bind
  mount -o loop "$1" "$MNT"
  for bind in $PL_BINDS; do
    mkdir -p "${bind#*:}"
    mount --bind "$MNT/${bind%%:*}" "${bind#*:}"
  done
  systemctl reset-failed demo.service 2>/dev/null || true
  systemctl start demo.service
}
halt() {
  local bind
  systemctl stop demo.service
  for bind in $PL_BINDS; do umount "${bind#*:}"; done
  umount "$MNT"
}

# power_sweep WHAT NEW FINAL OLD: power lost before every EVERY-th
# mutating call of `upgrader apply demo` from the pristine image; NEW is
# what the run installs, FINAL and OLD what must be in place and the
# rollback point in the end.
power_sweep() {
  local what=$1 new=$2 final=$3 old=$4 calls=() call name nth i=0 rc tried=0
  mapfile -t calls < <(mutating_calls)
  assert_true "$FS, $what: the run makes mutating calls (${#calls[@]})" test "${#calls[@]}" -gt 10
  for call in "${calls[@]}"; do
    i=$((i + 1))
    [ $(((i - 1) % EVERY)) -eq 0 ] || continue
    tried=$((tried + 1))
    read -r name nth <<<"$call"
    reset_release
    rc=0
    strace -qq -o /dev/null -e trace="$name" -e inject="$name:signal=KILL:when=$nth" \
      upgrader apply demo >/dev/null 2>&1 || rc=$?
    # The instant of the power loss: what the loop device has written.
    cp --sparse=always "$WORK/work.img" "$WORK/crash.img"
    if [ "$rc" -ne 137 ]; then
      fail "$FS, $what: before $name #$nth: the run was not killed (exit $rc)"
      continue
    fi
    if declare -F after_kill >/dev/null; then
      after_kill "$final" "$old" "$FS, $what, killed before $name #$nth"
    fi
    halt
    if declare -F before_power_on >/dev/null; then before_power_on; fi
    boot "$WORK/crash.img"
    on_disk "$new" "$FS, $what, power lost before $name #$nth"
    recovered "$final" "$old" "$FS, $what, power lost before $name #$nth"
  done
  POINTS=$((POINTS + tried))
  assert_true "$FS, $what: $tried of ${#calls[@]} points, each consistent" test "$tried" -gt 0
  halt
}
