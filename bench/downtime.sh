#!/usr/bin/env bash
# Downtime as a client sees it: bench/http_probe sends GET /healthz every
# 2 ms while an operation runs, and the longest unavailable window (last
# success before a run of failures -> first success after it) is that
# operation's downtime. Runs INSIDE the test bed (it needs its systemd):
#
#   tests/testbed/testbed.sh run --bind SRC --bind BUILD --bind OUTDIR -- \
#     env BUILD=BUILD SRC=SRC BENCH_SMOKE=0|1 bash SRC/bench/downtime.sh OUTDIR/downtime.json
#
# (The command starts in / inside the test bed: give the script's full path.)
#
# Measures, RUNS=5 times each (BENCH_SMOKE=1: once), interleaved:
#   downtime_ms_restart   `systemctl restart demo.service`: the floor;
#   downtime_ms_manual    the ProgressDB runbook by hand: stop, mv PATH
#                         PATH.old, cp NEW PATH, start, wait until healthy;
#   downtime_ms_upgrader  `systemctl start upgrade@demo` (release from the
#                         in-bed nginx; fast health check: 20 ms, 1 success);
# the medians, and median(upgrader)/median(restart|manual). Then:
#   refused_socket_activated  failed probe requests, summed over the runs,
#                         while upgrade@sock upgrades a socket-activated
#                         service (demo-sock.socket on 127.0.0.1:8090);
#   rollback_latency_ms   a crash-looping release: from its first crash
#                         (systemd's "Main process exited", journal) to the
#                         first successful response of the old version;
#   old_start_ms          the old version's own start: `systemctl start`
#                         issued -> first successful response (median).
# Writes OUT_JSON (flat, numbers only), OUT_JSON.details (per-run numbers
# and the journal timestamps of each upgrade's steps), and a summary on
# stderr.
set -euo pipefail

OUT_JSON=${1:?usage: downtime.sh OUT_JSON (inside the test bed; needs BUILD and SRC)}
# shellcheck source=../tests/integration/lib.sh
source "$SRC/tests/integration/lib.sh"

RUNS=${RUNS:-5}
[ "${BENCH_SMOKE:-0}" = 1 ] && RUNS=1
PROBE=$BUILD/bench/http_probe
SOCK_PORT=8090
SOCK_DIR=/opt/sock/bin
SOCK_BIN=$SOCK_DIR/demo
SOCK_RELEASES=$RELEASES/sock
WORK=$(mktemp -d /tmp/downtime.XXXXXX) # the test bed's /tmp: a tmpfs, gone at power-off
RESULTS=$WORK/results.tsv             # KIND RUN LABEL BEGIN_US END_US PROBE_JSON [EXTRA]
: >"$RESULTS"
bench_started=$SECONDS

die() {
  echo "downtime.sh: $*" >&2
  echo "== the journal's last lines:" >&2
  journalctl --sync
  journalctl -b --no-pager -o short-precise -n 60 >&2 || true
  exit 1
}
log() { echo "downtime: $*" >&2; }
# shellcheck source=probe_lib.sh
source "$SRC/bench/probe_lib.sh"

rm -f "$OUT_JSON" "$OUT_JSON.details"
[ -x "$PROBE" ] || die "$PROBE missing: cmake --build BUILD --target http_probe"

# ---- the probe (probe_lib.sh) ---------------------------------------------

# record KIND RUN LABEL BEGIN_US END_US NAME [EXTRA]
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$WORK/$6.json" "${7:-}" \
    >>"$RESULTS"
  local json=$WORK/$6.json what
  if [ "$1" = oldstart ]; then
    what="started, first answer after $((($(json_num "$json" first_ok_us) - $4) / 1000)) ms"
  else
    what="longest gap $(json_num "$json" longest_gap_ms) ms"
  fi
  log "$(printf '%-9s run %s: %s, %s failed requests%s' "$1" "$2" "$what" \
    "$(json_num "$json" failed)" "${7:+ ($7)}")"
}

# ---- releases ---------------------------------------------------------------

