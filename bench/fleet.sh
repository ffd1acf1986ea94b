#!/usr/bin/env bash
# The fleet figure: the collection's rolling upgrade over five test beds
# (tests/integration/fleet/rollout.sh, scenario "bench"), its wall time
# against the number of batches times one host's apply alone
# (`systemctl start upgrade@demo` without Ansible). Runs on the host, which
# is the Ansible controller; each host is a test bed of its own.
#
#   bench/fleet.sh BUILD SRC OUT_JSON
set -euo pipefail
build=$1 src=$2 out=$3
FLEET_BENCH_JSON=$out "$src/tests/integration/fleet/rollout.sh" "$build" "$src" bench >&2
# No .details of its own: the figures are the whole of it.
cp "$out" "$out.details"
