# Container engines and a registry for the integration scenarios: sourced
# after lib.sh, INSIDE the test bed (tests/testbed/testbed.sh), where
# systemctl talks to the throwaway systemd and 127.0.0.1 is the test bed's
# own loopback. Everything here uses Debian's packages only: docker-registry
# (the Distribution registry), podman + runc, docker.io (+ containerd),
# skopeo, openssl, curl, python3.
#
#   start_registry [--auth|--token]  HTTPS registry on 127.0.0.1:5000, test CA
#   stop_registry / restart_registry  take it down / bring it back
#   setup_podman                      podman.socket: /run/podman/podman.sock
#   setup_docker                      docker.socket: /run/docker.sock
#   build_image NAME:TAG FIXTURE [--format oci|v2s2]
#   push_image NAME:TAG               -> IMAGE_DIGEST, image_digest, image_ref
#   podman_login / docker_login       credentials into the engines' auth files
#   engine_pull podman|docker REF     pull through the Engine API (auth header)
#   container_demo_unit podman|docker REF   demo.service running REF, healthy
#   container_demo_quadlet REF healthy|plain   the same as a Quadlet
#                                     demo.container (Podman 4.4+), with or
#                                     without Notify=healthy
#   set_demo_image REF                rewrite the unit's image env file
#   registry_auth_header              X-Registry-Auth value for the Engine API
#   registry_curl PATH [CURL ARG]...  curl the registry (CA, credentials)
#   engine_api SOCK METHOD PATH [CURL ARG]...  curl an Engine API socket
#
# Each step waits on a real condition (lib.sh's wait_for) and reports how
# long it took on stderr ("container_lib: STEP took N.NNs"); the same lines
# are collected in $CT_STATE/timings.
#
# Container storage must not sit on the test bed's overlay root (overlay on
# overlay fails): setup_podman and setup_docker mount a tmpfs on their
# storage directories themselves when the scenario did not pass
# `--tmpfs /var/lib/containers` (or /var/lib/docker, /var/lib/containerd).
#
# Needs lib.sh (wait_for, FIXTURES) sourced first.

: "${FIXTURES:?source lib.sh before container_lib.sh}"

REGISTRY=127.0.0.1:5000                 # host:port, as image references use it
REGISTRY_URL=https://$REGISTRY
CT_STATE=/var/lib/upgrader-containers   # CA, registry config and storage, images
REGISTRY_CA=$CT_STATE/ca/ca.crt
PODMAN_SOCK=/run/podman/podman.sock
DOCKER_SOCK=/run/docker.sock
# Where each engine's clients keep registry credentials for root, as the
# system units (no XDG_RUNTIME_DIR, no HOME) see them; podman_login and
# docker_login write exactly these files whatever the caller's environment.
PODMAN_AUTH_FILE=/run/containers/0/auth.json
DOCKER_CONFIG_DIR=/root/.docker
DOCKER_AUTH_FILE=$DOCKER_CONFIG_DIR/config.json
# Debian's docker CLI: /usr/local/bin/docker may be a newer client.
DOCKER_CLI=/usr/bin/docker
# The container demo unit: image reference in an environment file.
DEMO_IMAGE_ENV=/var/lib/upgrader/demo/image.env
REGISTRY_AUTH=none                      # none | basic | token
REGISTRY_USER=""
REGISTRY_PASSWORD=""
IMAGE_DIGEST=""
export REGISTRY REGISTRY_URL REGISTRY_CA REGISTRY_USER REGISTRY_PASSWORD \
  PODMAN_SOCK DOCKER_SOCK

ct_log() { echo "container_lib: $*" >&2; }

# _ct_took STEP START: logs how long STEP took since START ($EPOCHREALTIME).
_ct_took() {
  local line
  line=$(awk -v a="$2" -v b="$EPOCHREALTIME" -v s="$1" \
    'BEGIN { printf "%s took %.2fs", s, b - a }')
  mkdir -p "$CT_STATE"
  echo "$line" >>"$CT_STATE/timings"
  ct_log "$line"
}

