# The hostile-input corpus (issue 9, item 6): what its scenarios share.
# Sourced after lib.sh by scenarios/hostile_*.sh; docs/hostile-input.md lists
# every case and where it is asserted.
#
# A case is one hostile input and one run of the upgrader:
#
#   hostile_case NAME EXPECTED_EXIT MESSAGE_REGEX [unit|cli|json]
#
# runs it (through `systemctl start upgrade@demo`, the production path, by
# default; `cli` runs `upgrader apply demo` on a terminal-less stderr,
# `json` runs `upgrader --json apply demo` and matches the regex against
# the JSON text) and asserts after every case:
#   - the exit status, and the message (an extended regular expression that
#     names the file, URL or key at fault) in what this run printed or
#     logged;
#   - no raw control byte (an escape sequence) and no URL password in that
#     text, nor a password in state.json; with `json`, stdout is one valid
#     JSON object in valid UTF-8;
#   - the service untouched: the same process, serving the same version,
#     the install path unchanged (same bytes, or the same link target);
#   - nothing outside what the case allows written in the watched trees
#     (HOSTILE_TREES: the install directory, /etc, /var/lib/upgrader,
#     /usr/bin, ...), state.json still naming the same installed release
#     and no transaction in progress;
#   - no temp file (.*.partial, *upgrader-staged*, *upgrader-tmp-*,
#     *upgrader-staging*, *upgrader-removing*) anywhere in them.
# HOSTILE_ALLOW (an extended regex of paths) lets a case change more;
# HOSTILE_ARGS are options for `cli` and `json` runs (--dry-run); every case
# must end within HOSTILE_MAX_SECONDS (a FIFO must not make a run hang).

HOSTILE_DIR=/run/hostile
HOSTILE_PORT=8443          # trusted certificate (the release CA)
UNTRUSTED_PORT=8444        # a certificate from a CA nobody trusts
WRONG_NAME_PORT=8445       # the release CA, but issued for another name
HOSTILE_URL=https://127.0.0.1:$HOSTILE_PORT
UNTRUSTED_URL=https://127.0.0.1:$UNTRUSTED_PORT
WRONG_NAME_URL=https://127.0.0.1:$WRONG_NAME_PORT
# The password of every URL with credentials in the corpus: it must never be
# printed anywhere.
HOSTILE_SECRET=hunter2
# What is snapshotted around each case. /dev and /proc are the host's.
HOSTILE_TREES=${HOSTILE_TREES:-"/etc /opt /srv /usr/bin /usr/sbin /usr/local /usr/lib/systemd/system /var/lib/upgrader /var/tmp /tmp /run/upgrader"}
# Watched one level deep only (the host's /root holds caches).
HOSTILE_SHALLOW="/ /root /var /var/lib /usr /usr/lib /run"
# The path the service runs from: a file (Mode=binary) or a link.
INSTALL_PATH=${INSTALL_PATH:-$DEMO_BIN}
HOSTILE_ALLOW=""
HOSTILE_ARGS=""
HOSTILE_MAX_SECONDS=60
hostile_cases=0
mkdir -p "$HOSTILE_DIR"

# The hostile server (tests/integration/support/hostile_server.py) as a unit
# of the test bed, over $RELEASES; needs start_release_server first (it
# reuses the release server's certificate and CA).
start_hostile_server() {
  make_hostile_certificates
  local rs=/run/release-server
  cat >/etc/systemd/system/hostile-server.service <<UNIT
[Service]
ExecStart=/usr/bin/python3 $SRC/tests/integration/support/hostile_server.py \\
  --root $RELEASES --http-target $RELEASE_HTTP_URL \\
  --listen $HOSTILE_PORT:$rs/server.pem:$rs/server.key \\
  --listen $UNTRUSTED_PORT:$HOSTILE_DIR/untrusted-server.pem:$HOSTILE_DIR/untrusted-server.key \\
  --listen $WRONG_NAME_PORT:$HOSTILE_DIR/wrong-name.pem:$HOSTILE_DIR/wrong-name.key
UNIT
  systemctl daemon-reload
  systemctl start hostile-server.service
  wait_for 10 curl -s --cacert "$RELEASE_CA" -o /dev/null "$HOSTILE_URL/status/204/x"
}

