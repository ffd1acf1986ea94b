#!/usr/bin/env bash
# Hostile-input corpus, archives unpacked as a release tree (Mode=symlink;
# docs/hostile-input.md): path traversal, absolute names, symlinks that
# escape or that a later entry is written through, hard links out of the
# tree, device nodes and FIFOs, setuid and setgid bits, a file twice, a
# sparse bomb, an entry name with escape sequences and bytes that are not
# UTF-8. Each refusal is checked by hostile_case (hostile_lib.sh): the
# error names the entry, `current` still names the old release, nothing is
# written outside the staging directory (nor left in it). Then an archive
# with world-writable modes installs with those bits dropped, and a
# state.json naming a path outside the releases directory never gets it
# removed.
source "$(dirname "$0")/../lib.sh"
INSTALL_PATH=/opt/demo/current
source "$(dirname "$0")/../hostile_lib.sh"
install_upgrader
start_release_server
make_vendor_key
mkdir -p /opt/demo/releases/1/bin
cp "$FIXTURES/test_service_v1" /opt/demo/releases/1/bin/service
ln -s /opt/demo/releases/1 /opt/demo/current
start_demo_unit /opt/demo/current/bin/service
cat >/etc/upgrader/demo.conf <<CONF
[Source]
URL=$RELEASE_URL/demo-@v.tar.gz
ChecksumsURL=$RELEASE_URL/SHA256SUMS
CAFile=$RELEASE_CA
MaxUnpackedSize=1G
[Trust]
TrustedKey=demo.pub
[Install]
Mode=symlink
Path=/opt/demo/current
ReleasesDirectory=/opt/demo/releases
Preflight=@path/bin/service --version
[Target]
Unit=demo.service
[Health]
HTTP=http://127.0.0.1:$DEMO_PORT/healthz
ExpectJSON=status=ok
IntervalSec=100ms
TimeoutSec=8s
CONF
config_changed
publish_archive good 2 test_service_v2
assert_eq "baseline: 1 -> 2" 0 "$(upgrade_status demo)"
assert_eq "current -> releases/2" /opt/demo/releases/2 "$(readlink /opt/demo/current)"

# What every refusal says first: which release, from where, and the
# archive (by then a temp file) it was unpacking.
refusal="Failed to stage release 3 from '$RELEASE_URL/demo-3\.tar\.gz' in '/opt/demo/releases/\.3\.upgrader-staging': Refusing to extract '/opt/demo/releases/\.demo-3\.tar\.gz\.[A-Za-z0-9]{6}\.partial': "
# tree_case RECIPE WHAT MESSAGE [how]: demo-3.tar.gz made by RECIPE, refused
# with $refusal and MESSAGE.
tree_case() {
  publish_archive "$1" 3 test_service_v3
  hostile_case "$2" 1 "$refusal$3" "${4:-unit}"
}
tree_case traversal "path traversal" \
  "entry '\.\./\.\./\.\./etc/hostile-traversal' has a '\.\.' component"
tree_case absolute "absolute path" \
  "entry '/etc/hostile-absolute' has an absolute path"
tree_case symlink-absolute "symlink to an absolute path" \
  "entry 'etc' is a symlink to the absolute path '/etc'"
tree_case symlink-escape "symlink climbing out of the tree" \
  "entry 'bin/up' is a symlink to '\.\./\.\./\.\./etc', which leads outside the tree"
tree_case symlink-dotdot-after-name "symlink with '..' after a name" \
  "entry 'bin/up' is a symlink to '\.\./bin/\.\./\.\./\.\.', which has '\.\.' after a name"
tree_case write-through-symlink "an entry written through a symlink" \
  "entry 'lib/planted' would be written through 'lib', which is not a directory"
tree_case hardlink-absolute "hard link to an absolute path" \
  "entry 'bin/passwd' has an absolute path"
tree_case hardlink-escape "hard link out of the tree" \
  "entry 'bin/passwd' has a '\.\.' component"