# The test CA and a server certificate for 127.0.0.1 (IP SAN) and localhost,
# made once per boot. EC P-256: key generation takes milliseconds.
make_test_ca() {
  local dir=$CT_STATE/ca
  [ -s "$dir/server.crt" ] && return 0
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 2 -subj "/CN=upgrader test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=127.0.0.1" \
    2>/dev/null || return 1
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" \
    2>/dev/null || return 1
  # Where the engines look for a registry's CA (and skopeo, which reads the
  # same directory as podman).
  local d
  for d in /etc/containers/certs.d /etc/docker/certs.d; do
    mkdir -p "$d/$REGISTRY"
    cp "$dir/ca.crt" "$d/$REGISTRY/ca.crt"
  done
}

# An htpasswd file with one bcrypt entry (the registry accepts only bcrypt),
# by htpasswd of apache2-utils (python3's crypt module is gone in 3.13).
_ct_htpasswd() {
  local file=$1 user=$2 password=$3
  htpasswd -Bbn "$user" "$password" >"$file"
}

# start_registry [--auth|--token]: the Distribution registry as
# test-registry.service on https://127.0.0.1:5000, storage under $CT_STATE.
#   --auth   htpasswd basic auth (user/password in REGISTRY_USER/_PASSWORD)
#   --token  Bearer tokens from a local token server on 127.0.0.1:5001
#            (test-registry-token.service), which takes the same basic
#            credentials (python3 stdlib, written to $CT_STATE/token).
start_registry() {
  local t0=$EPOCHREALTIME mode=none
  case "${1:-}" in
    "") ;;
    --auth) mode=basic ;;
    --token) mode=token ;;
    *) ct_log "start_registry: unknown option $1"; return 2 ;;
  esac
  make_test_ca || { ct_log "start_registry: could not make the test CA"; return 1; }
  local dir=$CT_STATE/registry
  mkdir -p "$dir/storage"
  REGISTRY_AUTH=$mode
  local auth=""
  if [ "$mode" != none ]; then
    REGISTRY_USER=upgrader
    REGISTRY_PASSWORD=test-password-$RANDOM$RANDOM
    export REGISTRY_USER REGISTRY_PASSWORD
    _ct_htpasswd "$dir/htpasswd" "$REGISTRY_USER" "$REGISTRY_PASSWORD" ||
      { ct_log "start_registry: could not write htpasswd"; return 1; }
  fi
  case "$mode" in
    basic)
      auth="auth:
  htpasswd:
    realm: upgrader-test-registry
    path: $dir/htpasswd"
      ;;
    token)
      _ct_start_token_server || return 1
      auth="auth:
  token:
    realm: https://127.0.0.1:5001/token
    service: upgrader-test-registry
    issuer: upgrader-test-token-server
    rootcertbundle: $CT_STATE/token/token.crt"
      ;;
  esac
  cat >"$dir/config.yml" <<CONF
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $REGISTRY
  tls:
    certificate: $CT_STATE/ca/server.crt
    key: $CT_STATE/ca/server.key
  headers:
    X-Content-Type-Options: [nosniff]
$auth
CONF
  cat >/etc/systemd/system/test-registry.service <<UNIT
[Unit]
Description=Distribution registry for the integration tests
[Service]
ExecStart=/usr/bin/docker-registry serve $dir/config.yml
UNIT
  systemctl daemon-reload
  systemctl restart test-registry.service || return 1
  _ct_wait_registry || { ct_log "registry did not answer on $REGISTRY_URL"; return 1; }
  _ct_took "start_registry${1:+ $1}" "$t0"
}

# Any HTTP answer from /v2/ (200 open, 401 with auth) means it serves.
_ct_registry_answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    --cacert "$REGISTRY_CA" "$REGISTRY_URL/v2/") || return 1
  [ "$code" = 200 ] || [ "$code" = 401 ]
}
_ct_wait_registry() { wait_for 15 _ct_registry_answers; }

