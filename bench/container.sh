#!/usr/bin/env bash
# Container upgrades against `podman auto-update`, side by side on equivalent
# Podman units, and downtime against a bare restart. Runs INSIDE the test
# bed, like downtime.sh, with container storage on a tmpfs:
#
#   tests/testbed/testbed.sh run --tmpfs /var/lib/containers --bind SRC \
#     --bind BUILD --bind OUTDIR -- \
#     env BUILD=BUILD SRC=SRC BENCH_SMOKE=0|1 bash SRC/bench/container.sh OUTDIR/container.json
#
# Set-up (tests/integration/container_lib.sh): the Distribution registry on
# https://127.0.0.1:5000 (test CA, no auth), podman.socket, and two units
# that differ only in what picks their image:
#   demo.service            the upgrader's: what `podman generate systemd
#                           --new` writes, reading UPGRADER_IMAGE from
#                           /var/lib/upgrader/demo/image.env (container_lib's
#                           _ct_demo_unit_podman), on 127.0.0.1:8080;
#   container-auto.service  written by `podman generate systemd --new --name
#                           auto` from a container created with
#                           --label io.containers.autoupdate=registry from
#                           127.0.0.1:5000/svc:latest, on 127.0.0.1:8081.
#
# Measures, RUNS=5 times each (BENCH_SMOKE=1: once), interleaved (the order
# reversed every other run):
#   upgrader  `systemctl start upgrade@demo`: svc:K -> svc:K+1, wall time
#             (until the oneshot is done) and downtime;
#   auto      `podman auto-update` after a new image was pushed to
#             svc:latest, wall time and downtime;
#   restart   `systemctl restart demo.service`: the downtime floor.
# Wall time is the clock read just before and just after the command alone
# (bash's EPOCHREALTIME, no fork), the same on every side: reading the
# upgrader's exit status from the journal is outside it.
# Downtime is what bench/http_probe sees (GET /healthz every 2 ms): the
# longest window from the last success before failures to the first
# success after them.
#
# Fairness:
# - Every run is a real upgrade to an image neither engine holds: each image
#   is the test service with a few distinct bytes appended (what it runs
#   is unchanged, its layer and digest are new), the same size on both
#   sides, pushed before the run. The upgrader follows numbered tags
#   (Image=127.0.0.1:5000/svc:@v; "latest" sorts below every number, so it
#   never picks that tag), auto-update follows svc:latest.
# - podman auto-update checks no health at all: it returns once systemd
#   reports the restarted unit started (Type=notify: conmon says the
#   container runs). The upgrader also waits for /healthz to answer
#   status=ok, with the health check an operator would write, made fast
#   (IntervalSec=20ms, Successes=1, SettleSec=0). The comparison favours
#   auto-update.
# - Each side runs as it does in service: auto-update is the podman CLI
#   (libpod in-process); the upgrader talks to the Engine API of
#   podman.service, which Debian's unit runs with the default idle timeout
#   (5 s), so a daily upgrade finds it exited and the socket starts it
#   again. Before each upgrader run podman.service is stopped (the socket
#   stays): the state the idle timeout leaves, without waiting for it.
# - The upgrader removes images beyond KeepImages= after its commit, inside
#   its timed run; auto-update leaves the old image (Debian's
#   podman-auto-update.service prunes afterwards, untimed here).
#   KeepImages=2 and two untimed warm-up upgrades reach the steady state
#   sooner: every timed upgrade removes exactly one image. auto-update gets
#   one warm-up too (page cache, first pull into the storage). The smoke
#   run skips the warm-ups: its first runs are slower, its figures
#   meaningless anyway.
#
# Then, once and untimed, an image whose /healthz answers 500 (fixture
# test_service_v3_http_500): pushed to svc:latest for `podman auto-update`
# and as the next tag for the upgrader; what each does is written as
# strings to OUT_JSON.details (http_500_podman_auto_update,
# http_500_upgrader).
#
# Writes OUT_JSON (flat, numbers only): container_upgrade_ms,
# podman_auto_update_ms (medians of wall time), container_upgrade_vs_podman_auto_update
# (median of per-pair ratios), container_downtime_ms,
# container_restart_downtime_ms, container_downtime_vs_restart
# (median/median, as downtime.sh), podman_auto_update_downtime_ms,
# container_runs; OUT_JSON.details (per run: times, probe summary, journal
# timeline of the units' and the upgrader's steps); a summary on stderr.
set -euo pipefail

