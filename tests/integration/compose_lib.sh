# Shared by the compose scenarios (scenarios/compose_*.sh, example_cvat.sh,
# example_nocobase.sh): projects run by Debian's docker-compose 1.29 in the
# foreground of a unit. Source after lib.sh and container_lib.sh. The test
# bed's Docker has no bridge network: services use network_mode: host.

# version_on PORT: the version the test service on PORT reports ("" if
# none answers).
version_on() {
  curl -fsS --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null |
    sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}

# compose_unit UNIT ARG...: /etc/systemd/system/UNIT running
# `docker-compose ARG... up` as the manual says (Type=exec, ExecStop= the
# same project's `down`), daemon-reloaded.
compose_unit() {
  local unit=$1
  shift
  cat >"/etc/systemd/system/$unit" <<UNIT
[Unit]
Requires=docker.service
After=docker.service
[Service]
Type=exec
Environment=DOCKER_HOST=unix://$DOCKER_SOCK
ExecStart=/usr/bin/docker-compose $* up --no-color --remove-orphans
ExecStop=/usr/bin/docker-compose $* down --remove-orphans
TimeoutStopSec=70
UNIT
  systemctl daemon-reload
}

# two_service_project DIR: a project whose release is APP_VERSION in
# DIR/release.env (set to 1, beside a line upgrades must keep), two images
# sharing that version - web (svc, port 8080) and sidecar (sidecar, port
# 8081, restart: unless-stopped, the named volume `data`) - and
# app.service running it as project `app`. Images svc:V and sidecar:V are
# the scenario's to push.
two_service_project() {
  local dir=$1
  mkdir -p "$dir"
  cat >"$dir/docker-compose.yml" <<YAML
version: "3.7"
services:
  web:
    image: $REGISTRY/svc:\${APP_VERSION:?APP_VERSION must be set}
    network_mode: host
    command: ["--port", "8080"]
  sidecar:
    image: $REGISTRY/sidecar:\${APP_VERSION:?APP_VERSION must be set}
    network_mode: host
    command: ["--port", "8081"]
    restart: unless-stopped
    volumes:
      - data:/data
volumes:
  data:
YAML
  printf '# The release in service.\nAPP_VERSION=1\nDB_PASSWORD="s3cret"\n' \
    >"$dir/release.env"
  chmod 0600 "$dir/release.env"
  compose_unit app.service -p app -f "$dir/docker-compose.yml" \
    --env-file "$dir/release.env"
}

# two_service_release VERSION WEB_FIXTURE SIDECAR_FIXTURE: svc:VERSION and
# sidecar:VERSION built from those test services and pushed.
two_service_release() {
  build_image "svc:$1" "$2"
  build_image "sidecar:$1" "$3"
  push_image "svc:$1" >/dev/null
  push_image "sidecar:$1" >/dev/null
}

# two_service_config FILE DIR VERSION: FILE configures Mode=compose for
# two_service_project DIR, pinned to VERSION; [Health] follows, for the
# scenario to complete.
two_service_config() {
  cat >"$1" <<CONF
[Install]
Mode=compose
Path=$2/release.env
[Compose]
Project=app
File=$2/docker-compose.yml
Variable=APP_VERSION
[Container]
Engine=docker
Image=$REGISTRY/svc:@v
Version=$3
[Trust]
AllowUnsigned=yes
[Target]
Unit=app.service
[Health]
HTTP=http://127.0.0.1:8080/healthz
ExpectJSON=status=ok
CONF
}

# db_standin PATH VOLUME_DIR BACKUPS: a stand-in at PATH for a vendor's
# database tool (the stand-in images have no database): `dump`/`backup`
# copies VOLUME_DIR to BACKUPS/db-$UPGRADER_FROM_VERSION, `restore` puts
# that copy back, `restore-if-empty` only into an empty volume. Each call
# is logged to BACKUPS.log as "VERB FROM -> TO".
db_standin() {
  mkdir -p "$(dirname "$1")"
  cat >"$1" <<SH
#!/bin/sh
set -eu
backup=$3/db-\$UPGRADER_FROM_VERSION
case "\$1" in
  dump|backup) mkdir -p $3; rm -rf "\$backup"; cp -a $2/. "\$backup.new"; mv "\$backup.new" "\$backup" ;;
  restore) find $2 -mindepth 1 -delete; cp -a "\$backup/." $2/ ;;
  restore-if-empty) [ -n "\$(ls -A $2)" ] || cp -a "\$backup/." $2/ ;;
  *) exit 2 ;;