# A CA nobody trusts and a server certificate for 127.0.0.1 from it; and a
# certificate from the trusted release CA issued for another host name.
make_hostile_certificates() {
  (
    cd "$HOSTILE_DIR" || exit 1
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout untrusted-ca.key -out untrusted-ca.pem \
      -days 2 -subj /CN=not-a-trusted-ca -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature \
      extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost >ip.ext
    openssl req "${ec[@]}" -keyout untrusted-server.key -out untrusted.csr -subj /CN=localhost
    openssl x509 -req -in untrusted.csr -CA untrusted-ca.pem -CAkey untrusted-ca.key \
      -CAcreateserial -out untrusted-server.pem -days 2 -extfile ip.ext
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature \
      extendedKeyUsage=serverAuth subjectAltName=DNS:releases.example.org >name.ext
    openssl req "${ec[@]}" -keyout wrong-name.key -out wrong-name.csr -subj /CN=releases.example.org
    openssl x509 -req -in wrong-name.csr -CA /run/release-server/ca.pem \
      -CAkey /run/release-server/ca.key -CAcreateserial -out wrong-name.pem \
      -days 2 -extfile name.ext
  ) >"$HOSTILE_DIR/openssl.log" 2>&1
}


# snapshot: one line per entry of the watched trees: type, mode, owner and,
# for everything but directories, size, mtime and link target. A directory's
# own mtime is left out: a temp file made and removed again in a staging
# directory changes it, and the entries themselves are compared. The run
# directory and the instance's lock file are the upgrader's own (made by
# the first run, the pid written by each), and systemd makes
# /var/lib/upgrader for upgrade@.service (StateDirectory=); what else
# appears in them is compared. Every run, refused ones too, is counted in
# the metrics (metrics.json and the textfile node_exporter reads).
snapshot() {
{
  # shellcheck disable=SC2086
  find $HOSTILE_TREES -xdev \
    \( -path /var/lib/upgrader/demo/state.json -o -path /run/upgrader/demo.lock \
       -o -path /var/lib/upgrader/demo/metrics.json \
       -o -path /var/lib/prometheus/node-exporter/upgrader-demo.prom \
       -o -name 'systemd-private-*' -o -path "$HOSTILE_DIR" \) -prune -o \
    \( -type d -printf '%p d %m %U:%G\n' \) -o \
    -printf '%p %y %m %U:%G %s %T@ %l\n' 2>/dev/null
  # shellcheck disable=SC2086
  find $HOSTILE_SHALLOW -xdev -mindepth 1 -maxdepth 1 \
    \( -path "$HOSTILE_DIR" -o -path /run/systemd -o -path /run/user -o -path /run/log \) -prune -o \
    -printf '%p %y %m %U:%G\n' 2>/dev/null
} | { grep -v -e '^/run/upgrader d ' -e '^/var/lib/upgrader d ' || true; } |
  LC_ALL=C sort -u
}

temp_files() {
  # shellcheck disable=SC2086
  find $HOSTILE_TREES -xdev \( -name '.*.partial' -o -name '*upgrader-staged*' \
    -o -name '*upgrader-tmp-*' -o -name '*upgrader-staging*' \
    -o -name '*upgrader-removing*' \) -print 2>/dev/null || true
}

# What the service is: its process, the version it serves, and the install
# path (the bytes of a file, or the target of a link).
service_fingerprint() {
  local what
  if [ -L "$INSTALL_PATH" ]; then
    what="-> $(readlink "$INSTALL_PATH")"
  else
    what=$(sha256sum <"$INSTALL_PATH" | cut -d' ' -f1)
  fi
  echo "pid $(systemctl show -p MainPID --value demo.service)" \
    "version $(demo_version) $INSTALL_PATH $what"
}

installed_in_state() {
  python3 -c 'import json,sys
try: s = json.load(open(sys.argv[1]))
except FileNotFoundError: print("none"); sys.exit(0)
print(json.dumps(s.get("installed"), sort_keys=True), "transaction" in s)' \
    /var/lib/upgrader/demo/state.json
}

# Lines logged (by upgrader, and by systemd about the unit) so far; with -a
# journalctl prints control bytes as they are, so a raw one is found.
journal_run_lines() {
  journalctl --sync
  journalctl -b -a --no-pager -o cat SYSLOG_IDENTIFIER=upgrader + \
    _SYSTEMD_UNIT=upgrade@demo.service
}

