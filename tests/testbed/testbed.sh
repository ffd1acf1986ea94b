#!/usr/bin/env bash
# The real-systemd test bed: boots a throwaway systemd as PID 1 in new
# pid/mount/net/uts/ipc/cgroup namespaces over a tmpfs-backed overlay of /
# (or of another root file system), runs one command inside it, and always
# powers it off again.
#
#   testbed.sh run [--root DIR] [--tmpfs DIR]... [--bind DIR]... -- COMMAND [ARG]...
#
# COMMAND runs as root inside the booted system (on its own loopback and
# system bus, with systemctl and journalctl talking to the inner systemd) and
# its exit status is ours. Everything the booted system writes lands in a
# tmpfs and vanishes with it. Overlayfs does not cross mount points, so
# directories on other file systems must be passed with --bind (they are then
# shared, writes included); --tmpfs gives a directory a fresh tmpfs (container
# storage cannot live on the overlay). --root boots another Debian root
# file system (scripts/debian-root makes one) instead of the host's /.
# docs/testbed.md has the recipe and the pitfalls.
#
# Beds run side by side: each gets its own cgroup in every hierarchy of the
# host and a cgroup namespace rooted there, fresh cgroup mounts, and its own
# /dev/shm and /dev/mqueue (Podman keeps its locks in /dev/shm).
#
# Clean-up does not depend on this script ending normally: the booted system
# is killed by the kernel when this script dies, even by SIGKILL (parent-death
# signals on unshare and on PID 1), and its mounts live only in its namespace.
set -euo pipefail

readonly BOOT_TIMEOUT=${TESTBED_BOOT_TIMEOUT:-60}
readonly POWEROFF_TIMEOUT=30

usage() {
  echo "usage: $0 run [--tmpfs DIR]... [--bind DIR]... -- COMMAND [ARG]..." >&2
  exit 2
}

log() { echo "testbed: $*" >&2; }

# ---- inside the new namespaces, before systemd ---------------------------
# Called as `testbed.sh __boot STATEDIR`: becomes PID 1 of the namespace.
boot() {
  local state=$1 root
  root="$state/root"
  mount -t tmpfs -o mode=0755 testbed "$root"
  mkdir -p "$root"/{upper,work,merged}
  local merged=$root/merged lower
  lower=$(cat "$state/lower")
  mount -t overlay overlay \
    -o "lowerdir=$lower,upperdir=$root/upper,workdir=$root/work" "$merged"
  mount -t proc proc "$merged/proc"
  mount --rbind /sys "$merged/sys"
  # The host's cgroup mounts show the whole tree; mounted again inside the
  # cgroup namespace, each shows only this bed's subtree as its root.
  mount -t tmpfs -o mode=0755 cgroup "$merged/sys/fs/cgroup"
  local mnt fstype options
  while read -r mnt fstype options _; do
    mkdir -p "$merged$mnt"
    mount -t "$fstype" -o "$options" cgroup "$merged$mnt"
  done <"$state/cgroups"
  mount --rbind /dev "$merged/dev"
  mount -t tmpfs -o mode=1777 shm "$merged/dev/shm"
  mount -t mqueue mqueue "$merged/dev/mqueue" 2>/dev/null || true
  mount -t tmpfs -o mode=0755 tmpfs "$merged/run"
  mount -t tmpfs -o mode=1777 tmpfs "$merged/tmp"
  local dir
  while read -r dir; do
    [ -n "$dir" ] || continue
    mkdir -p "$merged$dir"
    mount -t tmpfs -o mode=0755 tmpfs "$merged$dir"
  done <"$state/tmpfs"
  while read -r dir; do
    [ -n "$dir" ] || continue
    mkdir -p "$merged$dir"
    mount --rbind "$dir" "$merged$dir"
  done <"$state/bind"

  # A minimal target: the system bus and basic.target, nothing the image
  # enables for a full boot (databases, gettys).
  local units=$merged/etc/systemd/system
  mkdir -p "$units"
  cat >"$units/testbed.target" <<'UNIT'
[Unit]
Description=upgrader test bed
Requires=basic.target dbus.socket
After=basic.target dbus.socket
AllowIsolate=yes
UNIT
  # Nothing here may reach outside the namespace or wait for hardware.
  local unit
  for unit in systemd-udevd.service systemd-udev-trigger.service \
      systemd-udev-settle.service systemd-networkd-wait-online.service \
      systemd-modules-load.service \
      getty.target console-getty.service systemd-timesyncd.service \
      cron.service apt-daily.timer apt-daily-upgrade.timer \
      e2scrub_all.timer fstrim.timer man-db.timer; do
    ln -sf /dev/null "$units/$unit"
  done
  # No timer of the host's either (basic.target pulls timers.target): a
  # daily job firing at midnight (podman-auto-update, dpkg-db-backup) would
  # write where the scenarios watch for writes, and take the CPU.
  for unit in "$merged"/etc/systemd/system/timers.target.wants/*.timer \
      "$merged"/lib/systemd/system/timers.target.wants/*.timer; do
    [ -e "$unit" ] || continue
    ln -sf /dev/null "$units/${unit##*/}"
  done
  echo testbed >"$merged/etc/hostname"
  hostname testbed

  ip link set lo up
  cd "$merged"
  mkdir -p oldroot
  pivot_root . oldroot
  cd /
  umount -l /oldroot
  rmdir /oldroot 2>/dev/null || true
  exec /lib/systemd/systemd --system --unit=testbed.target --show-status=false
}