OUT_JSON=${1:?usage: container.sh OUT_JSON (inside the test bed; needs BUILD and SRC)}
# shellcheck source=../tests/integration/lib.sh
source "$SRC/tests/integration/lib.sh"
# shellcheck source=../tests/integration/container_lib.sh
source "$SRC/tests/integration/container_lib.sh"

RUNS=${RUNS:-5}
[ "${BENCH_SMOKE:-0}" = 1 ] && RUNS=1
PROBE=$BUILD/bench/http_probe
SVC=$REGISTRY/svc
AUTO_UNIT=container-auto.service
AUTO_PORT=8081
# BENCH_QUADLET=1 (Debian 13, Podman 5): both sides are Quadlet units with
# Notify=healthy and the same HealthCmd= (the image's own probe), as Podman
# 5 users run auto-update; then also the bad image's day 1 and day 2.
# Every key written gets BENCH_SUFFIX (e.g. _trixie).
QUADLET=${BENCH_QUADLET:-0}
SUFFIX=${BENCH_SUFFIX:-}
[ "$QUADLET" = 1 ] && AUTO_UNIT=auto.service
WORK=$(mktemp -d /tmp/container-bench.XXXXXX) # the test bed's /tmp: gone at power-off
RESULTS=$WORK/results.tsv                    # KIND RUN LABEL BEGIN_US END_US PROBE_JSON EXTRA
SETUP_LOG=$WORK/setup.log                    # container_lib's progress, shown on failure
: >"$RESULTS"
bench_started=$SECONDS

die() {
  echo "container.sh: $*" >&2
  if [ -s "$SETUP_LOG" ]; then
    echo "== set-up log:" >&2
    tail -n 20 "$SETUP_LOG" >&2
  fi
  echo "== the journal's last lines:" >&2
  journalctl --sync
  journalctl -b --no-pager -o short-precise -n 80 >&2 || true
  exit 1
}
log() { echo "container: $*" >&2; }
# shellcheck source=probe_lib.sh
source "$SRC/bench/probe_lib.sh"

rm -f "$OUT_JSON" "$OUT_JSON.details"
[ -x "$PROBE" ] || die "$PROBE missing: cmake --build BUILD --target http_probe"

# ---- the probe (probe_lib.sh) ---------------------------------------------

# probe_ready NAME PORT [http_probe options]: probe_start, then returns once
# the service answered (every run here starts from a serving unit).
probe_ready() {
  probe_start "$@"
  probe_wait_ready "$1"
}
# The version the last successful request saw.
probe_served() { awk '$2 == "ok" { v = $3 } END { print v }' "$WORK/$1.json.log"; }

# record KIND RUN LABEL BEGIN_US END_US NAME [EXTRA]
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$WORK/$6.json" "${7:-}" \
    >>"$RESULTS"
  log "$(printf '%-8s run %s: %d ms, longest gap %s ms, %s failed requests%s' "$1" "$2" \
    $((($5 - $4) / 1000)) "$(json_num "$WORK/$6.json" longest_gap_ms)" \
    "$(json_num "$WORK/$6.json" failed)" "${7:+ ($7)}")"
}

# ---- images -----------------------------------------------------------------

