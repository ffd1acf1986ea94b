# The downtime probe shared by the benchmarks that run inside the test bed
# (downtime.sh, container.sh): bench/http_probe sends GET /healthz every
# 2 ms, and its summary says how long the service did not answer. Sourced
# after the script has set PROBE (the http_probe binary) and WORK (a scratch
# directory) and defined die().

PROBE_PID=""
now_us() { echo "${EPOCHREALTIME/./}"; }

stop_probe_on_exit() {
  if [ -n "$PROBE_PID" ]; then kill -TERM "$PROBE_PID" 2>/dev/null || true; fi
}
trap stop_probe_on_exit EXIT

# probe_start NAME PORT [http_probe options]: probes http://127.0.0.1:PORT/healthz
# every 2 ms into $WORK/NAME.json; returns once the first attempt was made.
probe_start() {
  local name=$1 port=$2
  shift 2
  rm -f "$WORK/$name.json"*
  "$PROBE" --url "http://127.0.0.1:$port/healthz" --interval-ms 2 \
    --out "$WORK/$name.json" "$@" &
  PROBE_PID=$!
  wait_for 10 test -e "$WORK/$name.json.started" || die "probe $name did not start"
}
# probe_wait_ready NAME: returns once the probe had a successful request.
probe_wait_ready() {
  wait_for 10 test -e "$WORK/$1.json.ready" || die "probe $1: no successful request"
}
# The operation is over: the probe stops at its first success from now on
# (or after 10 s) and writes its summary and log.
probe_finish() {
  kill -USR1 "$PROBE_PID"
  wait "$PROBE_PID" || die "probe failed"
  PROBE_PID=""
}
# json_num FILE KEY
json_num() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
