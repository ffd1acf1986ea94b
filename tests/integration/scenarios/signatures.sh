#!/usr/bin/env bash
# Signed releases against the real minisign and a real HTTPS server: a
# SHA256SUMS listing with a bad signature, a signature by an unknown key,
# a valid signature over another file, a truncated, junk or missing
# signature, a listing signed too long ago (MaxAge=) and an older, correctly
# signed listing replayed are each refused with a clear error, the service
# untouched and no temp file left; a second trusted key (rotation) is
# accepted; an unsigned source is refused unless it opts out, and the
# opt-out is logged on every run.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../hostile_lib.sh"  # snapshot, temp_files
setup_demo 1 2

echo "== 1 -> 2, signed"
assert_eq "1 -> 2: upgraded" 0 "$(upgrade_status demo)"
assert_true "the journal names the key that signed SHA256SUMS" \
  journal -b -o cat UPGRADER_EVENT=verified --grep "SHA256SUMS signed by key [0-9A-F]+, trusted comment 'timestamp:[0-9]+"

# A listing the vendor signed once, naming 2.1, then withdrew: kept for the
# replay at the end.
publish 2.1 test_service_v2
mkdir -p /run/replay
cp "$RELEASES/SHA256SUMS" "$RELEASES/SHA256SUMS.minisig" "$RELEASES/test_service-2.1" /run/replay/
rm "$RELEASES/test_service-2.1"
publish 3 test_service_v3
good_signature=$(cat "$RELEASES/SHA256SUMS.minisig")

pid=$(systemctl show -p MainPID --value demo.service)
v2=$(sha256sum <"$DEMO_BIN")
# refused WHAT MESSAGE: failed before any change, nothing left behind, and
# the journal says MESSAGE (a regular expression).
refused() {
  local before
  before=$(snapshot)
  assert_eq "$1: failed before any change" 1 "$(upgrade_status demo)"
  assert_eq "$1: nothing written in the watched trees (hostile_lib.sh)" "" \
    "$(snapshot | diff <(echo "$before") - | grep '^[<>]' || true)"
  assert_eq "$1: no temp files anywhere" "" "$(temp_files)"
  assert_eq "$1: same process still serving" "$pid" \
    "$(systemctl show -p MainPID --value demo.service)"
  assert_eq "$1: still v2" 2 "$(demo_version)"
  assert_eq "$1: binary untouched" "$v2" "$(sha256sum <"$DEMO_BIN")"
  assert_eq "$1: no temp files" "" \
    "$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)"
  assert_eq "$1: nothing downloaded" "" \
    "$(ls -A /var/lib/upgrader/demo | grep -v -x -e state.json -e metrics.json || true)"
  assert_true "$1: the journal says why" \
    journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "$2"
}

echo "== refused: the listing was changed after it was signed"
cp "$RELEASES/SHA256SUMS" /run/sums.good
echo "$(sha256sum <"$FIXTURES/test_service_v3_crash_loop" | cut -d' ' -f1)  test_service-4" \
  >>"$RELEASES/SHA256SUMS"
refused "bad signature" \
  "Refusing '$RELEASE_URL/SHA256SUMS': its signature '$RELEASE_URL/SHA256SUMS.minisig' does not verify: the signature does not match"
cp /run/sums.good "$RELEASES/SHA256SUMS"

echo "== refused: signed by a key nobody trusts"
minisign -G -W -f -p /run/attacker.pub -s /run/attacker.key >/dev/null
minisign -S -s /run/attacker.key -m "$RELEASES/SHA256SUMS" >/dev/null
refused "unknown key" "which is not a trusted key"

echo "== refused: a valid signature, of another file"
cp /run/replay/SHA256SUMS.minisig "$RELEASES/SHA256SUMS.minisig"
refused "signature over another file" "the signature does not match"

echo "== refused: truncated, junk, missing"
printf '%s' "$good_signature" | head -c 80 >"$RELEASES/SHA256SUMS.minisig"
refused "truncated signature" "SHA256SUMS.minisig' is not a minisign signature"
printf '<html>not here</html>\n' >"$RELEASES/SHA256SUMS.minisig"
refused "junk signature" "SHA256SUMS.minisig' is not a minisign signature"
rm "$RELEASES/SHA256SUMS.minisig"
refused "missing signature" "SHA256SUMS.minisig.*404"

