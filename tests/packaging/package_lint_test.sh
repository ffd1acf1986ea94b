#!/usr/bin/env bash
# The packages scripts/package built are clean for their ecosystems' linters:
#   lintian on the .deb: no error, and no warning that packaging/README.md
#     does not justify (a line "- `TAG`: why");
#   rpmlint on the .rpm, with packaging/rpm/rpmlint.toml: no error.
# With RELEASE=trixie (in a Debian 13 test bed, tests/integration/
# release_bed.sh) the Debian 13 .deb, by that release's lintian.
#
#   package_lint_test.sh DIST_DIR SOURCE_DIR
# Skipped when DIST_DIR holds no package, unless REQUIRE_PACKAGES=1 (as
# scripts/test sets after building them): then that is a failure.
set -euo pipefail
dist=$1 src=$2
source "$src/tests/packaging/packages_lib.sh"
find_packages "$dist"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Only the lintian section's lines count: the rpmlint section below it
# explains rpmlint's tags the same way.
justified=$(sed -n '/^## Lintian warnings, justified/,/^## /s/^- `\([a-z0-9-]*\)`: .*/\1/p' \
  "$src/packaging/README.md" | sort -u)
# --fail-on none: the tags below say what is wrong; a non-zero status
# means lintian itself did not run through, which must not pass as clean.
rc=0
lintian --fail-on none --display-info --tag-display-limit 0 "$deb" "$dbgsym" \
  >"$work/lintian.out" 2>&1 || rc=$?
sed 's/^/    lintian: /' "$work/lintian.out"
[ "$rc" -eq 0 ] || fail "lintian did not run through (exit status $rc)"
errors=$(grep -c '^E: ' "$work/lintian.out" || true)
[ "$errors" -eq 0 ] && echo "ok: lintian reports no error" ||
  fail "lintian reports $errors error(s)"
while read -r tag; do
  [ -n "$tag" ] || continue
  if grep -qx -- "$tag" <<<"$justified"; then
    echo "ok: lintian warning $tag is justified in packaging/README.md"
  else
    fail "lintian warning $tag is not justified in packaging/README.md"
  fi
done < <(sed -n 's/^W: [^:]*: \([a-z0-9-]*\).*/\1/p' "$work/lintian.out" | sort -u)

if [ -z "$rpm" ]; then
  echo "ok: lintian of ${RELEASE:-bookworm} checked; the .rpm is checked on the host"
  [ "$failures" -eq 0 ] || exit 1
  exit 0
fi
rpmlint -c "$src/packaging/rpm/rpmlint.toml" "$rpm" >"$work/rpmlint.out" 2>&1 || true
sed 's/^/    rpmlint: /' "$work/rpmlint.out"
summary=$(grep -E '[0-9]+ packages? and [0-9]+ specfiles? checked' "$work/rpmlint.out" || true)
if [ -z "$summary" ]; then
  fail "rpmlint did not run to its summary"
elif grep -qE '(^|; )0 errors' <<<"$summary"; then
  echo "ok: rpmlint reports no error ($summary)"
else
  fail "rpmlint reports errors ($summary)"
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all checks held"
