# Shared by the package tests and the package_install scenario: finds the
# packages of scripts/package.

# deb_release_tag: the suffix (scripts/package) of the .deb built for the
# release this runs on, as RELEASE names it (Debian 12 when unset).
deb_release_tag() {
  case "${RELEASE:-bookworm}" in
    bookworm) echo deb12 ;;
    trixie) echo deb13 ;;
    *) echo "FAIL: no .deb suffix for RELEASE=$RELEASE" >&2; exit 1 ;;
  esac
}

# package_file DIST_DIR PATTERN: the path of the package in DIST_DIR whose
# name matches PATTERN, or the test ends: skipped (77) when there is none,
# failed when REQUIRE_PACKAGES=1 (as scripts/test sets once it built them).
# No DIST_DIR at all is "no packages", not an error.
package_file() {
  local dist=$1 pattern=$2 found
  found=$(find "$dist" -maxdepth 1 -name "$pattern" 2>/dev/null | head -n 1 || true)
  if [ -n "$found" ]; then
    echo "$found"
    return 0
  fi
  if [ "${REQUIRE_PACKAGES:-0}" = 1 ]; then
    echo "FAIL: no $pattern in $dist, although REQUIRE_PACKAGES=1" >&2
    exit 1
  fi
  echo "skipped: no $pattern in $dist: build the packages with scripts/package" >&2
  exit 77
}

# find_packages DIST_DIR sets deb, dbgsym, rpm (absolute paths) and work (a
# scratch directory removed on exit, and the tools' HOME), or ends the test
# as package_file does.
find_packages() {
  local dist=$1
  # In a command substitution package_file's exit only ends the subshell.
  local tag
  tag=$(deb_release_tag)
  deb=$(package_file "$dist" "upgrader_*+${tag}_*.deb") || exit $?
  dbgsym=$(package_file "$dist" "upgrader-dbgsym_*+${tag}_*.deb") || exit $?
  # The .rpm is built and checked on the host (Debian 12) only.
  rpm=""
  if [ "$(deb_release_tag)" = deb12 ]; then
    rpm=$(package_file "$dist" 'upgrader-[0-9]*.rpm') || exit $?
  fi
  work=$(mktemp -d)
  trap 'rm -rf -- "$work"' EXIT
  # rpm keeps its database in ~ on Debian, lintian its cache: neither
  # writes into root's home (the suite runs these beside test beds that
  # watch it).
  mkdir "$work/home"
  export HOME=$work/home
}
