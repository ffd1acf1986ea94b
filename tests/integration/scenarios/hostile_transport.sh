#!/usr/bin/env bash
# Hostile-input corpus, transport and listings (docs/hostile-input.md): a
# server that lies, truncates, stalls, drips, loops or redirects where it
# must not, certificates that do not verify, SHA256SUMS listings that are
# malformed, ambiguous or hold hostile bytes, bodies without end, and a URL
# with a password.
# Each is refused with a clear error naming the URL or file at fault, the
# service untouched, nothing written outside the staging directory and no
# temp file left (hostile_case in hostile_lib.sh).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../hostile_lib.sh"
setup_demo 1 2
start_hostile_server
assert_eq "baseline: 1 -> 2 from the release server" 0 "$(upgrade_status demo)"
publish 3 test_service_v3
# Fail fast: one attempt unless a case says otherwise, a stall noticed
# after a second.
conf_set Source Retries 0
conf_set Source LowSpeedTimeoutSec 1s
at() { conf_set Source URL "$1"; }
u3() { echo "$1" | sed 's/@v/3/'; }  # the URL a case's release has

echo "== the release body"
at "$HOSTILE_URL/swap/test_service-@v"
hostile_case "checksum mismatch" 1 \
  "checksum mismatch for '$(u3 "$HOSTILE_URL/swap/test_service-@v")'"
at "$HOSTILE_URL/truncated/test_service-@v"
hostile_case "truncated body, closed cleanly" 1 \
  "checksum mismatch for '$(u3 "$HOSTILE_URL/truncated/test_service-@v")'"
at "$HOSTILE_URL/short-length/test_service-@v"
hostile_case "Content-Length shorter than the file" 1 \
  "checksum mismatch for '$(u3 "$HOSTILE_URL/short-length/test_service-@v")'"
# Retried (the server ignores Range, so each attempt starts over): the
# same lie three times.
conf_set Source Retries 2
at "$HOSTILE_URL/long-length/test_service-@v"
hostile_case "Content-Length longer than the body, retried" 1 \
  "Failed to fetch '$(u3 "$HOSTILE_URL/long-length/test_service-@v")': Transferred a partial file.*after 3 attempts"
conf_set Source Retries 0
conf_set Source MaxSize 8M
at "$HOSTILE_URL/huge-length/test_service-@v"
hostile_case "Content-Length of a petabyte" 1 \
  "Failed to fetch '$(u3 "$HOSTILE_URL/huge-length/test_service-@v")': exceeds MaxSize= \(8388608 bytes\)"
at "$HOSTILE_URL/endless/test_service-@v"
hostile_case "an endless body without Content-Length" 1 \
  "Failed to fetch '$(u3 "$HOSTILE_URL/endless/test_service-@v")': exceeds MaxSize= \(8388608 bytes\)"
conf_unset Source MaxSize
at "$RELEASE_URL/test_service-@v"
conf_set Source ChecksumsURL "$HOSTILE_URL/endless/SHA256SUMS"
hostile_case "an endless listing" 1 \
  "Failed to fetch '$HOSTILE_URL/endless/SHA256SUMS': larger than 4194304 bytes"
conf_set Source ChecksumsURL "$RELEASE_URL/SHA256SUMS"

echo "== slow servers"
at "$HOSTILE_URL/stall/test_service-@v"
hostile_case "stall after the headers" 1 \
  "Failed to fetch '$(u3 "$HOSTILE_URL/stall/test_service-@v")': Timeout was reached \(Operation too slow"
at "$HOSTILE_URL/stall-headers/test_service-@v"
hostile_case "stall before answering" 1 \
  "Failed to fetch '$(u3 "$HOSTILE_URL/stall-headers/test_service-@v")': Timeout was reached \(Operation too slow"
# 4 KiB/s: above the low-speed limit for ever; only the deadline ends it.
conf_set Source DownloadTimeoutSec 3s
at "$HOSTILE_URL/drip/test_service-@v"
hostile_case "drip above the low-speed limit" 1 \
  "Failed to fetch '$(u3 "$HOSTILE_URL/drip/test_service-@v")': not done within 3s \(DownloadTimeoutSec=\)"
conf_unset Source DownloadTimeoutSec

echo "== redirects"
at "$HOSTILE_URL/loop/test_service-@v"
hostile_case "redirect loop" 1 \
  "Failed to fetch '$(u3 "$HOSTILE_URL/loop/test_service-@v")': Number of redirects hit maximum amount"
# The targets are the genuine release: following them would succeed.
conf_set Source AllowedSchemes "https file"
at "$HOSTILE_URL/to-file/test_service-@v"
hostile_case "redirect to file://, even with file allowed" 1 \
  "Failed to fetch '$(u3 "$HOSTILE_URL/to-file/test_service-@v")': refusing the redirect to 'file://$RELEASES/test_service-3'"
conf_set Source AllowedSchemes "https http"
at "$HOSTILE_URL/to-http/test_service-@v"
hostile_case "redirect from https to http, even with http allowed" 1 \
  "Failed to fetch '$(u3 "$HOSTILE_URL/to-http/test_service-@v")': refusing the redirect to '$RELEASE_HTTP_URL/test_service-3'"