# registry_blob_reads: how many blob requests the registry has logged (its
# access log, in the journal of test-registry.service): a pull reads blobs,
# an engine that holds the image already reads none.
registry_blob_reads() {
  journal -o cat -u test-registry.service | grep -c '/blobs/sha256:' || true
}

# Takes the registry down (connection refused on 127.0.0.1:5000) and back.
stop_registry() { systemctl stop test-registry.service; }
restart_registry() {
  systemctl start test-registry.service && _ct_wait_registry
}

# registry_curl PATH [CURL ARG]...: curl $REGISTRY_URL/PATH with the test CA
# and, with auth on, the credentials (a token fetched first in --token mode).
registry_curl() {
  local path=$1
  shift
  local auth=()
  case "$REGISTRY_AUTH" in
    basic) auth=(-u "$REGISTRY_USER:$REGISTRY_PASSWORD") ;;
    token)
      local token
      token=$(registry_token "$(_ct_scope_for "$path")") || return 1
      auth=(-H "Authorization: Bearer $token")
      ;;
  esac
  curl -sS --cacert "$REGISTRY_CA" "${auth[@]+"${auth[@]}"}" "$@" \
    "$REGISTRY_URL/${path#/}"
}

# The token scope a registry path needs: v2/NAME/... -> repository:NAME:pull,push
_ct_scope_for() {
  local p=${1#/}
  p=${p#v2/}
  case "$p" in
    ""|_catalog*) echo "registry:catalog:*" ;;
    *) p=${p%%/manifests/*}; p=${p%%/tags/*}; p=${p%%/blobs/*}
       echo "repository:$p:pull,push" ;;
  esac
}

# registry_token SCOPE: a Bearer token from the token server (--token mode).
registry_token() {
  curl -fsS --cacert "$REGISTRY_CA" -u "$REGISTRY_USER:$REGISTRY_PASSWORD" \
    "https://127.0.0.1:5001/token?service=upgrader-test-registry&scope=$1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# ---- token server (start_registry --token) ---------------------------------

# A token server in the Distribution registry's Bearer scheme (spec/auth/jwt.md
# in docker-registry's docs), python3 stdlib only, RS256 signatures made by
# `openssl dgst -sha256 -sign`, the signing certificate in the JWT's x5c
# header (the registry checks it against its rootcertbundle). GET /token
# with Basic credentials matching the htpasswd file: a token granting the
# requested scopes. Without credentials: a token granting nothing (as public
# registries do; the registry then answers 401 insufficient_scope). Wrong
# credentials: 401. Every request is logged to the journal.
_ct_write_token_server() {
  cat >"$1" <<'PY'
import argparse, base64, json, ssl, subprocess, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

ap = argparse.ArgumentParser()
for opt in ("listen", "tls-cert", "tls-key", "sign-key", "sign-cert",
            "htpasswd", "issuer", "service"):
    ap.add_argument("--" + opt, required=True)
ap.add_argument("--ttl", type=int, default=300)
args = ap.parse_args()

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

with open(args.sign_cert) as f:
    leaf = base64.b64encode(ssl.PEM_cert_to_DER_cert(f.read())).decode()
users = {}
with open(args.htpasswd) as f:
    for line in f:
        if ":" in line:
            name, hashed = line.strip().split(":", 1)
            users[name] = hashed

def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [leaf]}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.sign_key],
                         input=signing_input, capture_output=True, check=True).stdout
    return signing_input.decode() + "." + b64url(sig)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def user(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return ""
        try:
            name, password = base64.b64decode(auth[6:]).decode().split(":", 1)
        except Exception:
            return None
        # htpasswd -v checks the password against the file's bcrypt hash.
        if name in users and subprocess.run(
                ["htpasswd", "-vb", args.htpasswd, name, password],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            return name
        return None

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path != "/token":
            return self.reply(200 if url.path == "/" else 404, {})
        query = parse_qs(url.query)
        name = self.user()
        if name is None:
            return self.reply(401, {"details": "invalid credentials"},
                              [("WWW-Authenticate", 'Basic realm="token"')])
        access = []
        for scope in query.get("scope", []):
            for item in scope.split(" "):
                parts = item.split(":")
                if len(parts) < 3 or not name:
                    continue
                access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                               "actions": parts[-1].split(",")})
        now = int(time.time())
        token = sign({"iss": args.issuer, "sub": name,
                      "aud": query.get("service", [args.service])[0],
                      "exp": now + args.ttl, "nbf": now - 10, "iat": now,
                      "jti": uuid.uuid4().hex, "access": access})
        self.reply(200, {"token": token, "access_token": token,
                         "expires_in": args.ttl,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})

    def do_POST(self):  # OAuth2 password/refresh grants: not offered
        self.reply(404, {})

    def log_message(self, fmt, *a):
        sys.stderr.write("token-server: %s %s\n" % (self.address_string(), fmt % a))

host, port = args.listen.rsplit(":", 1)
server = ThreadingHTTPServer((host, int(port)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.tls_cert, args.tls_key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
}

_ct_start_token_server() {
  local dir=$CT_STATE/token
  mkdir -p "$dir"
  # The signing key and its self-signed certificate, which the registry
  # trusts as its rootcertbundle. RSA for RS256.
  if [ ! -s "$dir/token.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token.key" \
      -out "$dir/token.crt" -days 2 -subj "/CN=upgrader test token signer" \
      2>/dev/null || return 1
  fi
  _ct_write_token_server "$dir/server.py"
  cat >/etc/systemd/system/test-registry-token.service <<UNIT
[Unit]
Description=Token server for the test registry
[Service]
Environment=PYTHONDONTWRITEBYTECODE=1 PYTHONWARNINGS=ignore
ExecStart=/usr/bin/python3 $dir/server.py --listen 127.0.0.1:5001 \\
  --tls-cert $CT_STATE/ca/server.crt --tls-key $CT_STATE/ca/server.key \\
  --sign-key $dir/token.key --sign-cert $dir/token.crt \\
  --htpasswd $CT_STATE/registry/htpasswd \\
  --issuer upgrader-test-token-server --service upgrader-test-registry
UNIT
  # The token endpoint is another host:port: give the engines its CA too.
  local d
  for d in /etc/containers/certs.d /etc/docker/certs.d; do
    mkdir -p "$d/127.0.0.1:5001"
    cp "$CT_STATE/ca/ca.crt" "$d/127.0.0.1:5001/ca.crt"
  done
  systemctl daemon-reload
  systemctl restart test-registry-token.service || return 1
  wait_for 15 curl -fs -o /dev/null --max-time 2 --cacert "$REGISTRY_CA" \
    https://127.0.0.1:5001/ || { ct_log "token server did not answer"; return 1; }
}

# ---- engines -----------------------------------------------------------------

# _ct_tmpfs DIR: a tmpfs on DIR unless something is mounted there already.
_ct_tmpfs() {
  mkdir -p "$1"
  mountpoint -q "$1" || mount -t tmpfs -o mode=0711 tmpfs "$1"
}

# _ct_api_ping SOCK: the Engine API answers "OK" on /_ping.
_ct_api_ping() {
  [ "$(curl -s --max-time 2 --unix-socket "$1" http://d/_ping)" = OK ]
}

# setup_podman: runc (crun fails on these hybrid-cgroup machines), low
# default ulimits (no CAP_SYS_RESOURCE to raise them), storage on a tmpfs,
# and the Docker-compatible API on $PODMAN_SOCK (podman.socket activates
# podman.service on the first connection).
setup_podman() {
  local t0=$EPOCHREALTIME
  _ct_tmpfs /var/lib/containers || return 1
  mkdir -p /etc/containers
  cat >/etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
CONF
  systemctl start podman.socket || return 1
  wait_for 20 _ct_api_ping "$PODMAN_SOCK" ||
    { ct_log "podman API did not answer on $PODMAN_SOCK"; return 1; }
  _ct_took setup_podman "$t0"
}

# setup_docker: Debian's containerd.service, docker.socket and docker.service
# with an /etc/docker/daemon.json for the test bed (no iptables, no bridge,
# low default ulimits), storage on tmpfs, the API on $DOCKER_SOCK.
setup_docker() {
  local t0=$EPOCHREALTIME
  _ct_tmpfs /var/lib/docker || return 1
  _ct_tmpfs /var/lib/containerd || return 1
  mkdir -p /etc/docker
  cat >/etc/docker/daemon.json <<'JSON'
{
  "iptables": false,
  "ip6tables": false,
  "bridge": "none",
  "default-ulimits": {
    "nofile": { "Name": "nofile", "Soft": 1024, "Hard": 1024 },
    "nproc": { "Name": "nproc", "Soft": 1024, "Hard": 1024 }
  }
}
JSON
  systemctl start containerd.service docker.socket docker.service || return 1
  wait_for 30 _ct_api_ping "$DOCKER_SOCK" ||
    { ct_log "docker API did not answer on $DOCKER_SOCK"; return 1; }
  _ct_took setup_docker "$t0"
}

# engine_api SOCK METHOD PATH [CURL ARG]...: the Engine API (v1.41) over its
# unix socket; prints the body. e.g. engine_api "$PODMAN_SOCK" GET /images/json
engine_api() {
  local sock=$1 method=$2 path=$3
  shift 3
  curl -sS --unix-socket "$sock" -X "$method" "$@" "http://d/v1.41/${path#/}"
}

# ---- images ----------------------------------------------------------------

# build_image NAME:TAG FIXTURE [--format oci|v2s2]: an image whose only file
# is the static test service $FIXTURES/FIXTURE at /test_service, its
# entrypoint (default command: --port $DEMO_PORT), written by hand as an OCI
# layout under $CT_STATE/images. No engine is involved, and the result is
# byte-for-byte reproducible (fixed mtimes, gzip -n): the same fixture always
# gives the same digests. The format is what push_image sends: OCI (default)
# or Docker schema 2.
build_image() {
  local t0=$EPOCHREALTIME ref=$1 fixture=$2 format=oci
  shift 2
  [ "${1:-}" = --format ] && { format=$2; shift 2; }
  case "$format" in oci|v2s2) ;; *) ct_log "build_image: format oci|v2s2"; return 2 ;; esac
  local bin=$FIXTURES/$fixture
  [ -x "$bin" ] || { ct_log "build_image: no fixture $bin"; return 1; }
  local dir=$CT_STATE/images/${ref//[:\/]/_}
  rm -rf "$dir"
  mkdir -p "$dir/rootfs" "$dir/oci/blobs/sha256"
  install -m 0755 "$bin" "$dir/rootfs/test_service"
  mkdir -m 0755 "$dir/rootfs/etc" "$dir/rootfs/tmp"
  chmod 1777 "$dir/rootfs/tmp"
  tar -C "$dir/rootfs" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime=@0 -cf "$dir/layer.tar" etc test_service tmp || return 1
  local diff_id layer layer_size config config_size manifest manifest_size
  diff_id=$(sha256sum <"$dir/layer.tar" | cut -d' ' -f1)
  gzip -n -1 -c "$dir/layer.tar" >"$dir/layer.tar.gz"
  layer=$(sha256sum <"$dir/layer.tar.gz" | cut -d' ' -f1)
  layer_size=$(stat -c %s "$dir/layer.tar.gz")
  mv "$dir/layer.tar.gz" "$dir/oci/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Entrypoint":["/test_service"],"Cmd":["--port","%s"],"WorkingDir":"/","Labels":{"org.upgrader.test.fixture":"%s"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"container_lib.sh build_image %s"}]}' \
    "${DEMO_PORT:-8080}" "$fixture" "$diff_id" "$fixture" >"$dir/config.json"
  config=$(sha256sum <"$dir/config.json" | cut -d' ' -f1)
  config_size=$(stat -c %s "$dir/config.json")
  mv "$dir/config.json" "$dir/oci/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$dir/manifest.json"
  manifest=$(sha256sum <"$dir/manifest.json" | cut -d' ' -f1)
  manifest_size=$(stat -c %s "$dir/manifest.json")
  mv "$dir/manifest.json" "$dir/oci/blobs/sha256/$manifest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
    "$manifest" "$manifest_size" >"$dir/oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci/oci-layout"
  echo "$format" >"$dir/format"
  rm -rf "$dir/rootfs" "$dir/layer.tar"
  _ct_took "build_image $ref" "$t0"
}

# push_image NAME:TAG: pushes what build_image made to $REGISTRY/NAME:TAG
# (skopeo, with the credentials when auth is on), then asks the registry for
# the manifest digest (HEAD, Docker-Content-Digest) and checks it against
# what skopeo pushed. Sets IMAGE_DIGEST, records it for image_digest and
# image_ref, and prints it.
push_image() {
  local t0=$EPOCHREALTIME ref=$1
  local name=${ref%:*} tag=${ref##*:}
  local dir=$CT_STATE/images/${ref//[:\/]/_}
  [ -f "$dir/format" ] || { ct_log "push_image: build_image $ref first"; return 1; }
  local args=(--quiet --dest-cert-dir "/etc/containers/certs.d/$REGISTRY"
    --digestfile "$dir/pushed-digest")
  [ "$(cat "$dir/format")" = v2s2 ] && args+=(--format v2s2)
  [ "$REGISTRY_AUTH" != none ] &&
    args+=(--dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD")
  skopeo copy "${args[@]}" "oci:$dir/oci:latest" "docker://$REGISTRY/$name:$tag" ||
    { ct_log "push_image: skopeo copy to $REGISTRY/$name:$tag failed"; return 1; }
  local digest
  digest=$(registry_manifest_digest "$name" "$tag") || return 1
  if [ "$digest" != "$(cat "$dir/pushed-digest")" ]; then
    ct_log "push_image: registry says $digest, skopeo pushed $(cat "$dir/pushed-digest")"
    return 1
  fi
  mkdir -p "$CT_STATE/digests"
  echo "$digest" >"$CT_STATE/digests/${ref//\//_}"
  IMAGE_DIGEST=$digest
  echo "$digest"
  _ct_took "push_image $ref" "$t0"
}

# Accept header for every manifest type the registry may hold.
MANIFEST_ACCEPT="application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"

# registry_manifest_digest NAME TAG|DIGEST: the registry's
# Docker-Content-Digest for that manifest (HEAD request).
registry_manifest_digest() {
  registry_curl "v2/$1/manifests/$2" -f -I -H "Accept: $MANIFEST_ACCEPT" |
    tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p'
}

# image_digest NAME:TAG: the digest push_image recorded for it.
image_digest() { cat "$CT_STATE/digests/${1//\//_}"; }
# image_ref NAME:TAG: $REGISTRY/NAME@sha256:... (what units pin).
image_ref() { echo "$REGISTRY/${1%:*}@$(image_digest "$1")"; }

# ---- credentials -----------------------------------------------------------

# podman_login: `podman login` for the test registry into $PODMAN_AUTH_FILE
# (/run/containers/0/auth.json), the file podman uses as root without
# XDG_RUNTIME_DIR: the podman.service API (when a pull sends no
# X-Registry-Auth) and `podman run` in system units read it. Podman also
# falls back to /root/.docker/config.json.
podman_login() {
  printf '%s' "$REGISTRY_PASSWORD" |
    podman login --authfile "$PODMAN_AUTH_FILE" --username "$REGISTRY_USER" \
      --password-stdin "$REGISTRY" >/dev/null
}

# docker_login: `docker login` (Debian's client) into $DOCKER_AUTH_FILE
# (/root/.docker/config.json: "auths" -> base64 of user:password), which
# the docker CLI reads, in units too. The docker daemon never reads it: an
# Engine API pull without X-Registry-Auth is anonymous.
docker_login() {
  printf '%s' "$REGISTRY_PASSWORD" | DOCKER_HOST=unix://$DOCKER_SOCK \
    "$DOCKER_CLI" --config "$DOCKER_CONFIG_DIR" login --username "$REGISTRY_USER" \
      --password-stdin "$REGISTRY" >/dev/null 2>&1
}

# registry_auth_header [USER PASSWORD]: the X-Registry-Auth header value the
# Engine API takes on a pull: base64url (with padding) of the JSON
# {"username","password","serveraddress"}.
registry_auth_header() {
  local user=${1:-$REGISTRY_USER} password=${2:-$REGISTRY_PASSWORD}
  python3 -c 'import base64, json, sys
print(base64.urlsafe_b64encode(json.dumps({"username": sys.argv[1],
  "password": sys.argv[2], "serveraddress": sys.argv[3]}).encode()).decode())' \
    "$user" "$password" "$REGISTRY"
}

# _ct_sock podman|docker: that engine's API socket.
_ct_sock() {
  case "$1" in
    podman) echo "$PODMAN_SOCK" ;;
    docker) echo "$DOCKER_SOCK" ;;
    *) ct_log "engine must be podman or docker, not '$1'"; return 2 ;;
  esac
}

# engine_pull podman|docker REF: POST /v1.41/images/create for REF
# (NAME:TAG, NAME@sha256:..., NAME:TAG@sha256:...), with X-Registry-Auth when
# the registry wants credentials. Fails when the engine answers an HTTP error
# (Docker: 404/500 + {"message"}) or streams an error line (Podman: always
# 200, then {"error":...}); prints the last line of the stream.
engine_pull() {
  local t0=$EPOCHREALTIME sock ref=$2 image tag
  sock=$(_ct_sock "$1") || return 2
  if [[ $ref == *@* ]]; then
    image=${ref%@*} tag=${ref#*@}
    [[ ${image##*/} == *:* ]] && image=${image%:*}
  else
    image=${ref%:*} tag=${ref##*:}
  fi
  local hdr=()
  [ "$REGISTRY_AUTH" != none ] && hdr=(-H "X-Registry-Auth: $(registry_auth_header)")
  local out=$CT_STATE/pull.out code
  mkdir -p "$CT_STATE"
  code=$(curl -sS --unix-socket "$sock" -X POST "${hdr[@]+"${hdr[@]}"}" -o "$out" \
    -w '%{http_code}' "http://d/v1.41/images/create?fromImage=$image&tag=$tag") ||
    { ct_log "engine_pull $1 $ref: no answer"; return 1; }
  if [ "$code" != 200 ] || grep -q '"error"' "$out"; then
    ct_log "engine_pull $1 $ref: HTTP $code $(tail -n 1 "$out")"
    return 1
  fi
  tail -n 1 "$out"
  _ct_took "engine_pull $1 $ref" "$t0"
}

