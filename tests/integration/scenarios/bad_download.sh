#!/usr/bin/env bash
# Checksum mismatch, truncated download, 404, plain http not allowed: nothing
# changes, the unit is never stopped, no temp file remains, and the error
# names the URL or the key.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../hostile_lib.sh"  # snapshot, temp_files
setup_demo 1 2
pid=$(systemctl show -p MainPID --value demo.service)
v1=$(sha256sum <"$DEMO_BIN")

unchanged() {
  local before
  before=$(snapshot)
  assert_eq "$1: exit status (failed before any change)" 1 "$(upgrade_status demo)"
  assert_eq "$1: nothing written in the watched trees (hostile_lib.sh)" "" \
    "$(snapshot | diff <(echo "$before") - | grep '^[<>]' || true)"
  assert_eq "$1: no temp files anywhere" "" "$(temp_files)"
  assert_eq "$1: same process still serving" "$pid" \
    "$(systemctl show -p MainPID --value demo.service)"
  assert_eq "$1: still v1" 1 "$(demo_version)"
  assert_eq "$1: binary untouched" "$v1" "$(sha256sum <"$DEMO_BIN")"
  assert_eq "$1: no temp files" "" "$(ls -A "$DEMO_DIR" | grep -v -x demo || true)"
  assert_eq "$1: never stopped" 0 \
    "$(journal -b -o cat UPGRADER_EVENT=stopped | wc -l)"
}

# 1. The served file is not what SHA256SUMS says.
cp "$FIXTURES/test_service_v3" "$RELEASES/test_service-2"
unchanged "checksum mismatch"
assert_true "mismatch error names the URL" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "checksum mismatch for '$RELEASE_URL/test_service-2'"

# 2. Truncated: the server sends half the file.
head -c 100000 "$FIXTURES/test_service_v2" >"$RELEASES/test_service-2"
unchanged "truncated download"

# 3. 404: listed in SHA256SUMS but not on the server.
rm "$RELEASES/test_service-2"
unchanged "404"
assert_true "404 error names the URL" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "test_service-2.*404"

# 4. A bad configuration: usage error, named file:line, nothing done.
echo "Bogus=1" >>/etc/upgrader/demo.conf
assert_eq "bad config: exit status" 2 "$(upgrade_status demo)"
assert_true "bad config error names file and line" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "/etc/upgrader/demo.conf:[0-9]+: \\[Health\\] Bogus=: unknown key"
assert_eq "bad config: same process" "$pid" "$(systemctl show -p MainPID --value demo.service)"

# 5. A unit systemd does not know: refused before anything is stopped.
conf_unset Health Bogus
conf_add Target Unit typo.service
cp "$FIXTURES/test_service_v2" "$RELEASES/test_service-2"
assert_eq "unknown unit: failed before any change" 1 "$(upgrade_status demo)"
assert_true "the error names the unit" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "unit 'typo.service' not found"
assert_eq "unknown unit: same process" "$pid" "$(systemctl show -p MainPID --value demo.service)"
assert_eq "unknown unit: no temp files" "" "$(ls -A "$DEMO_DIR" | grep -v -x demo || true)"

# 6. A message with bytes that are not UTF-8 (here a path): --json output
# stays one valid JSON object, the bytes replaced, not an abort.
conf_set Target Unit demo.service
sed "s|^Path=.*|Path=$DEMO_DIR/d\xffemo|" /etc/upgrader/demo.conf >/run/latin1.conf
rc=0
upgrader --json --config /run/latin1.conf apply demo >/run/latin1.json 2>/dev/null || rc=$?
assert_eq "non-UTF-8 path: failed before any change" 1 "$rc"
assert_true "non-UTF-8 path: --json printed valid JSON naming the path" \
  python3 -c 'import json,sys; d=json.load(open("/run/latin1.json", encoding="utf-8")); sys.exit(0 if "d\ufffdemo" in d["message"] else 1)'

# 7. Plain http is refused unless the source allows it: a usage error
# naming the key, nothing fetched, nothing changed; allowed, it upgrades.
conf_set Source URL "$RELEASE_HTTP_URL/test_service-@v"
assert_eq "plain http: refused as a configuration error" 2 "$(upgrade_status demo)"
assert_true "the error names the key and the way out" \
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader --grep "demo.conf:[0-9]+: \\[Source\\] URL=: uses http, which this source does not allow \\(AllowedSchemes=https\\)"
assert_eq "plain http: same process" "$pid" "$(systemctl show -p MainPID --value demo.service)"
conf_set Source AllowedSchemes "https http"
assert_eq "plain http allowed: upgraded" 0 "$(upgrade_status demo)"
assert_eq "plain http allowed: v2 serving" 2 "$(demo_version)"
finish