# make_release NAME FIXTURE: a runnable copy of FIXTURE with distinct bytes
# (appending to an ELF file changes its digest, not what it runs), 0755,
# at $WORK/releases/NAME.
make_release() {
  mkdir -p "$WORK/releases"
  local file=$WORK/releases/$1
  cat "$FIXTURES/$2" >"$file"
  printf '\n#%s\n' "$1" >>"$file"
  chmod 0755 "$file"
  echo "$file"
}

# publish_demo VERSION FIXTURE: test_service-VERSION for upgrade@demo.
publish_demo() {
  local file
  file=$(make_release "demo-$1" "$2")
  install -m 0644 "$file" "$RELEASES/test_service-$1"
  (cd "$RELEASES" && sha256sum test_service-* >SHA256SUMS)
  sign_release "$RELEASES/SHA256SUMS"
}

# publish_sock VERSION FIXTURE: sock/sock-VERSION with its own SHA256SUMS.
publish_sock() {
  local file
  file=$(make_release "sock-$1" "$2")
  mkdir -p "$SOCK_RELEASES"
  install -m 0644 "$file" "$SOCK_RELEASES/sock-$1"
  (cd "$SOCK_RELEASES" && sha256sum sock-* >SHA256SUMS)
  sign_release "$SOCK_RELEASES/SHA256SUMS"
}

# The process systemd runs for UNIT executes the file now at PATH (same
# inode), not a replaced one.
runs_file() {
  local pid
  pid=$(systemctl show -p MainPID --value "$1")
  [ "$pid" != 0 ] && [ "$(stat -L -c %d:%i "/proc/$pid/exe")" = "$(stat -c %d:%i "$2")" ]
}

# run_upgrade NAME: lib.sh's upgrade_status, i.e. `systemctl start
# upgrade@NAME` and the upgrader's exit status from its last "exit status N"
# line. That line is the upgrader's only stderr output, written just before
# it exits; when journald reads it late (busy, e.g. while systemd logs at
# debug level) the process is gone and journald files the line under
# _SYSTEMD_UNIT=init.scope, so upgrade_status finds nothing. Then: the last
# such line of any upgrader since this run began (runs are sequential).
run_upgrade() {
  local since status
  rm -f "$WORK/run-times"
  since=$(now_us)
  status=$(upgrade_status "$1" "$WORK/run-times")
  if [ -z "$status" ]; then
    status=$(journalctl -b -o cat SYSLOG_IDENTIFIER=upgrader \
      --since "@$((since / 1000000)).$(printf %06d $((since % 1000000)))" |
      sed -n 's/^exit status \([0-9]*\)$/\1/p' | tail -n 1)
    log "upgrade@$1: journald filed the exit status line under init.scope; found '$status' by time"
  fi
  echo "$status"
}

# ---- set-up -----------------------------------------------------------------

fast_health() {
  cat <<CONF
[Health]
HTTP=http://127.0.0.1:$1/healthz
ExpectJSON=status=ok
IntervalSec=20ms
TimeoutSec=10s
Successes=1
CONF
}

# Dozens of starts within seconds are the point here; systemd's default
# start limit (5 in 10 s) would refuse them.
no_start_limit() {
  mkdir -p "/etc/systemd/system/$1.d"
  printf '[Unit]\nStartLimitIntervalSec=0\n' >"/etc/systemd/system/$1.d/bench.conf"
}
no_start_limit demo.service
no_start_limit demo-sock.service
no_start_limit upgrade@.service

setup_demo 1 >/dev/null
# demo_config's [Source], [Install] and [Target]; a health check that
# takes the first good answer, so it does not dominate the run.
demo_config
sed -i '/^\[Health\]/,$d' /etc/upgrader/demo.conf
fast_health "$DEMO_PORT" >>/etc/upgrader/demo.conf