# ---- on the host ----------------------------------------------------------
pid1=""
unshare_pid=""
state=""

cgroup_dirs=()

# Runs a command inside the booted system, with its namespaces and root, in
# the bed's root cgroup (where the command of a bed always ran).
inside() {
  (
    join_cgroups "$BASHPID"
    exec nsenter -t "$pid1" -m -p -n -u -i -r -w -C -- "$@"
  )
}

# Makes this bed's cgroup in every cgroup hierarchy the host has mounted,
# under the cgroup this script is in, and records how to mount each again
# inside the bed. Reads /proc/self/mountinfo and /proc/self/cgroup.
make_cgroups() {
  local name=$1 line mnt fstype super ctrl ours id ctrls path opt
  while read -r line; do
    mnt=$(cut -d' ' -f5 <<<"$line")
    ours=${line#* - }
    fstype=${ours%% *}
    super=${ours##* }
    case "$fstype" in cgroup | cgroup2) ;; *) continue ;; esac
    case "$mnt" in /sys/fs/cgroup/*) ;; *) continue ;; esac
    # The controllers (or name=) of this hierarchy, as /proc/self/cgroup
    # names them.
    ctrl=""
    if [ "$fstype" = cgroup ]; then
      for opt in ${super//,/ }; do
        case "$opt" in
          name=*) ctrl+="${ctrl:+,}$opt" ;;
          *) grep -qw "^$opt" /proc/cgroups && ctrl+="${ctrl:+,}$opt" ;;
        esac
      done
    fi
    path=""
    while IFS=: read -r id ctrls ours; do
      if [ "$fstype" = cgroup2 ] && [ "$id" = 0 ] && [ -z "$ctrls" ]; then
        path=$ours
      elif [ "$fstype" = cgroup ] && [ -n "$ctrls" ] &&
          [ "$(tr , '\n' <<<"$ctrls" | sort | tr '\n' ,)" = \
            "$(tr , '\n' <<<"$ctrl" | sort | tr '\n' ,)" ]; then
        path=$ours
      fi
    done </proc/self/cgroup
    [ -n "$path" ] || continue
    local dir=$mnt${path%/}/$name
    mkdir "$dir"
    # A new cpuset cgroup has no CPUs or memory nodes until given some.
    local knob
    for knob in cpuset.cpus cpuset.mems; do
      [ -f "$dir/$knob" ] && cat "${dir%/*}/$knob" >"$dir/$knob"
    done
    cgroup_dirs+=("$dir")
    echo "$dir" >>"$state/cgroup-dirs"
    echo "$mnt $fstype $super" >>"$state/cgroups"
  done </proc/self/mountinfo
}

join_cgroups() {
  local dir
  for dir in "${cgroup_dirs[@]+"${cgroup_dirs[@]}"}"; do
    echo "$1" >"$dir/cgroup.procs"
  done
}

# Removes a bed's cgroups, deepest first, once their processes are gone
# (the kernel empties them a moment after PID 1 dies).
remove_cgroups() {
  local list=$1 dir i
  [ -f "$list" ] || return 0
  for ((i = 0; i < 50; i++)); do
    local left=0
    while read -r dir; do
      [ -d "$dir" ] || continue
      find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [ -d "$dir" ] && left=1
    done <"$list"
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  log "could not remove the cgroups listed in $list"
}

poweroff() {
  [ -n "$unshare_pid" ] || return 0
  if kill -0 "$unshare_pid" 2>/dev/null; then
    # systemd as PID 1 ignores SIGTERM; SIGRTMIN+4 is its poweroff request.
    [ -n "$pid1" ] && kill -s SIGRTMIN+4 "$pid1" 2>/dev/null || true
    local i
    for ((i = 0; i < POWEROFF_TIMEOUT * 10; i++)); do
      kill -0 "$unshare_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$unshare_pid" 2>/dev/null; then
      log "systemd did not power off within ${POWEROFF_TIMEOUT}s; killing it"
      [ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null || true
    fi
  fi
  wait "$unshare_pid" 2>/dev/null || true
  unshare_pid=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  poweroff
  if [ -n "$state" ] && [ -d "$state" ]; then
    remove_cgroups "$state/cgroup-dirs"
    # The tmpfs was mounted in the namespace only; the host dir is empty
    # but for our bookkeeping files.
    rm -rf -- "$state"
  fi
  exit "$rc"
}

# Removes what test beds killed without a chance to clean up left on the
# host: their (empty) state directories and their cgroups. Their namespaces
# died with them.
remove_stale_state() {
  local dir owner
  for dir in /tmp/upgrader-testbed.*; do
    [ -d "$dir" ] || continue
    owner=$(cat "$dir/owner" 2>/dev/null || true)
    # No owner yet: a bed starting beside us, unless it is old.
    if [ -z "$owner" ]; then
      [ -n "$(find "$dir" -maxdepth 0 -mmin +1)" ] || continue
    elif kill -0 "$owner" 2>/dev/null; then
      continue
    fi
    remove_cgroups "$dir/cgroup-dirs"
    rm -rf -- "$dir"
  done
}

find_pid1() {
  # unshare --fork: PID 1 of the namespace is unshare's only child.
  local i child
  for ((i = 0; i < 100; i++)); do
    child=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null || true)
    child=${child%% *}
    if [ -n "$child" ]; then
      pid1=$child
      return 0
    fi
    sleep 0.05
  done
  return 1
}

wait_for_boot() {
  local deadline=$((SECONDS + BOOT_TIMEOUT)) status=""
  while ((SECONDS < deadline)); do
    if ! kill -0 "$unshare_pid" 2>/dev/null; then
      log "systemd exited during boot; console:"
      tail -n 40 "$state/console.log" >&2 || true
      return 1
    fi
    status=$(inside systemctl is-system-running 2>/dev/null || true)
    case "$status" in
      running) return 0 ;;
      degraded)
        log "booted degraded; failed units:"
        inside systemctl --failed --no-legend >&2 || true
        return 0
        ;;
    esac
    sleep 0.2
  done
  log "systemd did not finish booting within ${BOOT_TIMEOUT}s (state '$status'); console:"
  tail -n 40 "$state/console.log" >&2 || true
  return 1
}

run() {
  local binds=() tmpfss=() lower=/
  while [ $# -gt 0 ]; do
    case "$1" in
      --root)
        lower=$(realpath "$2")
        [ -x "$lower/lib/systemd/systemd" ] ||
          { log "--root $2: no /lib/systemd/systemd in it"; exit 2; }
        shift 2
        ;;
      --bind)
        # The booted system empties these at boot (systemd-tmpfiles: "D
        # /tmp", and /run): bound in, the host's own would be emptied too.
        # A directory below them is not touched.
        case "$(realpath "$2")" in
          / | /tmp | /run | /var/run)
            log "--bind $2: refused, the booted system would empty the host's $(realpath "$2"); bind a directory below it"
            exit 2
            ;;
        esac
        binds+=("$(realpath "$2")")
        shift 2
        ;;
      --tmpfs) tmpfss+=("$2"); shift 2 ;;
      --) shift; break ;;
      *) usage ;;
    esac
  done
  [ $# -gt 0 ] || usage
  [ "$(id -u)" -eq 0 ] || { log "must run as root"; exit 2; }

  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  remove_stale_state
  state=$(mktemp -d /tmp/upgrader-testbed.XXXXXX)
  echo $$ >"$state/owner"
  mkdir "$state/root"
  printf '%s\n' "${binds[@]+"${binds[@]}"}" >"$state/bind"
  printf '%s\n' "${tmpfss[@]+"${tmpfss[@]}"}" >"$state/tmpfs"
  echo "$lower" >"$state/lower"
  : >"$state/cgroups"
  make_cgroups "${state##*/}"

  local self
  self=$(realpath "$0")
  # --pdeathsig: unshare dies with this script; --kill-child: PID 1 (and so
  # the whole namespace) dies with unshare. No orphaned systemd survives us.
  # unshare runs in the bed's cgroups, so the new cgroup namespace is
  # rooted there.
  (
    join_cgroups "$BASHPID"
    exec setpriv --pdeathsig KILL -- \
      unshare --pid --fork --kill-child=SIGKILL --mount --uts --ipc --net \
        --cgroup --propagation private \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin container=upgrader-testbed \
        bash "$self" __boot "$state" >"$state/console.log" 2>&1
  ) &
  unshare_pid=$!
  find_pid1 || { log "could not find the namespace's PID 1"; exit 1; }
  wait_for_boot || exit 1

  local rc=0
  # The bed's PID 1 as the host sees it: a command that hands it out lets
  # the host reach the bed (nsenter -t PID -n: its loopback; the fleet
  # tests' ssh ProxyCommand).
  export TESTBED_PID1=$pid1
  inside "$@" || rc=$?
  exit "$rc"
}

case "${1:-}" in
  run) shift; run "$@" ;;
  __boot) shift; boot "$@" ;;
  *) usage ;;
esac