conf_unset Source AllowedSchemes

echo "== certificates"
at "$UNTRUSTED_URL/plain/test_service-@v"
hostile_case "certificate from an untrusted CA" 1 \
  "Failed to fetch '$(u3 "$UNTRUSTED_URL/plain/test_service-@v")': SSL peer certificate or SSH remote key was not OK \(SSL certificate problem: unable to get local issuer certificate\)"
at "$WRONG_NAME_URL/plain/test_service-@v"
hostile_case "certificate for another host name" 1 \
  "Failed to fetch '$(u3 "$WRONG_NAME_URL/plain/test_service-@v")': SSL peer certificate or SSH remote key was not OK \(SSL: no alternative certificate subject name matches target host name '127.0.0.1'\)"
at "$RELEASE_URL/test_service-@v"
conf_set Source ChecksumsURL "$UNTRUSTED_URL/plain/SHA256SUMS"
hostile_case "the listing behind an untrusted certificate" 1 \
  "Failed to fetch '$UNTRUSTED_URL/plain/SHA256SUMS': SSL peer certificate"
conf_set Source ChecksumsURL "$RELEASE_URL/SHA256SUMS"

echo "== a URL with a password: never printed, logged or saved"
at "https://mirror:$HOSTILE_SECRET@127.0.0.1:$HOSTILE_PORT/status/403/test_service-@v"
for how in unit cli json; do
  hostile_case "URL password hidden ($how)" 1 \
    "Failed to fetch 'https://mirror:\*\*\*@127.0.0.1:$HOSTILE_PORT/status/403/test_service-3': HTTP 403" "$how"
done
assert_eq "upgrader status shows no password" 0 \
  "$(upgrader status demo | grep -c "$HOSTILE_SECRET" || true)"
conf_set Source AllowedSchemes "https http"
at "http://mirror:$HOSTILE_SECRET@127.0.0.1:$RELEASE_HTTP_PORT/missing/test_service-@v"
hostile_case "plain http URL password hidden" 1 \
  "Failed to fetch 'http://mirror:\*\*\*@127.0.0.1:$RELEASE_HTTP_PORT/missing/test_service-3': HTTP 404"
conf_unset Source AllowedSchemes
at "ftp://mirror:$HOSTILE_SECRET@127.0.0.1/test_service-@v"
hostile_case "URL password in a refused configuration hidden" 2 \
  "/etc/upgrader/demo.conf:[0-9]+: \[Source\] URL=.*ftp://mirror:\*\*\*@127.0.0.1/test_service-@v"
at "$RELEASE_URL/test_service-@v"

echo "== SHA256SUMS listings, correctly signed, with bad lines"
v3=$(sha_of "$RELEASES/test_service-3")
v2=$(sha_of "$RELEASES/test_service-2")
sums=$RELEASE_URL/SHA256SUMS
publish_listing "$v2  test_service-2" "${v3:0:60}  test_service-3"
hostile_case "malformed line" 1 \
  "$sums:2: expected '<64 hex digits>  <file name>' or '<64 hex digits> \*<file name>'"
publish_listing "$v2  test_service-2" "$v3  test_service-3" "$v2  test_service-3"
hostile_case "a file listed twice with different digests" 1 \
  "$sums:3: 'test_service-3' is listed again with a different digest"
publish_listing "$v2  test_service-2" "$v3  ../test_service-3"
hostile_case "a path instead of a file name" 1 \
  "$sums:2: '../test_service-3' is a path, expected a file name"
cp "$RELEASES/test_service-3" "$RELEASES/test_service-03"
publish_listing "$v2  test_service-2" "$v3  test_service-3" "$v3  test_service-03"
hostile_case "two spellings of one version" 1 \
  "versions '(3|03)' and '(3|03)' in '$sums' are equally new"
rm "$RELEASES/test_service-03"
# Bytes that are not UTF-8 and an escape sequence in a listed name: the
# journal and the terminal get them escaped, --json valid UTF-8.
publish_listing "$v2  test_service-2" "$v3  test_service-3" \
  "$v3  "$'\xff\xfe\e]0;owned\a\e[2J/x'
hostile_case "hostile bytes in a listed name (journal)" 1 \
  "$sums:3: '.*\\\\x1b\]0;owned\\\\x07\\\\x1b\[2J/x' is a path"
hostile_case "hostile bytes in a listed name (terminal)" 1 \
  "$sums:3: '.*\\\\x1b\]0;owned\\\\x07\\\\x1b\[2J/x' is a path" cli
hostile_case "hostile bytes in a listed name (--json)" 1 \
  "$sums:3: '.*\]0;owned.*/x' is a path" json
relist 'test_service-*'

echo "== still upgradable: the same configuration with an honest server"
assert_eq "2 -> 3 from the hostile server's honest path" 0 \
  "$(at "$HOSTILE_URL/plain/test_service-@v"; upgrade_status demo)"
assert_eq "v3 serving" 3 "$(demo_version)"
echo "== $hostile_cases hostile cases, $SECONDS s in the test bed"
finish
