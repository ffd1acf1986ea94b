#!/usr/bin/env bash
# Mode=binary fetched ahead: upgrade-fetch@demo.service (`upgrader fetch
# demo` in upgrade@'s sandbox) downloads and verifies release 2 and keeps
# it staged while v1 serves on, untouched; then
# `systemctl start upgrade@demo` installs it without downloading it again
# (nginx's access log counts the downloads). A fetched release that a newer
# one supersedes goes; a refused fetch leaves nothing. Then the kill sweep
# over a fetch: killed before any mutating call, it has not touched the
# service, and the next run ends on 2 with nothing left over.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../kill_sweep_lib.sh"
setup_demo 1 2
STAGED=$DEMO_DIR/.demo.upgrader-staged

main_pid() { systemctl show -p MainPID --value demo.service; }
fetched_version() {
  upgrader status demo --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("fetched", {}).get("release", {}).get("version", "-"))'
}
sha() { sha256sum <"$1"; }

echo "== fetch 2 (upgrade-fetch@demo.service, in the sandbox), then apply it"
pid=$(main_pid)
assert_true "upgrade-fetch@demo.service: done" systemctl start upgrade-fetch@demo.service
assert_true "its run said what it fetched" \
  journal -b -o cat -u upgrade-fetch@demo.service --grep "fetched 2 \\("
assert_eq "the fetch left the service alone" "$pid" "$(main_pid)"
assert_eq "still serving 1" 1 "$(demo_version)"
assert_eq "release 2 is staged" "$(sha "$FIXTURES/test_service_v2")" "$(sha "$STAGED")"
assert_eq "status: 2 fetched" 2 "$(fetched_version)"
assert_eq "no .old made by a fetch" "" "$(ls -A "$DEMO_DIR" | grep -x demo.old || true)"
assert_eq "downloaded once" 1 "$(release_downloads test_service-2)"
assert_eq "a second fetch: nothing to do" 5 "$(upgrader fetch demo >/dev/null 2>&1; echo $?)"
assert_true "check says it is fetched" \
  bash -c "upgrader check demo 2>&1 | grep -q 'fetched at'"
assert_eq "upgrade@demo: upgraded" 0 "$(upgrade_status demo)"
assert_eq "serving 2" 2 "$(demo_version)"
assert_eq "$DEMO_BIN is v2" "$(sha "$FIXTURES/test_service_v2")" "$(sha "$DEMO_BIN")"
assert_eq "$DEMO_BIN.old is v1" "$(sha "$FIXTURES/test_service_v1")" "$(sha "$DEMO_BIN.old")"
assert_eq "still downloaded once: apply took the fetched release" 1 \
  "$(release_downloads test_service-2)"
assert_true "the journal says it was fetched ahead and read again" \
  journal -b -o cat UPGRADER_EVENT=verified --grep "fetched ahead at .*sha256 .* read again"
assert_eq "status: nothing fetched" - "$(fetched_version)"
assert_eq "no temp files left" "" \
  "$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)"

echo "== a fetched release superseded by a newer one"
publish 3 test_service_v3
assert_eq "fetch 3" 0 "$(upgrader fetch demo >/dev/null 2>&1; echo $?)"
publish 4 test_service_v1
assert_eq "fetch 4" 0 "$(upgrader fetch demo >/dev/null 2>&1; echo $?)"
assert_eq "status: 4 fetched" 4 "$(fetched_version)"
assert_eq "what is staged is 4, not 3" "$(sha "$FIXTURES/test_service_v1")" "$(sha "$STAGED")"
assert_eq "one staged file, no other" "" \
  "$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old -e .demo.upgrader-staged || true)"

echo "== a refused fetch leaves nothing"
# 5 is listed with the digest of another file: the download is refused.
publish 5 test_service_v3
cp "$FIXTURES/test_service_v1" "$RELEASES/test_service-5"
pid=$(main_pid)
rc=0
said=$(upgrader fetch demo 2>&1) || rc=$?
assert_eq "fetch 5: refused" 1 "$rc"
assert_true "the refusal names the URL: $said" \
  grep -q "checksum mismatch for '$RELEASE_URL/test_service-5'" <<<"$said"
assert_eq "the refused fetch left the service alone" "$pid" "$(main_pid)"
assert_eq "status: nothing fetched (4 was superseded)" - "$(fetched_version)"
assert_eq "nothing staged, no temp files" "" \
  "$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)"
rm "$RELEASES"/test_service-[345]
(cd "$RELEASES" && sha256sum test_service-* >SHA256SUMS)
sign_release "$RELEASES/SHA256SUMS"

echo "== the kill sweep over a fetch"
# Every call: a fetch makes few, and each kill costs one short apply.
SWEEP_COMMAND=fetch
KILL_SWEEP_EVERY=1
reset_release() {
  reset_demo_to_v1
  KILLED_PID=$(main_pid)
}
# A killed fetch never touched the service, and never left a transaction.
after_kill() {
  [ "$(main_pid)" = "$KILLED_PID" ] || { echo "demo.service was restarted"; return 1; }
  [ "$(demo_version)" = 1 ] || { echo "not serving 1"; return 1; }
  ! upgrader status demo | grep -q '^in progress' || { echo "a transaction is in progress"; return 1; }
}
files_consistent() {
  [ "$(sha "$DEMO_BIN")" = "$(sha "$FIXTURES/test_service_v$1")" ] ||
    { echo "$DEMO_BIN is not release $1"; return 1; }
  local extra
  extra=$(ls -A "$DEMO_DIR" | grep -v -x -e demo -e demo.old || true)
  [ -z "$extra" ] || { echo "temp files left: $extra"; return 1; }
}
sweep "fetch" 2
finish