# push_variant REF FIXTURE: builds REF from a copy of FIXTURE with distinct
# bytes appended (an ELF file runs the same; the image's layer and digest
# are new) and pushes it. Prints the digest.
push_variant() {
  local ref=$1 fixture=$2 copy=${1//[:\/]/_}
  mkdir -p "$WORK/fixtures"
  cat "$FIXTURES/$fixture" >"$WORK/fixtures/$copy"
  printf '\n#%s %s\n' "$ref" "$(now_us)" >>"$WORK/fixtures/$copy"
  chmod 0755 "$WORK/fixtures/$copy"
  FIXTURES=$WORK/fixtures build_image "$ref" "$copy" 2>>"$SETUP_LOG" || die "build_image $ref"
  push_image "$ref" 2>>"$SETUP_LOG" || die "push_image $ref"
}
# The fixture of the K-th image of a side: v1 and v2 in turn, so the probe
# tells by the version served which image answers.
fixture_for() { echo "test_service_v$((2 - $1 % 2))"; }
version_for() { echo "$((2 - $1 % 2))"; }

pinned() { echo "$SVC:$1@$(image_digest "svc:$1")"; }

# ---- set-up -----------------------------------------------------------------

# Dozens of starts within seconds are the point here; systemd's default
# start limit (5 in 10 s) would refuse them.
no_start_limit() {
  mkdir -p "/etc/systemd/system/$1.d"
  printf '[Unit]\nStartLimitIntervalSec=0\n' >"/etc/systemd/system/$1.d/bench.conf"
}
no_start_limit demo.service
no_start_limit "$AUTO_UNIT"
no_start_limit upgrade@.service

install_upgrader
start_registry 2>>"$SETUP_LOG" || die "start_registry"
setup_podman 2>>"$SETUP_LOG" || die "setup_podman"

# The upgrader's side: svc:1 pulled as an operator would, demo.service on it.
push_variant svc:1 "$(fixture_for 1)" >/dev/null
engine_pull podman "$(image_ref svc:1)" >/dev/null 2>>"$SETUP_LOG" || die "pull svc:1"
if [ "$QUADLET" = 1 ]; then
  container_demo_quadlet "$(pinned 1)" healthy 2>>"$SETUP_LOG" || die "demo.container on svc:1"
else
  container_demo_unit podman "$(pinned 1)" 2>>"$SETUP_LOG" || die "demo.service on svc:1"
fi
cat >/etc/upgrader/demo.conf <<CONF
[Install]
Mode=container

[Container]
Engine=podman
Image=$SVC:@v
KeepImages=2

[Trust]
AllowUnsigned=yes

[Target]
Unit=demo.service

[Health]
HTTP=http://127.0.0.1:$DEMO_PORT/healthz
ExpectJSON=status=ok
IntervalSec=20ms
TimeoutSec=10s
Successes=1
SettleSec=0
CONF

# auto-update's side: the container podman generates the unit from, then
# the unit alone (--new: each start creates the container afresh).
push_variant svc:latest "$(fixture_for 1)" >/dev/null
if [ "$QUADLET" = 1 ]; then
  # What a Podman 5 user writes for auto-update with a health-based
  # rollback: AutoUpdate=registry, Notify=healthy, the same health command
  # as demo.container (container_lib's _ct_demo_quadlet).
  cat >/etc/containers/systemd/auto.container <<UNIT
[Container]
Image=$SVC:latest
ContainerName=auto
Network=host
Exec=--port $AUTO_PORT
AutoUpdate=registry
HealthCmd=["/test_service", "--check", "$AUTO_PORT"]
HealthInterval=1s
HealthRetries=3
HealthOnFailure=kill
Notify=healthy

[Service]
TimeoutStartSec=30
UNIT
  podman pull -q "$SVC:latest" >/dev/null 2>>"$SETUP_LOG" || die "podman pull svc:latest"
else
  podman create --name auto --label io.containers.autoupdate=registry --network=host \
    "$SVC:latest" --port "$AUTO_PORT" >/dev/null 2>>"$SETUP_LOG" || die "podman create auto"
  podman generate systemd --new --name auto >"/etc/systemd/system/$AUTO_UNIT" 2>>"$SETUP_LOG" ||
    die "podman generate systemd"
  podman rm auto >/dev/null
fi
systemctl daemon-reload
systemctl start "$AUTO_UNIT" || die "$AUTO_UNIT did not start"
auto_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$AUTO_PORT/healthz" 2>/dev/null |
    grep -q '"status":"ok"'
}
wait_for 30 auto_healthy || die "$AUTO_UNIT does not answer"
systemctl cat "$AUTO_UNIT" >"$WORK/$AUTO_UNIT"

# ---- the operations -----------------------------------------------------------

# run_upgrade: `systemctl start upgrade@demo` and the upgrader's exit
# status (see downtime.sh: journald may file its last line late, under
# init.scope; then found by time).
run_upgrade() {
  local since status
  rm -f "$WORK/run-times"
  since=$(now_us)
  status=$(upgrade_status demo "$WORK/run-times")
  if [ -z "$status" ]; then
    status=$(journalctl -b -o cat SYSLOG_IDENTIFIER=upgrader \
      --since "@$((since / 1000000)).$(printf %06d $((since % 1000000)))" |
      sed -n 's/^exit status \([0-9]*\)$/\1/p' | tail -n 1)
  fi
  echo "$status"
}