# The socket-activated variant: systemd holds the listening socket, the
# service gets it as fd 3 (test_service without --port).
setup_sock() {
  mkdir -p "$SOCK_DIR"
  install -m 0755 "$(make_release sock-1 test_service_v1)" "$SOCK_BIN"
  publish_sock 1 test_service_v1
  cat >/etc/systemd/system/demo-sock.socket <<UNIT
[Socket]
ListenStream=127.0.0.1:$SOCK_PORT
UNIT
  cat >/etc/systemd/system/demo-sock.service <<UNIT
[Unit]
Description=Socket-activated demo service
Requires=demo-sock.socket
After=demo-sock.socket
[Service]
Type=exec
ExecStart=$SOCK_BIN
Restart=on-failure
RestartSec=1s
UNIT
  cat >/etc/upgrader/sock.conf <<CONF
[Source]
URL=$RELEASE_URL/sock/sock-@v
ChecksumsURL=$RELEASE_URL/sock/SHA256SUMS
CAFile=$RELEASE_CA

[Trust]
TrustedKey=demo.pub

[Install]
Mode=binary
Path=$SOCK_BIN
Preflight=@path --version

[Target]
Unit=demo-sock.service

$(fast_health "$SOCK_PORT")
CONF
  systemctl daemon-reload
  systemctl start demo-sock.socket demo-sock.service
  wait_for 10 curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$SOCK_PORT/healthz" ||
    die "demo-sock.service does not answer"
}
setup_sock

# ---- the three ways to replace the binary, interleaved ------------------------

op_restart() { systemctl restart demo.service; }

# The ProgressDB runbook, as an operator would script it.
op_manual() {
  systemctl stop demo.service
  mv "$DEMO_BIN" "$DEMO_BIN.old"
  cp "$1" "$DEMO_BIN"
  systemctl start demo.service
  wait_for 10 demo_healthy
}

# measure KIND RUN OPERATION...: the operation under the probe.
measure() {
  local kind=$1 run=$2 name="$1-$2" begin end
  shift 2
  probe_start "$name" "$DEMO_PORT"
  probe_wait_ready "$name"
  begin=${EPOCHREALTIME/./}
  "$@"
  end=${EPOCHREALTIME/./}
  probe_finish
  record "$kind" "$run" "$kind" "$begin" "$end" "$name"
}

upgraded=0
for ((run = 1; run <= RUNS; run++)); do
  measure restart "$run" op_restart

  # The manual upgrade installs a published release, so the upgrader
  # recognises it by its digest and upgrades from a known version.
  manual_version=2.$((2 * run - 1))
  publish_demo "$manual_version" test_service_v2
  measure manual "$run" op_manual "$WORK/releases/demo-$manual_version"

  version=2.$((2 * run))
  publish_demo "$version" test_service_v2
  name=upgrader-$run
  probe_start "$name" "$DEMO_PORT"
  probe_wait_ready "$name"
  status=$(run_upgrade demo)
  read -r begin end <"$WORK/run-times"
  probe_finish
  [ "$status" = 0 ] || die "upgrade@demo to $version: exit status '$status', expected 0"
  cmp -s "$DEMO_BIN" "$WORK/releases/demo-$version" || die "$DEMO_BIN is not release $version"
  runs_file demo.service "$DEMO_BIN" || die "demo.service does not run release $version"
  upgraded=$((upgraded + 1))
  record upgrader "$run" "$version" "$begin" "$end" "$name"
done

# ---- the socket-activated service -------------------------------------------
# systemd keeps the listening socket open while the service is replaced, so a
# client should only see slower answers, never a refused connection. The
# probe's timeout is long (5 s) so that "failed" means failed, not "queued
# for longer than 200 ms". systemd logs at debug level meanwhile: its
# "Incoming traffic" line tells whether the socket started the service
# again by itself between the upgrader's stop and its start.
systemd-analyze log-level debug
for ((run = 1; run <= RUNS; run++)); do
  # v2 and v3 alternately: the body's version tells which binary answers.
  fixture=test_service_v$((2 + (run + 1) % 2))
  expect=$((2 + (run + 1) % 2))
  version=2.$run
  publish_sock "$version" "$fixture"
  name=sock-$run
  probe_start "$name" "$SOCK_PORT" --timeout-ms 5000
  probe_wait_ready "$name"
  status=$(run_upgrade sock)
  read -r begin end <"$WORK/run-times"
  probe_finish
  [ "$status" = 0 ] || die "upgrade@sock to $version: exit status '$status', expected 0"
  served=$(tail -n 1 "$WORK/$name.json.log" | cut -d' ' -f3)
  if runs_file demo-sock.service "$SOCK_BIN" && [ "$served" = "$expect" ]; then
    verdict=new-binary-runs
  else
    verdict=OLD-BINARY-STILL-RUNS
  fi
  record sock "$run" "$version" "$begin" "$end" "$name" "$verdict;served=$served;expected=$expect"