# The demo service in a container, as the upgrader will find it: a unit
# that reads the image reference from $DEMO_IMAGE_ENV (UPGRADER_IMAGE=...),
# so changing the reference needs a restart but no daemon-reload.
# Podman's is what `podman generate systemd --new` writes (Type=notify,
# conmon reports readiness, podman rm in ExecStopPost); Docker's runs the
# client attached (Type=exec) and stops with `docker stop`.
_ct_demo_unit_podman() {
  cat <<UNIT
[Unit]
Description=demo in a Podman container
Wants=network-online.target
After=network-online.target
RequiresMountsFor=%t/containers

[Service]
Environment=PODMAN_SYSTEMD_UNIT=%n
EnvironmentFile=$DEMO_IMAGE_ENV
Restart=on-failure
TimeoutStopSec=70
ExecStartPre=/bin/rm -f %t/%n.ctr-id
ExecStart=/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon --replace -d --name demo --network=host \${UPGRADER_IMAGE} --port $DEMO_PORT
ExecStop=/usr/bin/podman stop --ignore -t 10 --cidfile=%t/%n.ctr-id
ExecStopPost=/usr/bin/podman rm -f --ignore -t 10 --cidfile=%t/%n.ctr-id
Type=notify
NotifyAccess=all
UNIT
}
_ct_demo_unit_docker() {
  cat <<UNIT
[Unit]
Description=demo in a Docker container
Requires=docker.service
After=docker.service

[Service]
EnvironmentFile=$DEMO_IMAGE_ENV
Restart=on-failure
TimeoutStopSec=70
ExecStartPre=-$DOCKER_CLI rm -f demo
ExecStart=$DOCKER_CLI run --rm --name demo --network=host \${UPGRADER_IMAGE} --port $DEMO_PORT
ExecStop=$DOCKER_CLI stop -t 10 demo
Type=exec
UNIT
}

