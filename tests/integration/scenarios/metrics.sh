#!/usr/bin/env bash
# Metrics for Prometheus: Debian's prometheus-node-exporter reads its
# textfile directory, where upgrade@demo (inside its sandbox) writes
# upgrader-demo.prom; /metrics, scraped here, shows the instance's series
# after an upgrade, a run with nothing to do, and a rollback; Debian's
# Prometheus, scraping it, answers upgrader(8)'s two example queries.
source "$(dirname "$0")/../lib.sh"
if [ ! -x /usr/bin/prometheus-node-exporter ]; then
  echo "skipped: prometheus-node-exporter is not installed (scripts/install-deps installs it)"
  exit 77
fi
setup_demo 1 2
TEXTFILES=/var/lib/prometheus/node-exporter
systemctl start prometheus-node-exporter.service
wait_for 15 curl -fs -o /dev/null http://127.0.0.1:9100/metrics ||
  fail "node_exporter does not answer on 127.0.0.1:9100"

# Prometheus itself (Debian's), scraping node_exporter every second, answers
# the two example queries of upgrader(8) below.
if [ ! -x /usr/bin/prometheus ]; then
  echo "skipped: prometheus is not installed (scripts/install-deps installs it)"
  exit 77
fi
install -d /run/prometheus-test
cat >/run/prometheus-test/prometheus.yml <<'YML'
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:9100']
YML
systemd-run --unit=prometheus-test --quiet /usr/bin/prometheus \
  --config.file=/run/prometheus-test/prometheus.yml \
  --storage.tsdb.path=/run/prometheus-test/data \
  --web.listen-address=127.0.0.1:9090
# promql QUERY: the names of the instances in QUERY's result, sorted,
# space-separated ("" for none).
promql() {
  curl -fsS -G --max-time 5 --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query |
    python3 -c 'import json, sys
r = json.load(sys.stdin)
assert r["status"] == "success", r
print(" ".join(sorted(s["metric"].get("name", "?") for s in r["data"]["result"])))'
}
# The queries as the manual prints them.
NOT_NEWEST=$(grep -m1 '^upgrader_installed_info unless ' "$SRC/man/upgrader.8.scd")
ROLLED_BACK=$(grep -m1 '^increase(upgrader_rollbacks_total' "$SRC/man/upgrader.8.scd")
[ -n "$NOT_NEWEST" ] && [ -n "$ROLLED_BACK" ] || fail "upgrader.8.scd no longer has the example queries"
echo "the manual's queries: $NOT_NEWEST; $ROLLED_BACK"
# scraped SERIES VALUE: Prometheus has scraped SERIES at VALUE.
scraped() { [ -n "$(promql "$1 == $2")" ]; }

# value SERIES: the value node_exporter reports for the exact series.
value() {
  curl -fsS http://127.0.0.1:9100/metrics | grep -F "$1 " | awk '{print $NF}'
}
# as_int NUMBER: "1.7e+09" and "0.35" as whole numbers (floor).
as_int() { python3 -c 'import sys; print(int(float(sys.argv[1])))' "${1:-nan}" 2>/dev/null || echo none; }

echo "== an upgrade"
assert_eq "1 -> 2" 0 "$(upgrade_status demo)"
assert_eq "installed 2" 1 "$(value 'upgrader_installed_info{name="demo",version="2"}')"
assert_eq "last outcome: upgraded" 1 "$(value 'upgrader_last_outcome{name="demo",outcome="upgraded"}')"
assert_eq "other outcomes 0" 0 "$(value 'upgrader_last_outcome{name="demo",outcome="rolled-back"}')"
assert_eq "upgrades: 1" 1 "$(value 'upgrader_upgrades_total{name="demo"}')"
assert_eq "rollbacks: 0" 0 "$(value 'upgrader_rollbacks_total{name="demo"}')"
window=$(value 'upgrader_unavailable_seconds{name="demo"}')
assert_true "an unavailable window was measured ($window s), shorter than the run" \
  python3 -c "import sys; w, d = float('$window'), float('$(value 'upgrader_upgrade_duration_seconds{name="demo"}')'); sys.exit(not (0 < w < d))"
ran=$(value 'upgrader_last_run_timestamp_seconds{name="demo"}')
assert_true "the last run is dated now ($ran)" \
  test $(( $(date +%s) - $(as_int "$ran") )) -lt 60
assert_eq "last success = last run" "$ran" "$(value 'upgrader_last_success_timestamp_seconds{name="demo"}')"
assert_eq "the textfile is world-readable, root's" "644 root" "$(stat -c '%a %U' "$TEXTFILES/upgrader-demo.prom")"
assert_eq "no temp file beside it" "upgrader-demo.prom" "$(ls -A "$TEXTFILES")"
assert_true "Prometheus scraped the upgrade" \
  wait_for 30 scraped 'upgrader_upgrades_total{name="demo"}' 1
assert_eq "PromQL, not on the offered release: none" "" "$(promql "$NOT_NEWEST")"
assert_eq "PromQL, rolled back in the last day: none" "" "$(promql "$ROLLED_BACK")"

echo "== nothing to do"
assert_eq "second run: nothing to do" 5 "$(upgrade_status demo)"
assert_eq "last outcome: nothing-to-do" 1 "$(value 'upgrader_last_outcome{name="demo",outcome="nothing-to-do"}')"
assert_eq "upgrades still 1" 1 "$(value 'upgrader_upgrades_total{name="demo"}')"
assert_eq "offered 2" 1 "$(value 'upgrader_offered_info{name="demo",version="2"}')"
ran=$(value 'upgrader_last_run_timestamp_seconds{name="demo"}')
assert_eq "nothing to do is a success too" "$ran" \
  "$(value 'upgrader_last_success_timestamp_seconds{name="demo"}')"

echo "== a rollback"
publish 3 test_service_v3_never_healthy
conf_set Health TimeoutSec 2s
assert_eq "2 -> 3 never healthy: rolled back" 3 "$(upgrade_status demo)"
assert_eq "still installed: 2" 1 "$(value 'upgrader_installed_info{name="demo",version="2"}')"
assert_eq "last outcome: rolled-back" 1 "$(value 'upgrader_last_outcome{name="demo",outcome="rolled-back"}')"
assert_eq "rollbacks: 1" 1 "$(value 'upgrader_rollbacks_total{name="demo"}')"
assert_eq "failures: 1" 1 "$(value 'upgrader_failures_total{name="demo"}')"
assert_eq "3 quarantined" 1 "$(value 'upgrader_quarantined_info{name="demo",version="3"}')"
assert_eq "one version quarantined" 1 "$(value 'upgrader_quarantined_versions{name="demo"}')"
assert_eq "the last success is still the run before" "$ran" \
  "$(value 'upgrader_last_success_timestamp_seconds{name="demo"}')"
assert_eq "the counters are kept beside the state" 1 \
  "$(python3 -c 'import json; print(json.load(open("/var/lib/upgrader/demo/metrics.json"))["rollbacks"])')"
assert_true "Prometheus scraped the rollback" \
  wait_for 30 scraped 'upgrader_rollbacks_total{name="demo"}' 1
assert_eq "PromQL, not on the offered release (3): demo" demo "$(promql "$NOT_NEWEST")"
assert_eq "PromQL, rolled back in the last day: demo" demo "$(promql "$ROLLED_BACK")"
finish
