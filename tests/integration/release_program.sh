#!/usr/bin/env bash
# Prints the path of the upgrader program built for another Debian release:
#
#   release_program.sh SUITE SOURCE_DIR
#
# build-SUITE/upgrader when a full build is there (scripts/build-release
# SUITE, fault injection on), else the program of that release's .deb in
# dist/ (scripts/package), unpacked into build-SUITE-deb/: the program as
# shipped, fault injection off. Exit 1, saying why on stderr, when there is
# neither. RELEASE_PROGRAM=build|deb picks one. The second line says which
# ("build" or "deb").
set -euo pipefail
suite=$1 src=$2
case "$suite" in
  trixie) tag=deb13 ;;
  *) echo "release_program: no .deb suffix for '$suite'" >&2; exit 2 ;;
esac
want=${RELEASE_PROGRAM:-}
build=$src/build-$suite/upgrader
if [ "$want" != deb ] && [ -x "$build" ]; then
  printf '%s\nbuild\n' "$build"
  exit 0
fi
if [ "$want" = build ]; then
  echo "no $build (scripts/build-release $suite makes it)" >&2
  exit 1
fi
deb=$(find "$src/dist" -maxdepth 1 -name "upgrader_*+${tag}_*.deb" 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
  echo "no $suite build ($build: scripts/build-release $suite) and no $suite .deb in $src/dist (scripts/package)" >&2
  exit 1
fi
out=$src/build-$suite-deb
# Unpacked again whenever the .deb is newer than what was unpacked. Tests
# run two at a time and may both get here: one unpacks under a lock, into
# a new directory renamed into place, so no caller sees a half-unpacked
# program.
exec 9<"$deb"
flock 9
if [ ! -x "$out/usr/bin/upgrader" ] || [ "$deb" -nt "$out/usr/bin/upgrader" ]; then
  rm -rf -- "$out.new"
  mkdir -p "$out.new"
  dpkg-deb -x "$deb" "$out.new"
  touch "$out.new/usr/bin/upgrader"
  rm -rf -- "$out"
  mv "$out.new" "$out"
fi
exec 9>&-
printf '%s\ndeb\n' "$out/usr/bin/upgrader"
