#!/usr/bin/env bash
# Runs a command (the fleet tests' ansible-playbook) with another Debian
# release's userland as the Ansible controller: in a chroot of that
# release's root file system (scripts/debian-root SUITE), on a throwaway
# overlay so the cached root stays as it was, with the host's /proc, /dev
# and /sys (ssh's ProxyCommand enters each host's network namespace by the
# host's PIDs) and the given directories bound at their own paths.
#
#   controller.sh SUITE SRC DIR... -- COMMAND [ARG]...
#
# The environment passes through. Exits 77, saying why, without the root.
set -euo pipefail
suite=$1 src=$2
shift 2
binds=()
while [ "$1" != -- ]; do binds+=("$(realpath "$1")"); shift; done
shift
root=$("$src/scripts/debian-root" --if-made "$suite") || {
  echo "skipped: no $suite root file system yet (scripts/debian-root $suite makes it)"
  exit 77
}
# A mount namespace of its own: every mount below goes with it; the mount
# point it leaves on the host is removed after.
top=$(mktemp -d /tmp/fleet-controller.XXXXXX)
trap 'rmdir "$top"' EXIT
unshare --mount --propagation private -- bash -s -- "$top" "$root" "${#binds[@]}" "${binds[@]}" "$@" <<'IN_NS'
set -euo pipefail
top=$1 root=$2 nbinds=$3
shift 3
binds=("${@:1:$nbinds}")
shift "$nbinds"
mount -t tmpfs -o mode=0755 controller "$top"
mkdir "$top/upper" "$top/work" "$top/merged"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$top/upper,workdir=$top/work" "$top/merged"
for dir in proc dev sys; do mount --rbind "/$dir" "$top/merged/$dir"; done
for dir in "${binds[@]}"; do
  mkdir -p "$top/merged$dir"
  mount --bind "$dir" "$top/merged$dir"
done
mount -t tmpfs -o mode=1777 tmp "$top/merged/tmp"
exec chroot "$top/merged" "$@"
IN_NS
