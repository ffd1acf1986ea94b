#!/usr/bin/env bash
# The .rpm installs the same files as the .deb. What each ecosystem keeps
# in its own place is compared as such: Debian's copyright and changelog
# in /usr/share/doc/upgrader, RPM's licence in /usr/share/licenses (with
# the version in the directory's name on some rpm builds).
#
#   package_payload_test.sh DIST_DIR SOURCE_DIR
set -euo pipefail
dist=$1 src=$2
source "$src/tests/packaging/packages_lib.sh"
find_packages "$dist"

# Files and links only (directories differ by convention: a .deb lists
# every parent, an .rpm only those it owns).
dpkg-deb --fsys-tarfile "$deb" | tar -t -v | awk '$1 !~ /^d/ { print $6 }' |
  sed 's|^\./|/|' | grep -v -x -e /usr/share/doc/upgrader/copyright \
    -e /usr/share/doc/upgrader/changelog.gz | sort >"$work/deb"
rpm -qlpv --noartifact "$rpm" 2>/dev/null | awk '$1 !~ /^d/ { print $9 }' |
  grep -v -x '/usr/share/licenses/upgrader\(-[0-9.]*\)\{0,1\}/LICENSE' | sort >"$work/rpm"

failures=0
if diff -u "$work/deb" "$work/rpm"; then
  echo "ok: the .deb and the .rpm install the same $(wc -l <"$work/deb") files"
else
  echo "FAIL: the .deb (-) and the .rpm (+) install different files"
  failures=1
fi
for must in /usr/bin/upgrader /usr/lib/systemd/system/upgrade@.service \
    /usr/lib/systemd/system/upgrade@.timer \
    /usr/lib/systemd/system/upgrade-fetch@.service \
    /usr/lib/systemd/system-generators/upgrader-generator \
    /usr/lib/systemd/catalog/upgrader.catalog /etc/upgrader/example.conf.sample \
    /usr/share/man/man8/upgrader.8.gz /usr/share/man/man5/upgrader.conf.5.gz \
    /usr/share/man/man8/upgrade@.service.8.gz \
    /usr/share/bash-completion/completions/upgrader \
    /usr/share/doc/upgrader/examples/progressdb/progressdb.conf; do
  if grep -qx -- "$must" "$work/deb"; then
    echo "ok: the packages install $must"
  else
    echo "FAIL: the packages do not install $must"
    failures=1
  fi
done
for must in /usr/share/doc/upgrader/copyright /usr/share/doc/upgrader/changelog.gz; do
  if dpkg-deb -c "$deb" | grep " \.$must\$" >/dev/null; then
    echo "ok: the .deb has $must"
  else
    echo "FAIL: the .deb has no $must"
    failures=1
  fi
done
dpkg-deb -e "$deb" "$work/control"
conffiles=$(cat "$work/control/conffiles")
if [ "$conffiles" = /etc/upgrader/example.conf.sample ]; then
  echo "ok: the example configuration is the .deb's only conffile"
else
  echo "FAIL: the .deb's conffiles are: $conffiles"
  failures=1
fi
if rpm -qcp "$rpm" 2>/dev/null | grep -qx /etc/upgrader/example.conf.sample; then
  echo "ok: the example configuration is %config in the .rpm"
else
  echo "FAIL: the .rpm does not mark the example configuration %config"
  failures=1
fi
exit "$failures"