done
systemd-analyze log-level info

# ---- rollback latency -------------------------------------------------------
# First the old version's own start, on a stopped service.
for ((run = 1; run <= RUNS; run++)); do
  systemctl stop demo.service
  name=oldstart-$run
  probe_start "$name" "$DEMO_PORT"
  begin=${EPOCHREALTIME/./}
  systemctl start demo.service
  end=${EPOCHREALTIME/./}
  probe_finish
  record oldstart "$run" "start" "$begin" "$end" "$name"
done

# Then a release that crashes 1.5 s after it starts; the health check must
# notice it from the unit's state (SettleSec=5s keeps the check running).
# The rollback's check of the old version settles as long, after the
# figure is taken: the smoke run settles 2 s, still past the crash.
settle=5s
[ "${BENCH_SMOKE:-0}" = 1 ] && settle=2s
sed -i "s/^TimeoutSec=.*/TimeoutSec=60s/; /^\[Health\]/a SettleSec=$settle" /etc/upgrader/demo.conf
old_version=$(demo_version)
publish_demo 3 test_service_v3_crash_loop
name=rollback-1
probe_start "$name" "$DEMO_PORT" --expect-version "$old_version"
probe_wait_ready "$name"
status=$(run_upgrade demo)
read -r begin end <"$WORK/run-times"
probe_finish
[ "$status" = 3 ] || die "upgrade@demo to the crash-looping 3: exit status '$status', expected 3"
[ "$(demo_version)" = "$old_version" ] || die "not back at version $old_version"
record rollback 1 "3" "$begin" "$end" "$name" "old=$old_version"

# ---- results ----------------------------------------------------------------
journalctl --sync
journalctl -b -o json --output-fields=__REALTIME_TIMESTAMP,_SOURCE_REALTIME_TIMESTAMP,MESSAGE,UNIT,JOB_TYPE,JOB_RESULT,UPGRADER_EVENT,UPGRADER_INSTANCE,SYSLOG_IDENTIFIER,_SYSTEMD_UNIT \
  >"$WORK/journal.json"

python3 - "$RESULTS" "$WORK/journal.json" "$OUT_JSON" "$RUNS" "$((SECONDS - bench_started))" <<'PY'
import json, statistics, sys

results_path, journal_path, out_path, runs, elapsed = sys.argv[1:6]
runs = int(runs)

journal = []
for line in open(journal_path):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    msg = e.get("MESSAGE")
    if not isinstance(msg, str):
        msg = ""
    e["MESSAGE"] = msg
    # When the sender logged it, not when journald got round to reading it
    # (which lags by milliseconds while the probe keeps the CPUs busy).
    e["us"] = int(e.get("_SOURCE_REALTIME_TIMESTAMP") or e["__REALTIME_TIMESTAMP"])
    journal.append(e)
journal.sort(key=lambda e: e["us"])

def between(begin, end, pred):
    return [e for e in journal if begin <= e["us"] <= end and pred(e)]

def first(begin, end, pred):
    hits = between(begin, end, pred)
    return hits[0]["us"] if hits else None

def unit_msg(unit, prefix):
    return lambda e: e.get("UNIT") == unit and e["MESSAGE"].startswith(prefix)

def event(instance, name):
    return lambda e: e.get("UPGRADER_EVENT") == name and e.get("UPGRADER_INSTANCE") == instance

def probe_log(path):
    rows = []
    for line in open(path + ".log"):
        us, ok, version, latency, detail = line.split()
        rows.append((int(us), ok == "ok", version, int(latency), detail))
    return rows

def ms(a, b):
    return None if a is None or b is None else round((b - a) / 1000.0, 3)

