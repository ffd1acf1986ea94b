# Shared by the integration scenarios and the demo. Sourced inside the test
# bed (tests/testbed/testbed.sh), where systemctl, journalctl and curl talk
# to the throwaway systemd and its private loopback.
#
# Needs: BUILD (the CMake build directory), SRC (the source tree).
set -euo pipefail

: "${BUILD:?BUILD must name the build directory}"
: "${SRC:?SRC must name the source tree}"
FIXTURES=$BUILD/tests/fixtures
RELEASES=/srv/releases
RELEASE_PORT=8000
# Releases are served over https, as the upgrader requires by default, with
# a CA made for the test bed; the same files over plain http on
# RELEASE_HTTP_PORT for the cases that are about http.
RELEASE_URL=https://127.0.0.1:$RELEASE_PORT
RELEASE_HTTP_PORT=8001
RELEASE_HTTP_URL=http://127.0.0.1:$RELEASE_HTTP_PORT
RELEASE_CA=/run/release-server/ca.pem
# The vendor's minisign key pair, made per test bed: the secret key stays
# with the release server, the public key is where the upgrader looks.
VENDOR_KEY=/run/release-server/vendor.key
VENDOR_PUB=/etc/upgrader/keys/demo.pub
DEMO_PORT=8080
DEMO_DIR=/opt/demo/bin
DEMO_BIN=$DEMO_DIR/demo
failures=0

# A failed assertion says what the upgrader logged last, at that moment,
# and what everything else did meanwhile: the units, the engines, Compose
# (the first three failures: the journal's tail at the end may be long
# past the step that failed).
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
  if [ "$failures" -le 3 ] && command -v journalctl >/dev/null; then
    echo "   --- the upgrader's last lines:" >&2
    journalctl --sync 2>/dev/null || true
    journalctl -b --no-pager -q -o short-precise SYSLOG_IDENTIFIER=upgrader -n 20 2>/dev/null |
      sed 's/^/   /' >&2 || true
    echo "   --- the rest of the journal's last lines:" >&2
    journalctl -b --no-pager -q -o short-precise -n 200 2>/dev/null |
      grep -v -e ' upgrader\[' | tail -n 30 | sed 's/^/   /' >&2 || true
  fi
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
  if [ "$2" == "$3" ]; then
    echo "ok: $1 ($3)"
  else
    fail "$1: expected '$2', got '$3'"
  fi
}

# assert_true WHAT COMMAND...
assert_true() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else fail "$what"; fi
}

# wait_for TIMEOUT_S COMMAND...: polls every 50 ms until COMMAND succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# Edits of a configuration file (FILE, /etc/upgrader/demo.conf by default),
# by section and key; unlike a sed edit, none silently changes nothing:
#   conf_set SECTION KEY VALUE [FILE]  KEY=VALUE in [SECTION], replacing
#                                      every KEY= line there (the section
#                                      added if it is missing);
#   conf_add SECTION KEY VALUE [FILE]  one more KEY=VALUE (Unit=, ...);
#   conf_unset SECTION KEY [FILE]      every KEY= line of [SECTION] gone;
#                                      fails if there was none;
#   conf_drop SECTION [FILE]           [SECTION] and its lines gone; fails
#                                      if there was none.
conf_set() { conf_edit set "$1" "$2" "$3" "${4:-/etc/upgrader/demo.conf}"; }
conf_add() { conf_edit add "$1" "$2" "$3" "${4:-/etc/upgrader/demo.conf}"; }
conf_unset() { conf_edit unset "$1" "$2" "" "${3:-/etc/upgrader/demo.conf}"; }
conf_drop() { conf_edit drop "$1" "" "" "${2:-/etc/upgrader/demo.conf}"; }
conf_edit() {
  python3 - "$@" <<'PY' || fail "conf_$1 [$2] $3 in $5: nothing to change"
import sys
verb, section, key, value, path = sys.argv[1:]
head = "[%s]" % section
lines = open(path, encoding="utf-8", errors="surrogateescape").read().split("\n")
out, current, placed, matched = [], None, False, False
for line in lines:
    if line.startswith("["):
        current = line.strip()
        if verb == "drop" and current == head:
            matched = True
            continue
        out.append(line)
        if current == head and verb in ("set", "add") and not placed:
            out.append("%s=%s" % (key, value))
            placed = True
        continue
    if current == head and verb == "drop":
        continue
    if current == head and line.startswith(key + "=") and verb in ("set", "unset"):
        matched = True
        continue
    out.append(line)
while out and out[-1] == "":
    out.pop()
if verb in ("set", "add") and not placed:
    out += [head, "%s=%s" % (key, value)]
    placed = True
open(path, "w", encoding="utf-8", errors="surrogateescape").write("\n".join(out) + "\n")
sys.exit(0 if placed or matched else 1)
PY
}

