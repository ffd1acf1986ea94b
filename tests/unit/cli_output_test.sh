#!/usr/bin/env bash
# What `upgrader` prints on a terminal (not under systemd), run as it is:
# a failure is said once, not once by the event log and again as the
# outcome; the AllowUnsigned= warning names what vouches for the release
# in each mode. Needs no root and no network: the release server is a
# closed port on 127.0.0.1.
# Usage: cli_output_test.sh UPGRADER
set -euo pipefail
# Not a word into this machine's node_exporter directory.
export UPGRADER_METRICS_DIR=
upgrader=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/conf" "$dir/state" "$dir/run"
echo v1 >"$dir/app"
passes=0 failures=0
check() {  # check WHAT COMMAND...: the command must succeed
  local what=$1
  shift
  if "$@"; then
    echo "ok: $what"
    passes=$((passes + 1))
  else
    echo "FAIL: $what"
    failures=$((failures + 1))
  fi
}

cat >"$dir/conf/bin.conf" <<CONF
[Source]
URL=http://127.0.0.1:1/app-@v
ChecksumsURL=http://127.0.0.1:1/SHA256SUMS
AllowedSchemes=http
[Trust]
AllowUnsigned=yes
[Install]
Mode=binary
Path=$dir/app
[Target]
Unit=app.service
CONF
run() {  # run COMMAND NAME: stderr of the upgrader into $dir/err
  env -u INVOCATION_ID -u JOURNAL_STREAM "$upgrader" --config-dir "$dir/conf" \
    --state-dir "$dir/state" --run-dir "$dir/run" "$1" "$2" >"$dir/out" 2>"$dir/err" || true
}
for command in check apply; do
  run "$command" bin
  check "$command: the failure is said once" \
    test "$(grep -c "Failed to fetch 'http://127.0.0.1:1/SHA256SUMS'" "$dir/err")" = 1
done
check "binary: checksums from the release server vouch" \
  grep -q "only checksums from the release server vouch for them" "$dir/err"

cat >"$dir/conf/img.conf" <<CONF
[Container]
Image=127.0.0.1:1/app:@v
Engine=docker
Socket=/nonexistent/docker.sock
EnvironmentFile=$dir/image.env
[Trust]
AllowUnsigned=yes
[Install]
Mode=container
[Target]
Unit=app.service
CONF
run check img
check "container: the registry's digests vouch" \
  grep -q "only the digests the registry names vouch for them" "$dir/err"
check "container: no word of a release server" \
  bash -c "! grep -q 'release server' '$dir/err'"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
