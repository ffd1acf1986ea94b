#!/usr/bin/env bash
# Runs a command in a test bed booted from another Debian release's root
# (scripts/debian-root SUITE), with the project as that release built it
# (scripts/build-release SUITE, into build-SUITE/):
#
#   release_bed.sh SUITE SOURCE_DIR COMMAND [ARG]...
#
# COMMAND gets BUILD, SRC, FAULT_INJECTION=ON and RELEASE=SUITE, as the
# scenarios expect. Skips (exit 77), saying why, when the root or the build
# is missing, unless REQUIRE_RELEASE_BEDS=1 (scripts/test), where that is a
# failure. REQUIRE_PACKAGES is passed on.
set -euo pipefail
suite=$1 src=$2
shift 2

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
build=$src/build-$suite
[ -x "$build/upgrader" ] ||
  missing "no $suite build in $build (scripts/build-release $suite makes it)"

exec "$src/tests/testbed/testbed.sh" run --root "$root" --bind "$src" -- \
  env BUILD="$build" SRC="$src" FAULT_INJECTION=ON RELEASE="$suite" \
  REQUIRE_PACKAGES="${REQUIRE_PACKAGES:-0}" "$@"
