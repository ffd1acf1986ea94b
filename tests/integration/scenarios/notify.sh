#!/usr/bin/env bash
# The failure notification pattern of examples/notify: a drop-in gives
# upgrade@.service OnFailure=upgrade-notify@%i.service, whose script reads
# the failed run's journal (the upgrader's structured fields) and POSTs a
# JSON report to a webhook, here a receiver on the bed's loopback. A good
# upgrade and a run with nothing to do (exit 5) send nothing; a rollback
# sends one report, with the instance, outcome, versions and message.
source "$(dirname "$0")/../lib.sh"
setup_demo 1 2
HOOK=/run/hook
mkdir -p "$HOOK"
# The webhook: each POST body is written to $HOOK/N.json, whole.
cat >"$HOOK/receiver.py" <<'PY'
import http.server, itertools, os
count = itertools.count(1)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = "/run/hook/%d.json" % next(count)
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.rename(path + ".tmp", path)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", 9099), Handler).serve_forever()
PY
systemd-run --quiet --unit=hook-receiver python3 "$HOOK/receiver.py"
listens() { (exec 3<>/dev/tcp/127.0.0.1/9099) 2>/dev/null; }
wait_for 10 listens || fail "the webhook receiver does not listen"

# The example, installed as its comments say.
install -m 0755 "$SRC/examples/notify/upgrader-notify" /usr/local/sbin/upgrader-notify
install -m 0644 "$SRC/examples/notify/upgrade-notify@.service" /etc/systemd/system/
mkdir -p /etc/systemd/system/upgrade@.service.d
install -m 0644 "$SRC/examples/notify/50-notify.conf" /etc/systemd/system/upgrade@.service.d/
systemctl daemon-reload
reports() { find "$HOOK" -name '*.json' | sort; }

echo "== a good upgrade and a run with nothing to do: no report"
assert_eq "1 -> 2" 0 "$(upgrade_status demo)"
assert_eq "nothing to do" 5 "$(upgrade_status demo)"

echo "== a rollback: one report"
publish 3 test_service_v3_never_healthy
conf_set Health TimeoutSec 2s
assert_eq "2 -> 3 never healthy: rolled back" 3 "$(upgrade_status demo)"
assert_true "the notifier ran and the report arrived" wait_for 30 test -e "$HOOK/1.json"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$HOOK/1.json" "$1"; }
assert_eq "report: instance" demo "$(field instance)"
assert_eq "report: outcome" rolled-back "$(field outcome)"
assert_eq "report: exit status" 3 "$(field exit_status)"
assert_eq "report: from" 2 "$(field from)"
assert_eq "report: to" 3 "$(field to)"
assert_true "report: the message says what happened: $(field message)" \
  bash -c "grep -q 'rolled back to 2' <<<\"\$(python3 -c 'import json; print(json.load(open(\"$HOOK/1.json\"))[\"message\"])')\""
assert_eq "report: the run that failed" \
  "$(systemctl show -p InvocationID --value upgrade@demo.service)" "$(field invocation)"
assert_eq "one report only: the good run and the no-op sent none" "$HOOK/1.json" "$(reports)"
assert_eq "the notifier unit finished well" inactive "$(systemctl is-active upgrade-notify@demo.service)"
assert_eq "the notifier unit did not fail" "" \
  "$(systemctl --failed --no-legend | grep upgrade-notify || true)"
finish