# fault_points apply|rollback [NAME...]: the upgrader's fault points
# (faultPointNames(), printed by a helper built with the tests) that an
# apply, or the rollback of one, passes, but the NAMEs (points the
# scenario's mode never passes). A new point is tried everywhere at once.
fault_points() {
  local kind=$1 point skip
  shift
  "$BUILD/tests/integration/upgrader_fault_points" | while read -r point; do
    case "$point" in
      rollback-*) [ "$kind" = rollback ] || continue ;;
      *) [ "$kind" = apply ] || continue ;;
    esac
    for skip in "$@"; do [ "$point" = "$skip" ] && continue 2; done
    echo "$point"
  done
}

# needs_fault_injection: ends the scenario as skipped (ctest's code 77)
# unless the build honours UPGRADER_CRASH_AT.
needs_fault_injection() {
  if [ "${FAULT_INJECTION:-OFF}" != ON ]; then
    echo "skipped: this scenario needs a build with -DUPGRADER_FAULT_INJECTION=ON"
    exit 77
  fi
}

# kill_then_apply POINT: `upgrader apply demo` killed at POINT
# (UPGRADER_CRASH_AT: _exit, no clean-up, as SIGKILL or a power loss would),
# then a normal apply; asserts the kill, and that the next run ended in a
# known state (0, 3 or 5). Its output is in /run/apply.out.
kill_then_apply() {
  local point=$1 rc=0
  UPGRADER_CRASH_AT=$point upgrader apply demo >/dev/null 2>&1 || rc=$?
  assert_eq "killed at '$point'" 99 "$rc"
  rc=0
  upgrader apply demo >/run/apply.out 2>&1 || rc=$?
  assert_true "after '$point': the next apply ended in a known state (rc $rc)" \
    test "$rc" -eq 0 -o "$rc" -eq 3 -o "$rc" -eq 5
}

# journalctl, after making sure everything logged so far is readable.
journal() {
  journalctl --sync
  journalctl "$@"
}

# Ends a scenario: exit status says whether every assertion held.
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "== $failures assertion(s) failed; journal of this boot:" >&2
    journalctl -b --no-pager -o short-precise | tail -n 80 >&2 || true
    exit 1
  fi
  echo "== all assertions held"
}

# The upgrader, its units and its unit generator, installed as the packages
# install them (the generator where the package puts it).
install_upgrader() {
  # UPGRADER_PROGRAM: another release's program (release_bed.sh).
  install -m 0755 "${UPGRADER_PROGRAM:-$BUILD/upgrader}" /usr/bin/upgrader
  install -m 0644 "$SRC/units/upgrade@.service" "$SRC/units/upgrade@.timer" \
    /etc/systemd/system/
  # Made from upgrade@.service by CMake (packaging/CMakeLists.txt).
  install -m 0644 "$BUILD/units/upgrade-fetch@.service" /etc/systemd/system/
  install -D -m 0755 "$SRC/units/upgrader-generator" \
    /usr/lib/systemd/system-generators/upgrader-generator
  mkdir -p /etc/upgrader
  systemctl daemon-reload
}

