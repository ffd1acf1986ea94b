#!/usr/bin/env bash
# bench/fetch.sh BUILD_DIR OUT_JSON — the host part of the benchmarks (no
# systemd needed): fetch + verify + stage against curl, https against http,
# peak memory, the no-op run and the swap step. Writes one JSON object of
# numbers to OUT_JSON; progress goes to stderr. Ratios are taken within
# interleaved pairs, so a noisy machine shifts both sides alike.
#
#   A  = upgrader --dry-run apply (download hashing as bytes arrive into an
#        fsynced temp file, verify, stage with fsync, discard), run with the
#        environment upgrade@.service gives it
#   B1 = curl -o FILE && sha256sum -c       (download, then read back)
#   B2 = curl -o FILE && sync && rm FILE    (download, durable, then gone:
#        the dry run also leaves nothing behind, and removing 512 MiB means
#        dropping its pages from the cache, ~170 ms, on both sides)
#
# BENCH_SMOKE=1: tiny sizes and one pair (checks that it still works).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR OUT_JSON" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
out_json=$2
upgrader=$build/upgrader
swap_bench=$build/bench/swap_bench
for exe in "$upgrader" "$swap_bench"; do
  [ -x "$exe" ] || { echo "fetch.sh: $exe is missing (build it first)" >&2; exit 1; }
done
for tool in nginx openssl curl sha256sum python3; do
  command -v "$tool" >/dev/null || { echo "fetch.sh: $tool is missing" >&2; exit 1; }
done

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
  release_mib=4 big_mib=64 pairs=1 noop_runs=3 swaps=100
else
  release_mib=512 big_mib=2048 pairs=5 noop_runs=20 swaps=200
fi

log() { echo "fetch.sh: $*" >&2; }
ms() { printf '%d.%03d ms' $(($1 / 1000)) $(($1 % 1000)); }

# ---- scratch dir, always removed, with its nginx -----------------------
scratch=$(mktemp -d /var/tmp/upgrader-fetch-bench.XXXXXX)
nginx_pid=
cleanup() {
  local rc=$?
  if [ -n "$nginx_pid" ]; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf -- "$scratch"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$scratch"/{www,tls,nginx/tmp,target,state,run,dl,noop/www,noop/target,noop/state,noop/run,noop/metrics,swap}
# Every run writes its metrics, as on a host with node_exporter (so the
# no-op run's figure includes them), here and not in the host's own
# textfile directory.
export UPGRADER_METRICS_DIR=$scratch/noop/metrics

# Microseconds of the wall clock, without a fork: t0=${EPOCHREALTIME/./}

# ---- releases: random bytes, hashed as they are written ---------------
make_release() {  # NAME MIB
  local sum
  sum=$(head -c "$(($2 * 1024 * 1024))" /dev/urandom | tee "$scratch/www/$1" | sha256sum)
  echo "${sum%% *}  $1" >>"$scratch/www/SHA256SUMS"
}
log "creating releases: ${release_mib} MiB and ${big_mib} MiB"
make_release release-1 "$release_mib"
make_release release-2 "$big_mib"
sync

# ---- a test CA and a certificate for 127.0.0.1 -------------------------
(
  cd "$scratch/tls"
  cat >server.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EOF
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.pem -days 2 -subj /CN=upgrader-bench-ca \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout server.key -out server.csr -subj /CN=localhost
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.pem -days 2 -extfile server.ext
) >"$scratch/tls/openssl.log" 2>&1 || { cat "$scratch/tls/openssl.log" >&2; exit 1; }
ca=$scratch/tls/ca.pem

# ---- nginx on two free loopback ports ----------------------------------
read -r http_port https_port < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
EOF
)
n=$scratch/nginx
cat >"$n/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $n/nginx.pid;
error_log $n/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $n/tmp/client_body;
  proxy_temp_path $n/tmp/proxy;
  fastcgi_temp_path $n/tmp/fastcgi;
  uwsgi_temp_path $n/tmp/uwsgi;
  scgi_temp_path $n/tmp/scgi;
  server {
    listen 127.0.0.1:$http_port;
    root $scratch/www;
  }
  server {
    listen 127.0.0.1:$https_port ssl;
    ssl_certificate $scratch/tls/server.pem;
    ssl_certificate_key $scratch/tls/server.key;
    root $scratch/www;
  }
}
EOF
nginx -c "$n/nginx.conf" -p "$n" -e "$n/error.log" &
nginx_pid=$!
http=http://127.0.0.1:$http_port
https=https://127.0.0.1:$https_port
for _ in $(seq 500); do
  if curl -sf -o /dev/null "$http/SHA256SUMS" &&
     curl -sf --cacert "$ca" -o /dev/null "$https/SHA256SUMS"; then
    break
  fi
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$n/error.log" >&2; exit 1; }
  sleep 0.02
