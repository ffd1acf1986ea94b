#!/usr/bin/env bash
# Two concurrent `upgrader apply demo`: one proceeds, the other exits at
# once with "already running".
source "$(dirname "$0")/../lib.sh"
setup_demo 1 2
# A PreStop= that waits for a file holds the first run inside its lock.
cat >>/etc/upgrader/demo.conf <<'CONF'
[Hooks]
PreStop=touch /run/first-in-hook; while [ ! -e /run/go ]; do sleep 0.05; done
CONF
upgrader apply demo >/run/first.out 2>&1 &
first=$!
assert_true "first run reached its hook" wait_for 20 test -e /run/first-in-hook
start=$(date +%s%N)
rc=0
upgrader apply demo >/run/second.out 2>&1 || rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "second run: failed before any change" 1 "$rc"
assert_true "second run says already running" grep -q "already running" /run/second.out
assert_true "second run returned at once (${elapsed_ms} ms)" test "$elapsed_ms" -lt 2000
touch /run/go
rc=0
wait "$first" || rc=$?
assert_eq "first run upgraded" 0 "$rc"
assert_eq "v2 serving" 2 "$(demo_version)"
finish