# The Quadlet pattern of examples/quadlet (docs there): the .container
# names the image as ${UPGRADER_IMAGE}, read from the environment file of
# its [Service] section. Quadlet copies Image= into the ExecStart= it
# generates and systemd expands the variable at each start, so pinning a
# new image needs no daemon-reload, and a reload regenerates the same unit.
# MODE healthy: Notify=healthy with the image's own HealthCmd=, so that
# the start job ends only once the container is healthy.
_ct_demo_quadlet() {
  cat <<UNIT
[Unit]
Description=demo as a Quadlet container

[Container]
Image=\${UPGRADER_IMAGE}
ContainerName=demo
Network=host
Exec=--port $DEMO_PORT
UNIT
  if [ "$1" = healthy ]; then
    cat <<UNIT
# The exec form (a JSON array): a plain string is run by /bin/sh -c, and
# the image has no shell.
HealthCmd=["/test_service", "--check", "$DEMO_PORT"]
HealthInterval=1s
HealthRetries=3
# Unhealthy: the container is killed, so the start job fails at once
# instead of waiting for TimeoutStartSec=.
HealthOnFailure=kill
Notify=healthy
UNIT
  fi
  cat <<UNIT

[Service]
EnvironmentFile=$DEMO_IMAGE_ENV
Restart=on-failure
TimeoutStartSec=30
UNIT
}