esac
echo "\$1 \$UPGRADER_FROM_VERSION -> \$UPGRADER_TO_VERSION" >>$3.log
SH
  chmod 0755 "$1"
}

# ---- the kill tests' project (compose_kills.sh, compose_kill_sweep.sh) ----

# kill_test_project: two_service_project in /srv/app, upgraded to 2 by
# /etc/upgrader/demo.conf, with short health checks and a Migrate= hook
# (so a rollback has a migration to undo). On a loaded machine Compose
# has been seen to take more than ten seconds to have the project up, so
# a release has 30 s to be healthy and the one a rollback brings back a
# minute; a scenario that upgrades to release 3 (answers 500, so it fails
# only at the timeout) gives it 10 s (fail_fast_at_3). Releases 1 to 3 are
# the scenario's to push.
kill_test_project() {
  KILL_DIR=/srv/app
  two_service_project "$KILL_DIR"
  two_service_config /etc/upgrader/demo.conf "$KILL_DIR" 2
  cat >>/etc/upgrader/demo.conf <<CONF
IntervalSec=300ms
SettleSec=1s
TimeoutSec=30s
RollbackTimeoutSec=60s
[Hooks]
Migrate=true
CONF
  # upgrade@demo may write the project's directory from now on.
  systemctl daemon-reload
}

# fail_fast_at_3: the kill test project pinned to release 3, whose 500s
# fail its health check at a timeout of 10 s.
fail_fast_at_3() {
  conf_set Container Version 3
  conf_set Health TimeoutSec 10s
}

# The version both services serve; "" while they differ or are down.
project_version() {
  local web side
  web=$(version_on 8080)
  side=$(version_on 8081)
  [ -n "$web" ] && [ "$web" = "$side" ] && echo "$web"
}
project_up() { [ -n "$(project_version)" ]; }

# Release 1 running, no upgrader state, the images of 2 and 3 not held.
reset_two_service_release() {
  systemctl stop app.service
  systemctl reset-failed app.service 2>/dev/null || true
  rm -rf /var/lib/upgrader/demo "$KILL_DIR/release.env.old"
  printf 'APP_VERSION=1\nDB_PASSWORD="s3cret"\n' >"$KILL_DIR/release.env"
  for ref in svc:2 sidecar:2 svc:3 sidecar:3; do
    engine_api "$DOCKER_SOCK" DELETE "/images/$REGISTRY/$ref" >/dev/null || true
  done
  systemctl start app.service
  wait_for 60 project_up || fail "reset: release 1 did not come up"
}

# project_consistent VERSION: succeeds when the project serves VERSION as
# its env file says, with the file's other lines kept, no transaction in
# progress, nothing temporary beside the env file, the project's two
# containers and no more, and no image of a release that is not in
# service (2 or 3) left in the engine but the rollback point's; prints
# what is wrong otherwise.
project_consistent() {
  local version=$1 env_version left containers ref
  env_version=$(sed -n 's/^APP_VERSION=//p' "$KILL_DIR/release.env")
  [ "$env_version" = "$version" ] ||
    { echo "serving '$version', the env file names '$env_version'"; return 1; }
  grep -qx 'DB_PASSWORD="s3cret"' "$KILL_DIR/release.env" ||
    { echo "the env file lost its other lines"; return 1; }
  [ -z "$(upgrader status demo | grep '^in progress' || true)" ] ||
    { echo "a transaction is left in progress"; return 1; }
  left=$(ls -A "$KILL_DIR" | grep -v -x -e docker-compose.yml -e release.env -e release.env.old || true)
  [ -z "$left" ] || { echo "temp files left beside the env file: $left"; return 1; }
  containers=$(engine_api "$DOCKER_SOCK" GET "/containers/json?all=1" |
    grep -o '"com.docker.compose.project":"app"' | wc -l)
  [ "$containers" -eq 2 ] ||
    { echo "$containers containers of the project, not 2"; return 1; }
  for ref in svc:2 sidecar:2 svc:3 sidecar:3; do
    [ "${ref#*:}" = "$version" ] && continue
    if engine_api "$DOCKER_SOCK" GET "/images/$REGISTRY/$ref/json" -f >/dev/null 2>&1; then
      echo "the engine still holds $ref, which is not in service"
      return 1
    fi
  done
}