# The image the auto-update container runs, and the ID of svc@DIGEST.
auto_image_id() { podman container inspect auto --format '{{.Image}}' 2>/dev/null; }
image_id() { podman image inspect "$SVC@$1" --format '{{.Id}}' 2>/dev/null; }
demo_image_id() { podman container inspect demo --format '{{.Image}}' 2>/dev/null; }

tag=1     # the upgrader's installed tag
latest=1  # how many images were pushed to svc:latest

# upgrade_to_next: pushes svc:TAG+1 and upgrades to it, checked.
upgrade_to_next() {
  local kind=$1 run=$2 next=$((tag + 1)) name status begin end
  push_variant "svc:$next" "$(fixture_for "$next")" >/dev/null
  # The state podman.service's idle timeout leaves (see the top).
  systemctl stop podman.service 2>/dev/null # (it warns that the socket can start it: the point)
  name=$kind-$run
  probe_ready "$name" "$DEMO_PORT"
  status=$(run_upgrade)
  read -r begin end <"$WORK/run-times"
  probe_finish
  [ "$status" = 0 ] || die "upgrade@demo to svc:$next: exit status '$status', expected 0"
  [ "$(sed -n 's/^UPGRADER_IMAGE=//p' "$DEMO_IMAGE_ENV")" = "$(pinned "$next")" ] ||
    die "image.env does not pin svc:$next"
  [ "$(demo_image_id)" = "$(image_id "$(image_digest "svc:$next")")" ] ||
    die "demo.service does not run svc:$next"
  [ "$(probe_served "$name")" = "$(version_for "$next")" ] ||
    die "demo.service serves version $(probe_served "$name"), not $(version_for "$next")"
  tag=$next
  [ "$kind" = warmup ] || record "$kind" "$run" "svc:$next" "$begin" "$end" "$name"
}

# auto_update_next: pushes a new image to svc:latest, runs `podman
# auto-update`, checked.
auto_update_next() {
  local kind=$1 run=$2 next=$((latest + 1)) name digest begin end rc=0
  digest=$(push_variant svc:latest "$(fixture_for "$next")")
  name=$kind-$run
  probe_ready "$name" "$AUTO_PORT"
  begin=${EPOCHREALTIME/./}
  podman auto-update >"$WORK/$name.out" 2>&1 || rc=$?
  end=${EPOCHREALTIME/./}
  probe_finish
  [ "$rc" = 0 ] || die "podman auto-update exited $rc: $(cat "$WORK/$name.out")"
  [ "$(auto_image_id)" = "$(image_id "$digest")" ] ||
    die "$AUTO_UNIT does not run the new svc:latest ($digest)"
  [ "$(probe_served "$name")" = "$(version_for "$next")" ] ||
    die "$AUTO_UNIT serves version $(probe_served "$name"), not $(version_for "$next")"
  latest=$next
  [ "$kind" = warmup ] || record "$kind" "$run" "latest#$next" "$begin" "$end" "$name"
}

restart_demo() {
  local run=$1 name=restart-$1 begin end
  probe_ready "$name" "$DEMO_PORT"
  begin=${EPOCHREALTIME/./}
  systemctl restart demo.service
  end=${EPOCHREALTIME/./}
  probe_finish
  record restart "$run" restart "$begin" "$end" "$name"
}

# The smoke run only checks that every figure comes out: no warm-up.
if [ "${BENCH_SMOKE:-0}" != 1 ]; then
  log "warming up"
  upgrade_to_next warmup 1
  upgrade_to_next warmup 2
  auto_update_next warmup 1
fi

for ((run = 1; run <= RUNS; run++)); do
  if ((run % 2 == 1)); then order="upgrader auto restart"; else order="restart auto upgrader"; fi
  for what in $order; do
    case $what in
      upgrader) upgrade_to_next upgrader "$run" ;;
      auto) auto_update_next auto "$run" ;;
      restart) restart_demo "$run" ;;
    esac
  done
done