# container_demo_quadlet REF healthy|plain: demo.service generated by Quadlet
# from /etc/containers/systemd/demo.container, running REF, healthy.
container_demo_quadlet() {
  local t0=$EPOCHREALTIME
  _ct_sock podman >/dev/null || return 2
  set_demo_image "$1"
  mkdir -p /etc/containers/systemd
  _ct_demo_quadlet "$2" >/etc/containers/systemd/demo.container
  systemctl daemon-reload
  systemctl cat demo.service >/dev/null 2>&1 ||
    { ct_log "Quadlet generated no demo.service"; return 1; }
  systemctl restart demo.service || return 1
  wait_for 30 demo_healthy || { ct_log "demo.service (Quadlet, $1) not healthy"; return 1; }
  _ct_took "container_demo_quadlet $2" "$t0"
}

# set_demo_image REF: the image the demo unit runs from its next start.
set_demo_image() {
  mkdir -p "$(dirname "$DEMO_IMAGE_ENV")"
  echo "UPGRADER_IMAGE=$1" >"$DEMO_IMAGE_ENV"
}

# container_demo_unit podman|docker REF: demo.service running REF with
# --network=host on $DEMO_PORT, started and healthy. The engine pulls REF
# itself if it is missing (podman via $PODMAN_AUTH_FILE, the docker CLI via
# $DOCKER_AUTH_FILE when the registry wants credentials).
container_demo_unit() {
  local t0=$EPOCHREALTIME
  _ct_sock "$1" >/dev/null || return 2
  set_demo_image "$2"
  "_ct_demo_unit_$1" >/etc/systemd/system/demo.service
  systemctl daemon-reload
  systemctl start demo.service || return 1
  wait_for 30 demo_healthy || { ct_log "demo.service ($1, $2) not healthy"; return 1; }
  _ct_took "container_demo_unit $1" "$t0"
}