rows = [line.rstrip("\n").split("\t") for line in open(results_path)]
per_kind, details = {}, {"runs": runs, "elapsed_s": int(elapsed), "runs_detail": []}
for kind, run, label, begin, end, probe_json, extra in rows:
    begin, end = int(begin), int(end)
    summary = json.load(open(probe_json))
    d = {"kind": kind, "run": int(run), "label": label, "extra": extra,
         "op_ms": ms(begin, end), "gap_ms": summary["longest_gap_ms"],
         "failed": summary["failed"], "failed_by_kind": summary["failed_by_kind"],
         "max_latency_ms": summary["max_latency_us"] / 1000.0,
         "skipped_ticks": summary["skipped_ticks"]}
    gap_from, gap_to = summary["longest_gap_from_us"], summary["longest_gap_to_us"]
    # Where the window sits among systemd's and the upgrader's steps (ms
    # from the last successful request before it).
    unit = "demo-sock.service" if kind == "sock" else "demo.service"
    instance = "sock" if kind == "sock" else "demo"
    if gap_from:
        steps = {
            "stopping_logged": first(begin, end, unit_msg(unit, "Stopping")),
            "stopped_logged": first(begin, end, unit_msg(unit, "Stopped")),
            "starting_logged_after_fork": first(begin, end, unit_msg(unit, "Starting")),
            "started_logged_after_exec": first(begin, end, unit_msg(unit, "Started")),
            "first_ok": gap_to,
        }
        if kind in ("upgrader", "sock"):
            for ev in ("started", "verified", "stopped", "swapped", "started-new", "healthy", "committed"):
                steps["upgrader_" + ev] = first(begin, end, event(instance, ev))
        d["steps_ms_after_last_ok"] = {k: ms(gap_from, v) for k, v in steps.items()}
    if kind == "sock":
        stopping = first(begin, end, unit_msg(unit, "Stopping"))
        stopped = first(begin, end, unit_msg(unit, "Stopped"))
        sock_start = stopped or begin
        traffic = first(sock_start, end, lambda e: e.get("UNIT") == "demo-sock.socket"
                        and "Incoming traffic" in e["MESSAGE"])
        started_new = first(begin, end, event("sock", "started-new"))
        swapped = first(begin, end, event("sock", "swapped"))
        execd = first(sock_start, end, lambda e: e.get("UNIT") == unit
                      and "Executing:" in e["MESSAGE"])
        d["max_wait_ms"] = d["max_latency_ms"]
        # Each failed request: when it began (ms after Stopping), how, how long.
        d["failures"] = [[ms(stopping, r[0]), r[4], r[3] / 1000.0]
                         for r in probe_log(probe_json) if not r[1]][:40]
        # The socket saw a connection while the service was down and had
        # systemd start it before the upgrader asked to.
        d["restarted_by_socket_before_upgrader"] = bool(
            traffic and started_new and traffic < started_new)
        d["exec_after_swap_ms"] = ms(swapped, execd)
        d["steps_ms_after_stopping"] = {k: ms(stopping, v) for k, v in {
            "stopped_logged": stopped, "upgrader_stopped": first(begin, end, event("sock", "stopped")),
            "socket_incoming_traffic": traffic, "upgrader_swapped": swapped,
            "new_process_exec": execd, "upgrader_started-new": started_new}.items()}
    if kind == "upgrader":
        d["upgrader_run_ms"] = ms(first(begin, end, event("demo", "started")),
                                  first(begin, end, event("demo", "committed")))
    if kind == "oldstart":
        log = probe_log(probe_json)
        ok_after = next((r[0] for r in log if r[1] and r[0] >= begin), None)
        d["start_ms"] = ms(begin, ok_after)
        d["start_job_to_ok_ms"] = ms(first(begin, end, unit_msg(unit, "Starting")), ok_after)
    if kind == "rollback":
        old = extra.split("=", 1)[1]
        # "demo.service: Main process exited, code=exited, status=3/..."
        crash = first(begin, end, lambda e: e.get("UNIT") == "demo.service"
                      and "Main process exited" in e["MESSAGE"])
        log = probe_log(probe_json)
        old_ok = next((r[0] for r in log if r[1] and r[2] == old and crash and r[0] > crash), None)
        d["crash_us"], d["old_ok_us"] = crash, old_ok
        d["rollback_latency_ms"] = ms(crash, old_ok)
        steps = {"crash": crash}
        for ev in ("started-new", "failed", "rolled-back"):
            steps["upgrader_" + ev] = first(begin, end, event("demo", ev))
        steps["stopping_logged"] = first(crash or begin, end, unit_msg("demo.service", "Stopping"))
        steps["stopped_logged"] = first(crash or begin, end, unit_msg("demo.service", "Stopped"))
        steps["starting_logged_after_fork"] = first(crash or begin, end, unit_msg("demo.service", "Starting"))
        steps["started_logged_after_exec"] = first(crash or begin, end, unit_msg("demo.service", "Started"))
        steps["first_old_ok"] = old_ok
        d["steps_ms_after_crash"] = {k: ms(crash, v) for k, v in steps.items()}
    details["runs_detail"].append(d)
    per_kind.setdefault(kind, []).append(d)