# ---- Quadlet: a bad image, day 1 and day 2 -------------------------------------
# The image answering 500 is pushed once and stays the newest. Day 1: each
# tool tries it and rolls back (auto-update: the start job fails, since the
# container never becomes healthy). Day 2: each runs again, the bad image
# still the newest: auto-update tries it again; the upgrader has it
# quarantined. Downtime each day is what the probe sees.
BAD_DAYS=""
bad_days() {
  local day name begin end rc status bad=$((tag + 1))
  push_variant svc:latest test_service_v3_http_500 >/dev/null
  push_variant "svc:$bad" test_service_v3_http_500 >/dev/null
  sed -i 's/^TimeoutSec=.*/TimeoutSec=2s/' /etc/upgrader/demo.conf
  for day in 1 2; do
    name=bad-auto-$day
    probe_ready "$name" "$AUTO_PORT"
    begin=${EPOCHREALTIME/./}
    rc=0
    podman auto-update >"$WORK/$name.out" 2>&1 || rc=$?
    end=${EPOCHREALTIME/./}
    wait_for 30 auto_healthy || die "day $day: $AUTO_UNIT not healthy after podman auto-update"
    probe_finish
    record bad-auto "$day" "latest=500" "$begin" "$end" "$name" "exit $rc"
    name=bad-upgrader-$day
    systemctl stop podman.service 2>/dev/null
    probe_ready "$name" "$DEMO_PORT"
    status=$(run_upgrade)
    read -r begin end <"$WORK/run-times"
    probe_finish
    case "$day:$status" in
      1:3 | 2:5) ;;
      *) die "day $day: upgrade@demo to the image answering 500 exited '$status' (day 1: 3, day 2: 5)" ;;
    esac
    record bad-upgrader "$day" "svc:$bad=500" "$begin" "$end" "$name" "exit $status"
    BAD_DAYS+="day $day: podman auto-update exited $rc ($(awk -v u="$AUTO_UNIT" '$1 == u { print $NF }' "$WORK/bad-auto-$day.out")), upgrade@demo exited $status. "
  done
}

# ---- an image whose /healthz answers 500, once --------------------------------
# test_service_v3_http_500 starts, listens and answers every request with
# HTTP 500 {"status":"error","version":"3"}.
if [ "$QUADLET" = 1 ]; then
  log "a bad image, day 1 and day 2"
  bad_days
  log "$BAD_DAYS"
  AUTO_500="Quadlet, Notify=healthy: $BAD_DAYS"
  UPGRADER_500="see http_500_podman_auto_update"
else
log "an image answering 500: podman auto-update"
bad_digest=$(push_variant svc:latest test_service_v3_http_500)
rc=0
podman auto-update >"$WORK/auto-500.out" 2>&1 || rc=$?
# Whatever it left running has had its start job done; give the container
# time to listen, then ask it.
any_answer() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$AUTO_PORT/healthz")" != 000 ]
}
wait_for 10 any_answer || true
auto_code=$(curl -s -o "$WORK/auto-500.body" -w '%{http_code}' --max-time 2 \
  "http://127.0.0.1:$AUTO_PORT/healthz" || true)
auto_body=$(head -c 200 "$WORK/auto-500.body" 2>/dev/null || true)
auto_state=$(systemctl show -p ActiveState --value "$AUTO_UNIT")
auto_updated=$(awk -v u="$AUTO_UNIT" '$1 == u { print $NF }' "$WORK/auto-500.out")
if [ "$(auto_image_id)" = "$(image_id "$bad_digest")" ]; then
  auto_did="kept the image answering 500 ($bad_digest) in service: no rollback (auto-update rolls back only when the restarted unit fails to start; it checks no health)"
else
  auto_did="does not run the image answering 500 ($bad_digest) but $(auto_image_id)"
fi
AUTO_500="podman auto-update exited $rc, UPDATED=${auto_updated:-?}, and $auto_did. Afterwards $AUTO_UNIT is $auto_state and GET /healthz answers HTTP $auto_code $auto_body."
log "$AUTO_500"

log "an image answering 500: upgrader"
old=$tag bad=$((tag + 1))
push_variant "svc:$bad" test_service_v3_http_500 >/dev/null
# The outcome does not depend on the timeout, only how long it takes to
# come: 2 s keeps the smoke run short.
sed -i 's/^TimeoutSec=.*/TimeoutSec=2s/' /etc/upgrader/demo.conf
status=$(run_upgrade)
read -r begin end <"$WORK/run-times"
served=$(demo_version)
demo_state=$(systemctl show -p ActiveState --value demo.service)
quarantined=$(upgrader status demo 2>/dev/null | grep "^quarantined: $bad " || true)
if [ "$(demo_image_id)" = "$(image_id "$(image_digest "svc:$old")")" ]; then
  demo_runs="runs svc:$old again"
else
  demo_runs="does not run svc:$old but $(demo_image_id)"
