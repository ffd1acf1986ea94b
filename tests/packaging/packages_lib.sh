# Shared by the package tests: finds the packages of scripts/package.
# find_packages DIST_DIR sets deb, dbgsym, rpm (absolute paths) and work (a
# scratch directory removed on exit), or ends the test: skipped (77) when
# there are none, failed when REQUIRE_PACKAGES=1.
find_packages() {
  local dist=$1
  # No dist/ at all is "no packages", not an error.
  deb=$(find "$dist" -maxdepth 1 -name 'upgrader_*.deb' 2>/dev/null | head -n 1 || true)
  dbgsym=$(find "$dist" -maxdepth 1 -name 'upgrader-dbgsym_*.deb' 2>/dev/null | head -n 1 || true)
  rpm=$(find "$dist" -maxdepth 1 -name 'upgrader-[0-9]*.rpm' 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ] || [ -z "$rpm" ]; then
    if [ "${REQUIRE_PACKAGES:-0}" = 1 ]; then
      echo "FAIL: no .deb and .rpm in $dist, although REQUIRE_PACKAGES=1"
      exit 1
    fi
    echo "skipped: no packages in $dist: build them with scripts/package"
    exit 77
  fi
  work=$(mktemp -d)
  trap 'rm -rf -- "$work"' EXIT
  # rpm keeps its database in ~ on Debian, lintian its cache: neither
  # writes into root's home (the suite runs these beside test beds that
  # watch it).
  mkdir "$work/home"
  export HOME=$work/home
}