done
curl -sf -o /dev/null "$http/SHA256SUMS" || { log "nginx did not start"; cat "$n/error.log" >&2; exit 1; }
log "nginx (pid $nginx_pid) on $http and $https"

# ---- the upgrader's configs --------------------------------------------
printf '#!/bin/sh\necho app\n' >"$scratch/target/app"
chmod 0755 "$scratch/target/app"

write_conf() {  # FILE BASE_URL VERSION [CAFILE]
  {
    echo "[Source]"
    echo "URL=$2/release-@v"
    echo "Version=$3"
    echo "ChecksumsURL=$2/SHA256SUMS"
    echo "MaxSize=3G"
    [ -z "${4:-}" ] || echo "CAFile=$4"
    # Plain http is measured too: the same transfer without TLS.
    [ "${2%%://*}" != http ] || echo "AllowedSchemes=http"
    # The transfer is measured here, not the signature check.
    echo "[Trust]"
    echo "AllowUnsigned=yes"
    echo "[Install]"
    echo "Mode=binary"
    echo "Path=$scratch/target/app"
    echo "[Target]"
    echo "Unit=bench.service"
    echo "[Health]"
    echo "HTTP=http://127.0.0.1:1/"
  } >"$1"
  chmod 0644 "$1"
}
write_conf "$scratch/http.conf" "$http" 1
write_conf "$scratch/https.conf" "$https" 1 "$ca"
write_conf "$scratch/big.conf" "$http" 2

# ---- the measured commands ---------------------------------------------
elapsed_us='' rm_us=''  # set by each timed run

# The environment upgrade@.service gives the upgrader (its Environment=
# lines): what it runs with in service.
mapfile -t unit_env < <(sed -n 's/^Environment=//p' "$(dirname "$0")/../units/upgrade@.service")

# upgrader --dry-run apply with CONF; optional prefix (e.g. /usr/bin/time).
run_upgrader() {  # CONF [PREFIX...]
  local conf=$1 rc=0 t0 t1
  shift
  sync
  t0=${EPOCHREALTIME/./}
  env "${unit_env[@]}" "$@" "$upgrader" --dry-run --config "$conf" --state-dir "$scratch/state" \
    --run-dir "$scratch/run" apply bench >"$scratch/upgrader.log" 2>&1 || rc=$?
  t1=${EPOCHREALTIME/./}
  if [ "$rc" -ne 0 ] || ! grep -q "dry run" "$scratch/upgrader.log" ||
     [ "$(ls -A "$scratch/target")" != app ]; then
    log "upgrader --dry-run failed (exit $rc):"
    cat "$scratch/upgrader.log" >&2
    exit 1
  fi
  elapsed_us=$((t1 - t0))
}