hostile_case() {
  local name=$1 want=$2 regex=$3 how=${4:-unit}
  local out=$HOSTILE_DIR/case.out rc started=$SECONDS
  hostile_cases=$((hostile_cases + 1))
  echo "== case $hostile_cases: $name"
  local before_fp before_state before_lines
  before_fp=$(service_fingerprint)
  before_state=$(installed_in_state)
  snapshot >"$HOSTILE_DIR/before"
  case $how in
    unit)
      before_lines=$(journal_run_lines | wc -l)
      rc=$(upgrade_status demo)
      journal_run_lines | tail -n +"$((before_lines + 1))" >"$out"
      ;;
    cli)
      rc=0
      # shellcheck disable=SC2086  # HOSTILE_ARGS: words, or none
      timeout $((HOSTILE_MAX_SECONDS + 5)) upgrader $HOSTILE_ARGS apply demo >"$out" 2>&1 || rc=$?
      ;;
    json)
      rc=0
      # shellcheck disable=SC2086
      timeout $((HOSTILE_MAX_SECONDS + 5)) upgrader --json $HOSTILE_ARGS apply demo >"$out.json" 2>"$out" || rc=$?
      assert_true "$name: --json printed one valid JSON object in UTF-8" \
        python3 -c 'import json,sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
sys.exit(0 if isinstance(d, dict) and "message" in d else 1)' "$out.json"
      # The JSON text itself: control bytes in it must be escaped (\u001b).
      cat "$out.json" >>"$out"
      ;;
  esac
  assert_eq "$name: exit status" "$want" "$rc"
  if LC_ALL=C grep -a -q -E -e "$regex" "$out"; then
    echo "ok: $name: the message says what and where"
  else
    fail "$name: no line matches /$regex/ in:"
    sed 's/^/    | /' "$out" | cat -v | tail -n 20 >&2
  fi
  assert_eq "$name: no raw control byte printed or logged" "" \
    "$(LC_ALL=C grep -a -n -P '[\x00-\x08\x0b-\x1f\x7f]' "$out" | cat -v || true)"
  assert_eq "$name: no password printed, logged or saved" "" \
    "$(cat "$out" "$out.json" /var/lib/upgrader/demo/state.json 2>/dev/null |
      grep -a -c "$HOSTILE_SECRET" | grep -v '^0$' || true)"
  assert_eq "$name: the service untouched" "$before_fp" "$(service_fingerprint)"
  assert_eq "$name: state.json names the same release, no transaction" \
    "$before_state" "$(installed_in_state)"
  local changed
  changed=$(snapshot | diff "$HOSTILE_DIR/before" - | grep '^[<>]' || true)
  if [ -n "$HOSTILE_ALLOW" ]; then
    changed=$(grep -v -E "^[<>] ($HOSTILE_ALLOW)" <<<"$changed" || true)
  fi
  assert_eq "$name: nothing else written in the watched trees" "" "$changed"
  assert_eq "$name: no temp files left" "" "$(temp_files)"
  rm -f "$out.json"
  assert_true "$name: over within ${HOSTILE_MAX_SECONDS}s ($((SECONDS - started)) s)" \
    test $((SECONDS - started)) -le "$HOSTILE_MAX_SECONDS"
}

# A SHA256SUMS with the given lines, signed with the vendor's key (the
# listing verifies, so its lines are parsed: a vendor's mistake or a
# compromised build, not a forgery).
publish_listing() {
  printf '%s\n' "$@" >"$RELEASES/SHA256SUMS"
  sign_release "$RELEASES/SHA256SUMS"
}
sha_of() { sha256sum <"$1" | cut -d' ' -f1; }
# Lists every file in $RELEASES matching the glob, signed.
relist() {
  # shellcheck disable=SC2086  # the glob is expanded there
  (cd "$RELEASES" && sha256sum $1 >SHA256SUMS)
  sign_release "$RELEASES/SHA256SUMS"
}

# publish_archive RECIPE VERSION FIXTURE [EXT]: $RELEASES/demo-VERSION.EXT
# (tar.gz by default) made by support/hostile_archive.py from RECIPE around
# the test service FIXTURE, replacing any other archive of that version,
# and a signed SHA256SUMS listing every archive.
publish_archive() {
  local recipe=$1 version=$2 fixture=$3 ext=${4:-tar.gz}
  rm -f "$RELEASES/demo-$version".*
  python3 "$SRC/tests/integration/support/hostile_archive.py" "$recipe" \
    "$RELEASES/demo-$version.$ext" "$FIXTURES/$fixture" "$version"
  relist 'demo-*'
}