fi
failed=$(journal -b -o cat SYSLOG_IDENTIFIER=upgrader UPGRADER_INSTANCE=demo UPGRADER_EVENT=failed |
  tail -n 1)
UPGRADER_500="upgrade@demo to svc:$bad (answering 500) exited $status (3: rolled back, the old version runs and is healthy) after $(((end - begin) / 1000)) ms with TimeoutSec=2s; its journal: '$failed'. Afterwards demo.service is $demo_state, $demo_runs, GET /healthz answers status ok from version '$served', and upgrader status says '${quarantined:-nothing quarantined}'."
log "$UPGRADER_500"
[ "$status" = 3 ] || die "upgrade@demo to the image answering 500: exit status '$status', expected 3"
fi

# ---- results ----------------------------------------------------------------
journalctl --sync
journalctl -b -o json --output-fields=__REALTIME_TIMESTAMP,_SOURCE_REALTIME_TIMESTAMP,MESSAGE,UNIT,JOB_TYPE,JOB_RESULT,UPGRADER_EVENT,UPGRADER_INSTANCE,SYSLOG_IDENTIFIER,_SYSTEMD_UNIT \
  >"$WORK/journal.json"

AUTO_500=$AUTO_500 UPGRADER_500=$UPGRADER_500 AUTO_UNIT=$AUTO_UNIT SUFFIX=$SUFFIX \
QUADLET=$QUADLET python3 - "$RESULTS" "$WORK/journal.json" "$OUT_JSON" "$RUNS" "$((SECONDS - bench_started))" <<'PY'
import json, os, statistics, sys

results_path, journal_path, out_path, runs, elapsed = sys.argv[1:6]
runs = int(runs)

journal = []
for line in open(journal_path):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    msg = e.get("MESSAGE")
    e["MESSAGE"] = msg if isinstance(msg, str) else ""
    # When the sender logged it, not when journald read it.
    e["us"] = int(e.get("_SOURCE_REALTIME_TIMESTAMP") or e["__REALTIME_TIMESTAMP"])
    journal.append(e)
journal.sort(key=lambda e: e["us"])

def ms(a, b):
    return None if a is None or b is None else round((b - a) / 1000.0, 3)

def first(begin, end, pred):
    for e in journal:
        if begin <= e["us"] <= end and pred(e):
            return e["us"]
    return None

def unit_msg(unit, prefix):
    return lambda e: e.get("UNIT") == unit and e["MESSAGE"].startswith(prefix)

def event(name):
    return lambda e: e.get("UPGRADER_EVENT") == name and e.get("UPGRADER_INSTANCE") == "demo"

# The steps of one operation, ms after it was issued.
def steps(kind, begin, end):
    unit = os.environ["AUTO_UNIT"] if kind.endswith("auto") else "demo.service"
    s = {}
    if kind.endswith("upgrader"):
        s["upgrade@demo_starting"] = first(begin, end, unit_msg("upgrade@demo.service", "Starting"))
        s["podman.service_started"] = first(begin, end, unit_msg("podman.service", "Started"))
        for ev in ("started", "verified", "stopped", "swapped", "started-new", "healthy", "committed"):
            s["upgrader_" + ev] = first(begin, end, event(ev))
        s["upgrade@demo_done"] = first(begin, end, lambda e: e.get("UNIT") == "upgrade@demo.service"
                                       and (e["MESSAGE"].startswith("Finished")
                                            or "Deactivated" in e["MESSAGE"]))
    if kind.endswith("auto"):
        s["podman_image_pull"] = first(begin, end, lambda e: e.get("SYSLOG_IDENTIFIER") == "podman"
                                       and " image pull " in e["MESSAGE"])
    s["stopping_logged"] = first(begin, end, unit_msg(unit, "Stopping"))
    s["stopped_logged"] = first(begin, end, unit_msg(unit, "Stopped"))
    s["starting_logged"] = first(begin, end, unit_msg(unit, "Starting"))
    s["started_logged"] = first(begin, end, unit_msg(unit, "Started"))
    return {k: ms(begin, v) for k, v in s.items()}