# After writing or changing /etc/upgrader/*.conf, as the manual tells
# operators: the generator gives upgrade@NAME.service write access to the
# directories the configuration names (ProtectSystem=strict otherwise).
config_changed() {
  systemctl daemon-reload
}

# A real HTTPS server for releases: nginx on 127.0.0.1:8000 (and plain
# http on 8001) serving $RELEASES, as a unit of the booted system, with a
# certificate from a CA made here ($RELEASE_CA). Its access log counts the
# downloads (release_downloads).
start_release_server() {
  mkdir -p "$RELEASES" /run/release-server
  make_release_certificates /run/release-server
  cat >/run/release-server/nginx.conf <<CONF
worker_processes 1;
pid /run/release-server/nginx.pid;
error_log stderr;
events {}
http {
  log_format requests '\$request \$status';
  access_log /run/release-server/access.log requests;
  default_type application/octet-stream;
  client_body_temp_path /run/release-server;
  server {
    listen 127.0.0.1:$RELEASE_PORT ssl;
    ssl_certificate /run/release-server/server.pem;
    ssl_certificate_key /run/release-server/server.key;
    root $RELEASES;
  }
  server { listen 127.0.0.1:$RELEASE_HTTP_PORT; root $RELEASES; }
}
CONF
  cat >/etc/systemd/system/release-server.service <<UNIT
[Service]
ExecStart=/usr/sbin/nginx -c /run/release-server/nginx.conf -g 'daemon off; user root;'
UNIT
  systemctl daemon-reload
  systemctl start release-server.service
  # Any HTTP answer (403 for the bare directory) means it listens.
  wait_for 10 curl -s --cacert "$RELEASE_CA" -o /dev/null "$RELEASE_URL/"
  wait_for 10 curl -s -o /dev/null "$RELEASE_HTTP_URL/"
}

# release_downloads FILE: how many times the release server sent all of
# $RELEASES/FILE (GET answered 200).
release_downloads() {
  grep -c -x "GET /$1 HTTP/1.1 200" /run/release-server/access.log || true
}

# make_release_certificates DIR: DIR/ca.pem, and DIR/server.{pem,key} for
# 127.0.0.1 signed by it (EC keys: made in milliseconds).
make_release_certificates() {
  local d=$1
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
      -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=upgrader-test-ca \
      -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout server.key -out server.csr -subj /CN=localhost
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature \
      extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost \
      >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
      -CAcreateserial -out server.pem -days 2 -extfile server.ext
  ) >/run/release-server/openssl.log 2>&1
}

# make_vendor_key: the vendor's key pair, made with the real minisign.
make_vendor_key() {
  mkdir -p "$(dirname "$VENDOR_PUB")" "$(dirname "$VENDOR_KEY")"
  minisign -G -W -f -p "$VENDOR_PUB" -s "$VENDOR_KEY" >/dev/null
}

# sign_release FILE [MINISIGN_OPTION...]: FILE.minisig made with the
# vendor's key, as a vendor signs a release or a listing (by default
# prehashed, the trusted comment holding the time; -l for the legacy form).
sign_release() {
  local file=$1
  shift
  minisign -S -s "$VENDOR_KEY" -m "$file" "$@" >/dev/null
}

# publish VERSION FIXTURE: serves tests/fixtures/FIXTURE as test_service-VERSION
# and lists it in SHA256SUMS, signed with the vendor's key.
publish() {
  local version=$1 fixture=$2
  install -m 0644 "$FIXTURES/$fixture" "$RELEASES/test_service-$version"
  (cd "$RELEASES" && sha256sum test_service-* >SHA256SUMS)
  sign_release "$RELEASES/SHA256SUMS"
}

# --- Mode=symlink: release directories under /opt/demo/releases -----------