# curl, then sha256sum -c (B1) or sync (B2).
run_curl() {  # sha256sum|sync
  local f=$scratch/dl/release-1 rc=0 t0 t1
  rm -f "$f"
  sync
  t0=${EPOCHREALTIME/./}
  if [ "$1" = sha256sum ]; then
    curl -sS -o "$f" "$http/release-1" && (cd "$scratch/dl" && sha256sum -c --quiet SHA256SUMS) || rc=$?
  else
    curl -sS -o "$f" "$http/release-1" && sync || rc=$?
  fi
  t1=${EPOCHREALTIME/./}
  [ "$rc" -eq 0 ] || { log "curl + $1 failed (exit $rc)"; exit 1; }
  elapsed_us=$((t1 - t0))
  # Not part of B, but the dry run's discard pays it (dropping the file's
  # pages from the cache): reported apart as curl_rm_ms.
  t0=${EPOCHREALTIME/./}
  rm -f "$f"
  t1=${EPOCHREALTIME/./}
  rm_us=$((t1 - t0))
}
grep ' release-1$' "$scratch/www/SHA256SUMS" >"$scratch/dl/SHA256SUMS"

# ---- interleaved pairs --------------------------------------------------
log "warming up"
run_upgrader "$scratch/http.conf"
run_upgrader "$scratch/https.conf"
run_curl sha256sum
run_curl sync

a_http=() a_https=() b_sum=() b_sync=() rm_after_sync=()
for ((i = 0; i < pairs; i++)); do
  if ((i % 2 == 0)); then order="a_http a_https b_sum b_sync"; else order="b_sync b_sum a_https a_http"; fi
  for what in $order; do
    case $what in
      a_http) run_upgrader "$scratch/http.conf"; a_http+=("$elapsed_us") ;;
      a_https) run_upgrader "$scratch/https.conf"; a_https+=("$elapsed_us") ;;
      b_sum) run_curl sha256sum; b_sum+=("$elapsed_us") ;;
      b_sync) run_curl sync; b_sync+=("$elapsed_us") rm_after_sync+=("$rm_us") ;;
    esac
  done
  log "pair $((i + 1))/$pairs (${release_mib} MiB): upgrader http $(ms "${a_http[i]}"), https $(ms "${a_https[i]}");" \
    "curl+sha256sum $(ms "${b_sum[i]}"), curl+sync $(ms "${b_sync[i]}") (then rm $(ms "${rm_after_sync[i]}"))"
done

# ---- peak memory --------------------------------------------------------
rss_kib() { tail -n 1 "$scratch/rss"; }
run_upgrader "$scratch/http.conf" /usr/bin/time -f %M -o "$scratch/rss"
rss=$(rss_kib)
log "peak RSS, ${release_mib} MiB release: $((rss / 1024)) MiB ($rss KiB), $(ms "$elapsed_us")"
run_upgrader "$scratch/big.conf" /usr/bin/time -f %M -o "$scratch/rss"
rss_big=$(rss_kib)
log "peak RSS, ${big_mib} MiB release: $((rss_big / 1024)) MiB ($rss_big KiB), $(ms "$elapsed_us")"
# The same without the unit's environment, for comparison.
saved_env=("${unit_env[@]}")
unit_env=()
run_upgrader "$scratch/http.conf" /usr/bin/time -f %M -o "$scratch/rss"
rss_bare=$(rss_kib)
unit_env=("${saved_env[@]}")
log "peak RSS, ${release_mib} MiB release, bare environment: $((rss_bare / 1024)) MiB ($rss_bare KiB)"
rm -f "$scratch"/www/release-* # the page cache and disk are not needed any more