echo "== refused: signed longer ago than MaxAge="
sign_release "$RELEASES/SHA256SUMS" -t "$(printf 'timestamp:1000000000\tfile:SHA256SUMS\thashed')"
conf_set Trust MaxAge 30d
refused "a frozen listing" "longer than MaxAge= \\(30 days\\)"
conf_unset Trust MaxAge

echo "== a second trusted key: the vendor rotates"
minisign -G -W -f -p /etc/upgrader/keys/demo-2027.pub -s /run/release-server/demo-2027.key >/dev/null
minisign -S -s /run/release-server/demo-2027.key -m "$RELEASES/SHA256SUMS" >/dev/null
refused "the new key before it is trusted" "which is not a trusted key"
conf_add Trust TrustedKey demo-2027.pub
assert_eq "2 -> 3, signed with the new key" 0 "$(upgrade_status demo)"
assert_eq "v3 serving" 3 "$(demo_version)"

echo "== refused: an older, correctly signed listing replayed"
# Back on 2 by the operator's request; the server then replays the listing
# that named 2.1, signature and all. 2.1 is newer than 2 but older than the
# 3 verified before.
assert_eq "rollback on request" 0 "$(upgrader rollback demo >/dev/null 2>&1; echo $?)"
assert_eq "v2 serving again" 2 "$(demo_version)"
cp /run/replay/* "$RELEASES/"
pid=$(systemctl show -p MainPID --value demo.service)
v2=$(sha256sum <"$DEMO_BIN")
refused "a replayed listing" \
  "refusing to install 2.1: version 3 was verified for this instance before"

echo "== a pinned release without a listing: its own signature"
# Version= and Checksum= pin the bytes; the vendor's signature is over the
# release file itself, test_service-3.minisig. (3 left quarantined by the
# rollback on request: allowed again first.)
assert_eq "3 allowed again" 0 "$(upgrader unquarantine demo 3 >/dev/null 2>&1; echo $?)"
rm -f "$RELEASES/SHA256SUMS" "$RELEASES/SHA256SUMS.minisig"
conf_unset Source ChecksumsURL
conf_set Source Version 3
conf_set Source Checksum "sha256:$(sha256sum <"$RELEASES/test_service-3" | cut -d' ' -f1)"
refused "an unsigned release file" "test_service-3.minisig.*404"
sign_release "$RELEASES/test_service-3"
assert_eq "2 -> 3, the release file signed" 0 "$(upgrade_status demo)"
assert_eq "v3 serving" 3 "$(demo_version)"
assert_true "the journal names the release's signature" \
  journal -b -o cat UPGRADER_EVENT=verified --grep "release signed by key [0-9A-F]+"
conf_unset Source Version
conf_unset Source Checksum
conf_set Source ChecksumsURL "$RELEASE_URL/SHA256SUMS"
cp /run/replay/SHA256SUMS /run/replay/SHA256SUMS.minisig "$RELEASES/"

echo "== unsigned: refused unless the file opts out, then logged every run"
conf_unset Trust TrustedKey
assert_eq "no key, no opt-out: a configuration error" 2 "$(upgrade_status demo)"
assert_true "the error names the file and the way out" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "/etc/upgrader/demo.conf: \\[Trust\\] TrustedKey= \\(or AllowUnsigned=yes\\) is required"
conf_set Trust AllowUnsigned yes
upgrader check demo >/dev/null 2>/run/check.err || true
assert_true "upgrader check warns on the terminal" \
  grep -q 'not verified by signature (AllowUnsigned=yes)' /run/check.err
upgrade_status demo >/dev/null
upgrade_status demo >/dev/null
assert_eq "every run of upgrade@demo warns in the journal" 2 \
  "$(journal -b -o cat -p warning SYSLOG_IDENTIFIER=upgrader --grep 'not verified by signature \(AllowUnsigned=yes\)' | wc -l)"
finish