# publish_tree VERSION FIXTURE [MINISIGN_OPTION...]: demo-VERSION.tar.gz
# (bin/service from FIXTURE, VERSION), listed in SHA256SUMS and signed.
publish_tree() {
  local version=$1 fixture=$2 dir
  shift 2
  dir=$(mktemp -d)
  mkdir -p "$dir/bin"
  cp "$FIXTURES/$fixture" "$dir/bin/service"
  echo "$version" >"$dir/VERSION"
  tar -C "$dir" -czf "$RELEASES/demo-$version.tar.gz" bin VERSION
  rm -rf "$dir"
  (cd "$RELEASES" && sha256sum demo-*.tar.gz >SHA256SUMS)
  sign_release "$RELEASES/SHA256SUMS" "$@"
}

# install_release_1: release 1 as an operator installed it, `current`
# pointing at it, and no upgrader state.
install_release_1() {
  rm -rf /var/lib/upgrader/demo /opt/demo
  mkdir -p /opt/demo/releases/1/bin
  cp "$FIXTURES/test_service_v1" /opt/demo/releases/1/bin/service
  echo 1 >/opt/demo/releases/1/VERSION
  ln -s /opt/demo/releases/1 /opt/demo/current
}

# symlink_demo_config: /etc/upgrader/demo.conf for Mode=symlink on
# /opt/demo, and the daemon-reload that lets upgrade@demo write there.
symlink_demo_config() {
  cat >/etc/upgrader/demo.conf <<CONF
[Source]
URL=$RELEASE_URL/demo-@v.tar.gz
ChecksumsURL=$RELEASE_URL/SHA256SUMS
CAFile=$RELEASE_CA
[Trust]
TrustedKey=demo.pub
[Install]
Mode=symlink
Path=/opt/demo/current
ReleasesDirectory=/opt/demo/releases
KeepReleases=2
Preflight=@path/bin/service --version
[Target]
Unit=demo.service
[Health]
HTTP=http://127.0.0.1:$DEMO_PORT/healthz
ExpectJSON=status=ok
IntervalSec=100ms
TimeoutSec=8s
# The release a rollback brings back has longer: on a loaded machine it
# may need more than TimeoutSec= to be back (health_rollback.sh tests
# the default).
RollbackTimeoutSec=30s
CONF
  config_changed
}

# reset_demo_to_v1: Mode=binary back to the start: v1 installed and
# serving, no .old, no upgrader state.
reset_demo_to_v1() {
  systemctl stop demo.service
  rm -rf /var/lib/upgrader/demo
  cp "$FIXTURES/test_service_v1" "$DEMO_BIN.new"
  mv "$DEMO_BIN.new" "$DEMO_BIN"
  rm -f "$DEMO_BIN.old"
  systemctl reset-failed demo.service 2>/dev/null || true
  systemctl start demo.service
  wait_for 10 demo_healthy
}

# The demo service at version 1 (the fixture test_service_v1).
install_demo_service() {
  mkdir -p "$DEMO_DIR"
  install -m 0755 "$FIXTURES/${1:-test_service_v1}" "$DEMO_BIN"
  start_demo_unit "$DEMO_BIN"
}

# demo.service running EXECUTABLE on $DEMO_PORT, started and healthy.
start_demo_unit() {
  cat >/etc/systemd/system/demo.service <<UNIT
[Unit]
Description=Demo service standing in for progressdb
[Service]
Type=exec
ExecStart=$1 --port $DEMO_PORT
Restart=on-failure
RestartSec=1s
UNIT
  systemctl daemon-reload
  systemctl start demo.service
  wait_for 10 demo_healthy
}

# The usual start: the upgrader and its units, nginx serving releases
# VERSION... of the test service, demo.service at v1, /etc/upgrader/demo.conf.
setup_demo() {
  install_upgrader
  start_release_server
  make_vendor_key
  local v
  for v in "$@"; do publish "$v" "test_service_v$v"; done
  install_demo_service
  demo_config
}