# ---- no-op: already current, local source -----------------------------
nd=$scratch/noop
printf '#!/bin/sh\necho app 1\n' >"$nd/target/app"
chmod 0755 "$nd/target/app"
cp "$nd/target/app" "$nd/www/app-1"
(cd "$nd/www" && sha256sum app-1 >SHA256SUMS)
cat >"$nd/noop.conf" <<EOF
[Source]
URL=file://$nd/www/app-@v
Version=1
ChecksumsURL=file://$nd/www/SHA256SUMS
AllowedSchemes=file
[Trust]
AllowUnsigned=yes
[Install]
Mode=binary
Path=$nd/target/app
[Target]
Unit=bench.service
[Health]
HTTP=http://127.0.0.1:1/
EOF
chmod 0644 "$nd/noop.conf"
run_noop() {
  local rc=0 t0 t1
  t0=${EPOCHREALTIME/./}
  "$upgrader" --config "$nd/noop.conf" --state-dir "$nd/state" --run-dir "$nd/run" \
    apply bench >"$nd/log" 2>&1 || rc=$?
  t1=${EPOCHREALTIME/./}
  if [ "$rc" -ne 5 ]; then
    log "the no-op run exited $rc, not 5 (nothing to do):"
    cat "$nd/log" >&2
    exit 1
  fi
  elapsed_us=$((t1 - t0))
}
run_noop  # primes: records the installed version
noop=()
for ((i = 0; i < noop_runs; i++)); do
  run_noop
  noop+=("$elapsed_us")
done
log "no-op runs (us): ${noop[*]}"

# ---- the swap step -------------------------------------------------------
log "swap_bench: $swaps swaps"
swap_json=$("$swap_bench" "$scratch/swap/dir" "$swaps")
log "swap: $swap_json"

# ---- the JSON -------------------------------------------------------------
A_HTTP="${a_http[*]}" A_HTTPS="${a_https[*]}" B_SUM="${b_sum[*]}" B_SYNC="${b_sync[*]}" RM="${rm_after_sync[*]}" \
NOOP_US="${noop[*]}" RSS="$rss" RSS_BIG="$rss_big" RSS_BARE="$rss_bare" RELEASE_MIB="$release_mib" \
BIG_MIB="$big_mib" PAIRS="$pairs" SWAP_JSON="$swap_json" \
python3 - "$out_json" <<'EOF'
import json, os, statistics, sys

def nums(name):
    return [float(x) for x in os.environ[name].split()]

# Microseconds in the environment; milliseconds in the JSON.
a, ahttps, bsum, bsync, rm = (
    [x / 1000 for x in nums(n)] for n in ("A_HTTP", "A_HTTPS", "B_SUM", "B_SYNC", "RM"))
med = statistics.median
r = lambda x: round(x, 3)
swap = json.loads(os.environ["SWAP_JSON"])
result = {
    "fetch_vs_curl_sha256sum": r(med(x / y for x, y in zip(a, bsum))),
    # Both sides end with the download durable and then gone.
    "fetch_vs_curl_sync": r(med(x / (y + z) for x, y, z in zip(a, bsync, rm))),
    # curl's file left in place (its removal untimed): the old figure.
    "fetch_vs_curl_sync_keep_file": r(med(x / y for x, y in zip(a, bsync))),
    "fetch_https_vs_http": r(med(x / y for x, y in zip(ahttps, a))),
    "fetch_ms_http": r(med(a)),
    "fetch_ms_https": r(med(ahttps)),
    "curl_sha256sum_ms": r(med(bsum)),
    "curl_sync_ms": r(med(bsync)),
    # rm of the synced download (part of B2; inside A's dry-run discard).
    "curl_rm_ms": r(med(rm)),
    "release_mib": int(os.environ["RELEASE_MIB"]),
    "release_mib_2g": int(os.environ["BIG_MIB"]),
    "fetch_pairs": int(os.environ["PAIRS"]),
    "peak_rss_mib": r(int(os.environ["RSS"]) / 1024),
    "peak_rss_mib_2g": r(int(os.environ["RSS_BIG"]) / 1024),
    "peak_rss_mib_bare_env": r(int(os.environ["RSS_BARE"]) / 1024),
    "noop_ms": r(med(nums("NOOP_US")) / 1000),
    "swap_ms_p50": float(swap["swap_ms_p50"]),
    "swap_ms_p99": float(swap["swap_ms_p99"]),
}
with open(sys.argv[1], "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
for k, v in result.items():
    print("fetch.sh: %-26s %s" % (k, v), file=sys.stderr)
EOF
log "written: $out_json"