def median_of(kind, key):
    values = [d[key] for d in per_kind.get(kind, []) if d.get(key) is not None]
    if not values:
        sys.exit(f"downtime.sh: no {key} for {kind}")
    return round(statistics.median(values), 3)

restart = median_of("restart", "gap_ms")
manual = median_of("manual", "gap_ms")
upgrader = median_of("upgrader", "gap_ms")
rollback = [d for d in per_kind["rollback"]][0]
if rollback.get("rollback_latency_ms") is None:
    sys.exit("downtime.sh: no crash timestamp or no answer of the old version after it")
out = {
    "downtime_ms_restart": restart,
    "downtime_ms_manual": manual,
    "downtime_ms_upgrader": upgrader,
    "downtime_ratio_upgrader_vs_restart": round(upgrader / restart, 3) if restart else None,
    "downtime_ratio_upgrader_vs_manual": round(upgrader / manual, 3) if manual else None,
    "refused_socket_activated": sum(d["failed"] for d in per_kind["sock"]),
    "rollback_latency_ms": rollback["rollback_latency_ms"],
    "old_start_ms": median_of("oldstart", "start_ms"),
    "runs": runs,
}
with open(out_path + ".tmp", "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
import os
os.replace(out_path + ".tmp", out_path)
with open(out_path + ".details", "w") as f:
    json.dump(details, f, indent=2)
    f.write("\n")

p = lambda *a: print(*a, file=sys.stderr)
p("== downtime (median of %d run(s), longest unavailable window a 2 ms client saw)" % runs)
for kind in ("restart", "manual", "upgrader"):
    p("  %-9s %8.3f ms   runs: %s" % (kind, out["downtime_ms_" + kind],
                                       " ".join(str(d["gap_ms"]) for d in per_kind[kind])))
p("  upgrader/restart %.3f, upgrader/manual %.3f" % (out["downtime_ratio_upgrader_vs_restart"] or 0,
                                                    out["downtime_ratio_upgrader_vs_manual"] or 0))
def step_medians(kind):
    keys = {}
    for d in per_kind.get(kind, []):
        for k, v in (d.get("steps_ms_after_last_ok") or {}).items():
            if v is not None:
                keys.setdefault(k, []).append(v)
    return {k: round(statistics.median(v), 3) for k, v in keys.items()}
for kind in ("restart", "manual", "upgrader"):
    steps = sorted(step_medians(kind).items(), key=lambda kv: kv[1])
    p("  %s steps (median ms after the last ok): %s" % (kind, ", ".join("%s %+g" % kv for kv in steps)))
p("  socket-activated: %d failed request(s)" % out["refused_socket_activated"])
for d in per_kind["sock"]:
    p("    run %d: %s; longest wait %.1f ms; restarted by the socket before the upgrader's start: %s; "
      "exec %s ms after the swap; steps (ms after Stopping): %s%s" % (
        d["run"], d["extra"], d["max_wait_ms"], d["restarted_by_socket_before_upgrader"],
        d["exec_after_swap_ms"], ", ".join("%s %s" % kv for kv in d["steps_ms_after_stopping"].items()),
        "; failed (ms after Stopping, kind, ms taken): %s" % d["failures"] if d["failures"] else ""))
p("  rollback: %.3f ms from the crash to the old version's first answer; old start %.3f ms"
  % (out["rollback_latency_ms"], out["old_start_ms"]))
p("  rollback steps (ms after the crash): %s" % ", ".join(
    "%s %s" % kv for kv in rollback["steps_ms_after_crash"].items()))
p("== wrote %s (%s s)" % (out_path, elapsed))
PY