demo_config() {
  cat >/etc/upgrader/demo.conf <<CONF
# The ProgressDB runbook: binary + .old + /healthz.
[Source]
URL=$RELEASE_URL/test_service-@v
ChecksumsURL=$RELEASE_URL/SHA256SUMS
CAFile=$RELEASE_CA

[Trust]
# SHA256SUMS.minisig, signed by the vendor's key.
TrustedKey=demo.pub

[Install]
Mode=binary
Path=$DEMO_BIN
Preflight=@path --version

[Target]
Unit=demo.service

[Health]
HTTP=http://127.0.0.1:$DEMO_PORT/healthz
ExpectJSON=status=ok
IntervalSec=100ms
TimeoutSec=8s
# As symlink_demo_config's.
RollbackTimeoutSec=30s
Successes=3
SettleSec=1s
CONF
  config_changed
}

demo_version() {
  curl -fsS --max-time 2 "http://127.0.0.1:$DEMO_PORT/healthz" 2>/dev/null |
    sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}
demo_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$DEMO_PORT/healthz" 2>/dev/null |
    grep -q '"status":"ok"'
}

# upgrade_status NAME [TIMES_FILE]: `systemctl start upgrade@NAME` (which waits for the
# oneshot to finish) and prints the upgrader's exit status, read from the
# journal (systemd forgets a status it counts as success, like 5). Runs are
# sequential, so the last such line is this run's; "none" if this run wrote
# none (the unit never ran the upgrader; said after 5 s of looking), never
# an earlier run's status.
# With TIMES_FILE (bench/), writes "BEGIN_US END_US" there: the wall clock
# around `systemctl start` alone, not the journal reads around it.
upgrade_status() {
  local before begin statuses deadline
  before=$(exit_status_lines "$1")
  begin=${EPOCHREALTIME/./}
  systemctl start "upgrade@$1.service" >/dev/null 2>&1 || true
  [ -z "${2:-}" ] || echo "$begin ${EPOCHREALTIME/./}" >"$2"
  # A read of the journal can miss on a loaded machine (systemd 257's
  # journalctl skips a file it finds mid-growth as "truncated"): read
  # again, up to 5 s, until this run's line shows. One read a try: more
  # lines than before say it is there (a read that missed an earlier line
  # has fewer, and its last line is an earlier run's), the last is the
  # status.
  deadline=$((SECONDS + 5))
  while :; do
    statuses=$(exit_statuses "$1")
    if [ -n "$statuses" ] && [ "$(wc -l <<<"$statuses")" -gt "$before" ]; then
      echo "${statuses##*$'\n'}"
      return
    fi
    ((SECONDS < deadline)) || break
    sleep 0.1
  done
  echo none
}
# exit_statuses NAME: the exit status of every run of upgrade@NAME this
# boot, oldest first, one a line. Matched by the fields upgrader sends
# itself, not by _SYSTEMD_UNIT, which journald cannot fill in for a line it
# reads after the process has exited.
exit_statuses() {
  journal -b -o cat SYSLOG_IDENTIFIER=upgrader "UPGRADER_INSTANCE=$1" |
    sed -n 's/^exit status \([0-9]*\)$/\1/p'
}
# How many runs of upgrade@NAME wrote their exit status this boot.
exit_status_lines() { exit_statuses "$1" | wc -l; }
# The exit status of the last run of upgrade@NAME.
last_exit_status() { exit_statuses "$1" | tail -n 1; }

