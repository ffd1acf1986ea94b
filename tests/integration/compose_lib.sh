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
