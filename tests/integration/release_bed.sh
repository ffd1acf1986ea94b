#!/usr/bin/env bash
# Runs a command in a test bed booted from another Debian release's root
# (scripts/debian-root SUITE), with the upgrader program built for that
# release (release_program.sh: build-SUITE/ of scripts/build-release, or
# the program of that release's .deb in dist/):
#
#   release_bed.sh SUITE SOURCE_DIR BUILD_DIR COMMAND [ARG]...
#
# COMMAND gets BUILD (BUILD_DIR: the host's build, whose static test
# services and benchmark probe run on either release), SRC, RELEASE=SUITE,
# UPGRADER_PROGRAM (what install_upgrader installs) and FAULT_INJECTION
# (ON only for a build of scripts/build-release). Skips (exit 77), saying
# why, when the root or the program is missing, unless
# REQUIRE_RELEASE_BEDS=1 (scripts/test), where that is a failure.
# REQUIRE_PACKAGES is passed on.
set -euo pipefail
suite=$1 src=$2 build=$3
shift 3

missing() {
  if [ "${REQUIRE_RELEASE_BEDS:-0}" = 1 ]; then
    echo "FAIL: $*" >&2
    exit 1
  fi
  echo "skipped: $*"
  exit 77
}

[ "$(id -u)" -eq 0 ] || missing "the test bed needs root"
root=$("$src/scripts/debian-root" --if-made "$suite") ||
  missing "no $suite root file system yet (scripts/debian-root $suite makes it)"
found=$("$src/tests/integration/release_program.sh" "$suite" "$src" 2>&1) ||
  missing "$found"
program=$(sed -n 1p <<<"$found")
fault_injection=OFF
[ "$(sed -n 2p <<<"$found")" = build ] && fault_injection=ON
echo "release_bed: $suite, the program of its $(sed -n 2p <<<"$found") ($program)"

binds=(--bind "$src")
case "$build" in "$src"/*) ;; *) binds+=(--bind "$build") ;; esac
exec "$src/tests/testbed/testbed.sh" run --root "$root" "${binds[@]}" -- \
  env BUILD="$build" SRC="$src" RELEASE="$suite" UPGRADER_PROGRAM="$program" \
  FAULT_INJECTION="$fault_injection" REQUIRE_PACKAGES="${REQUIRE_PACKAGES:-0}" "$@"