# bed_ansible COMMAND [ARG]...: an Ansible command (ansible,
# ansible-playbook) of this bed's own ansible-core, on this bed (local
# connection, its python), with the collection in ansible/; its home and
# temp files in a directory of its own, removed after; its stderr in
# /run/bed-ansible.err. Without ansible-core (scripts/install-deps installs
# it): fails, saying so.
bed_ansible() {
  local home rc=0
  command -v "$1" >/dev/null || { echo "bed_ansible: $1 is not installed" >&2; return 1; }
  home=$(mktemp -d /tmp/bed-ansible.XXXXXX)
  ANSIBLE_HOME=$home ANSIBLE_LOCAL_TEMP=$home/tmp ANSIBLE_REMOTE_TEMP=$home/tmp \
    ANSIBLE_COLLECTIONS_PATH=$SRC/ansible ANSIBLE_NOCOLOR=1 ANSIBLE_DEPRECATION_WARNINGS=0 \
    "$@" -c local -i localhost, -e ansible_python_interpreter=/usr/bin/python3 \
    2>/run/bed-ansible.err || rc=$?
  rm -rf -- "$home"
  return "$rc"
}

# fleet_module [--field FIELD]... [--check] KEY=VALUE...: the collection's
# module (upgrader.fleet.upgrade) run by bed_ansible; prints the field FIELD
# of its result for each --field given, one per line ("failed" is true or
# false).
#   fleet_module --field outcome --field changed name=demo state=fetched
fleet_module() {
  local fields=() args=() result
  while [ "${1:-}" = --field ]; do fields+=("$2"); shift 2; done
  [ "${1:-}" != --check ] || { args+=(--check); shift; }
  # The oneline callback: "localhost | CHANGED => {...}", one line.
  result=$(ANSIBLE_STDOUT_CALLBACK=oneline ANSIBLE_LOAD_CALLBACK_PLUGINS=1 \
    bed_ansible ansible localhost "${args[@]}" -m upgrader.fleet.upgrade -a "$*" |
    sed -n 's/^localhost | [A-Z!]* => //p')
  [ -n "$result" ] || { echo "fleet_module: no result; ansible said:" >&2; cat /run/bed-ansible.err >&2; }
  python3 -c 'import json, sys
r = json.loads(sys.argv[1] or "{}")
r.setdefault("failed", False)
for f in sys.argv[2:]:
    v = r.get(f, "")
    print(json.dumps(v) if isinstance(v, bool) else v)' "$result" "${fields[@]}"
}

# fleet_playbook INSTANCE...: the collection's rolling upgrade playbook
# (upgrader.fleet.rolling_upgrade) over this bed alone, run by bed_ansible;
# its record (the fleet tests' JSON callback) in /run/fleet-playbook.json;
# prints its exit status.
fleet_playbook() {
  local instances rc=0
  instances=$(printf '"%s",' "$@")
  ANSIBLE_STDOUT_CALLBACK=fleet_json \
    ANSIBLE_CALLBACK_PLUGINS=$SRC/tests/integration/fleet/callback_plugins \
    bed_ansible ansible-playbook -e "{\"upgrader_instances\": [${instances%,}]}" \
      upgrader.fleet.rolling_upgrade >/run/fleet-playbook.json || rc=$?
  case $rc in 0 | 2) ;; *) echo "fleet_playbook: exit $rc; ansible said:" >&2; tail -n 20 /run/bed-ansible.err >&2 ;; esac
  echo "$rc"
}
# fleet_outcomes TASK: each instance's outcome in the last fleet_playbook's
# task TASK (the end of its name), space-separated.
fleet_outcomes() {
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open("/run/fleet-playbook.json"))
print(" ".join(x.get("outcome", "?") for p in r["plays"] for t in p["tasks"]
               if t["task"]["name"].endswith(sys.argv[1])
               for h in t["hosts"].values() for x in h.get("results", [])))
PY
}

# Journal lines of the upgrader with the given event name.
journal_events() {
  journalctl --sync
  journalctl -b --no-pager -o cat SYSLOG_IDENTIFIER=upgrader \
    --output-fields=UPGRADER_EVENT -o json 2>/dev/null |
    sed -n 's/.*"UPGRADER_EVENT":"\([^"]*\)".*/\1/p' | tr '\n' ' '
}