tree_case hardlink-unknown "hard link to a file not in the archive" \
  "entry 'bin/passwd' is a hard link to 'etc/passwd', not a file extracted before it"
tree_case char-device "character device" "entry 'dev-null' is a character device"
tree_case block-device "block device" "entry 'disk' is a block device"
tree_case fifo "FIFO" "entry 'pipe' is a FIFO"
tree_case setuid "setuid file" "entry 'bin/service' has the setuid or setgid bit"
tree_case setgid-dir "setgid directory" "entry 'share/' has the setuid or setgid bit"
tree_case file-twice "a file twice" "entry 'VERSION' appears twice in the archive"
tree_case sparse-tree "a 2 GiB sparse file" \
  "it unpacks to more than 1073741824 bytes \(MaxUnpackedSize=\)"
for how in unit cli json; do
  tree_case device-weird-name "device named with escapes and bytes not UTF-8 ($how)" \
    "entry '.*(\\\\x1b|\\\\u001b)\]0;owned(\\\\x07|\\\\u0007)(\\\\x1b|\\\\u001b)\[2J' is a character device" \
    "$how"
done

echo "== world-writable modes in the archive: installed without them"
publish_archive world-writable 3 test_service_v3
assert_eq "2 -> 3" 0 "$(upgrade_status demo)"
assert_eq "v3 serving" 3 "$(demo_version)"
assert_eq "modes in the release" "/opt/demo/releases/3 755|/opt/demo/releases/3/VERSION 644|/opt/demo/releases/3/bin 755|/opt/demo/releases/3/bin/service 755|/opt/demo/releases/3/data 755" \
  "$(find /opt/demo/releases/3 -printf '%p %m\n' | sort | paste -sd'|')"
assert_eq "nothing in it writable by group or others" "" \
  "$(find /opt/demo/releases/3 -perm /022)"

echo "== a path in state.json outside the releases directory is never removed"
mkdir -p /srv/canary/sub
echo keep >/srv/canary/sub/file
# An operator's link in the releases directory: "shared/../sub" is
# releases/sub to the eye, /srv/canary/sub to the kernel.
ln -s /srv/canary/sub /opt/demo/releases/shared
for id in /srv/canary /opt/demo/releases/../../../srv/canary \
    /opt/demo/releases/2/.. /opt/demo/releases/shared/../sub; do
  python3 - "$id" <<'PY'
import json, sys
path = "/var/lib/upgrader/demo/state.json"
s = json.load(open(path))
s["transaction"] = {"kind": "upgrade", "step": "staged",
                    "from": s["installed"], "to": {"version": "9", "id": sys.argv[1]},
                    "migrated": False, "blame_new": False,
                    "started": "2026-01-01T00:00:00Z", "failure": ""}
json.dump(s, open(path, "w"))
PY
  before=$(snapshot)
  fp=$(service_fingerprint)
  assert_eq "to.id '$id': the interrupted run is recovered, nothing to do" 5 "$(upgrade_status demo)"
  esc=$(sed 's/\./\\./g' <<<"$id")
  assert_true "to.id '$id': the journal says it refused" \
    journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "refusing to remove '$esc': '$esc' is not a release directory"
  assert_eq "to.id '$id': the service untouched" "$fp" "$(service_fingerprint)"
  assert_eq "to.id '$id': nothing removed or written" "" \
    "$(snapshot | diff <(echo "$before") - | grep '^[<>]' || true)"
  assert_eq "to.id '$id': the transaction is cleared" \
    '{"id": "/opt/demo/releases/3", "version": "3"} False' "$(installed_in_state)"
done
assert_eq "the canary is intact" keep "$(cat /srv/canary/sub/file)"
assert_true "the releases directory is intact" test -d /opt/demo/releases/3/bin
rm /opt/demo/releases/shared
echo "== $hostile_cases hostile cases (and 4 state.json paths), $SECONDS s in the test bed"
finish