rows = [line.rstrip("\n").split("\t") for line in open(results_path)]
per_kind, details = {}, {"runs": runs, "elapsed_s": int(elapsed), "runs_detail": []}
for kind, run, label, begin, end, probe_json, extra in rows:
    begin, end = int(begin), int(end)
    summary = json.load(open(probe_json))
    d = {"kind": kind, "run": int(run), "label": label, "op_ms": ms(begin, end),
         "gap_ms": summary["longest_gap_ms"], "failed": summary["failed"],
         "failed_by_kind": summary["failed_by_kind"],
         "gap_from_ms": ms(begin, summary["longest_gap_from_us"] or None),
         "gap_to_ms": ms(begin, summary["longest_gap_to_us"] or None),
         "steps_ms": steps(kind, begin, end)}
    details["runs_detail"].append(d)
    per_kind.setdefault(kind, []).append(d)

def values(kind, key):
    v = [d[key] for d in per_kind.get(kind, []) if d.get(key) is not None]
    if not v:
        sys.exit(f"container.sh: no {key} for {kind}")
    return v

med = lambda v: round(statistics.median(v), 3)
upgrade_ms, auto_ms = values("upgrader", "op_ms"), values("auto", "op_ms")
down, restart = med(values("upgrader", "gap_ms")), med(values("restart", "gap_ms"))
out = {
    "container_upgrade_ms": med(upgrade_ms),
    "podman_auto_update_ms": med(auto_ms),
    # Pairs from the same run: a noisy moment shifts both sides alike.
    "container_upgrade_vs_podman_auto_update": med([a / b for a, b in zip(upgrade_ms, auto_ms)]),
    "container_downtime_ms": down,
    "container_restart_downtime_ms": restart,
    "container_downtime_vs_restart": round(down / restart, 3) if restart else None,
    "podman_auto_update_downtime_ms": med(values("auto", "gap_ms")),
    "container_runs": runs,
}
if os.environ["QUADLET"] == "1":
    # Pairs from the same run, as the wall time.
    up_gap, auto_gap = values("upgrader", "gap_ms"), values("auto", "gap_ms")
    out["container_downtime_vs_podman_auto_update"] = med(
        [a / b if b else float(a > 0) for a, b in zip(up_gap, auto_gap)])
    for kind, who in (("bad-upgrader", "upgrader"), ("bad-auto", "podman_auto_update")):
        for d in per_kind.get(kind, []):
            out["bad_image_day%d_downtime_ms_%s" % (d["run"], who)] = d["gap_ms"]
suffix = os.environ["SUFFIX"]
out = {k + suffix: v for k, v in out.items()}
details["http_500_podman_auto_update"] = os.environ["AUTO_500"]
details["http_500_upgrader"] = os.environ["UPGRADER_500"]
with open(out_path + ".tmp", "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
os.replace(out_path + ".tmp", out_path)
with open(out_path + ".details", "w") as f:
    json.dump(details, f, indent=2)
    f.write("\n")

p = lambda *a: print(*a, file=sys.stderr)
out = {k[:len(k) - len(suffix)] if suffix and k.endswith(suffix) else k: v for k, v in out.items()}
p("== containers%s (median of %d run(s))" % (suffix, runs))
p("  wall: upgrader %.1f ms, podman auto-update %.1f ms, ratio %.3f   runs: %s | %s" % (
    out["container_upgrade_ms"], out["podman_auto_update_ms"],
    out["container_upgrade_vs_podman_auto_update"],
    " ".join(str(x) for x in upgrade_ms), " ".join(str(x) for x in auto_ms)))
for kind in ("upgrader", "auto", "restart"):
    p("  downtime %-8s %8.3f ms   runs: %s" % (kind, med(values(kind, "gap_ms")),
                                              " ".join(str(d["gap_ms"]) for d in per_kind[kind])))
p("  upgrader/restart %.3f" % (out["container_downtime_vs_restart"] or 0))
for kind in ("upgrader", "auto", "restart"):
    keys = {}
    for d in per_kind[kind]:
        for k, v in list(d["steps_ms"].items()) + [("gap_from", d["gap_from_ms"]), ("gap_to", d["gap_to_ms"])]:
            if v is not None:
                keys.setdefault(k, []).append(v)
    steps_sorted = sorted(((k, med(v)) for k, v in keys.items()), key=lambda kv: kv[1])
    p("  %s steps (median ms after issued): %s" % (kind, ", ".join("%s %g" % kv for kv in steps_sorted)))
p("  500, podman auto-update: " + details["http_500_podman_auto_update"])
p("  500, upgrader: " + details["http_500_upgrader"])
p("== wrote %s (%s s)" % (out_path, elapsed))
PY
