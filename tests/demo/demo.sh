#!/usr/bin/env bash
# The demo, run inside the test bed by scripts/demo: the ProgressDB runbook
# on a binary, then on a Podman container.
source "$(dirname "$0")/../integration/lib.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" || true; }

setup_demo 1 2

say "demo.service runs version 1; releases 1 and 2 are on a local nginx"
show curl -s http://127.0.0.1:$DEMO_PORT/healthz; echo
show cat /etc/upgrader/demo.conf

say "Upgrade: systemctl start upgrade@demo"
show systemctl start upgrade@demo
show curl -s http://127.0.0.1:$DEMO_PORT/healthz; echo
show ls -l "$DEMO_DIR"
show upgrader status demo
show journalctl -b -o short-precise --no-pager -u upgrade@demo.service

say "A broken version 3 (its /healthz answers 500) is published"
publish 3 test_service_v3_http_500
show systemctl start upgrade@demo
printf 'upgrade@demo exit status: %s (3 = failed and rolled back)\n' \
  "$(last_exit_status demo)"
show curl -s http://127.0.0.1:$DEMO_PORT/healthz; echo
show upgrader status demo
say "The journal, with the upgrader's structured fields for the rollback"
show journalctl -b -o short-precise --no-pager -u upgrade@demo.service --since=-30s
show journalctl -b --no-pager -o verbose UPGRADER_EVENT=rolled-back \
  --output-fields=MESSAGE,MESSAGE_ID,UPGRADER_INSTANCE,UPGRADER_FROM_VERSION,UPGRADER_TO_VERSION,UPGRADER_STEP,UPGRADER_RESULT

say "Running it again: version 3 is quarantined, nothing to do"
show systemctl start upgrade@demo
printf 'upgrade@demo exit status: %s (5 = nothing to do)\n' \
  "$(last_exit_status demo)"

[ "$(demo_version)" = 2 ] || { echo "demo: expected version 2 to be serving" >&2; exit 1; }

say "The same runbook with a container: Podman, a registry, demo.service running svc:1"
systemctl stop demo.service
rm -rf /var/lib/upgrader/demo
ENGINE=podman REGISTRY_MODE=""
source "$(dirname "$0")/../integration/container_setup.sh" 2>/dev/null
show curl -s http://127.0.0.1:$DEMO_PORT/healthz; echo
show cat /etc/upgrader/demo.conf
show grep -E 'EnvironmentFile|ExecStart=' /etc/systemd/system/demo.service
show cat /var/lib/upgrader/demo/image.env

say "Upgrade: the newest tag (2) is pulled by digest, then image.env is swapped"
since=$(date +%s)
show systemctl start upgrade@demo
show curl -s http://127.0.0.1:$DEMO_PORT/healthz; echo
show cat /var/lib/upgrader/demo/image.env
show journalctl -b -o cat --no-pager -u upgrade@demo.service --since "@$since"

say "A broken image svc:3 (its /healthz answers 500) is pushed"
push_image svc:3 >/dev/null 2>&1
show systemctl start upgrade@demo
printf 'upgrade@demo exit status: %s (3 = failed and rolled back)\n' \
  "$(last_exit_status demo)"
show curl -s http://127.0.0.1:$DEMO_PORT/healthz; echo
show upgrader status demo

[ "$(demo_version)" = 2 ] || { echo "demo: expected image 2 to be serving" >&2; exit 1; }
say "Done: version 2 is serving, binary and container; the test bed powers off now"
