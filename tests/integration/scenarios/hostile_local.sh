#!/usr/bin/env bash
# Hostile-input corpus, this machine's side (docs/hostile-input.md): a
# configuration or key others could have written, a lock file planted as a
# symlink, Path= naming a FIFO, a device or a symlink, an install directory
# others can write, file:// sources that are FIFOs or devices, a release and
# a hook printing escape sequences and bytes that are not UTF-8, dry runs,
# and time spans of centuries. Each refusal is checked by hostile_case
# (hostile_lib.sh): clear error, service untouched, nothing written outside
# staging, no temp file.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../hostile_lib.sh"
setup_demo 1 2
assert_eq "baseline: 1 -> 2" 0 "$(upgrade_status demo)"
publish 3 test_service_v3
conf=/etc/upgrader/demo.conf

echo "== configuration and keys only root could have written"
chown 65534 "$conf"
hostile_case "configuration owned by another user" 2 \
  "refusing to use '$conf': '$conf' is owned by uid 65534"
chown 0 "$conf"
chmod 0664 "$conf"
hostile_case "configuration writable by its group" 2 \
  "refusing to use '$conf': '$conf' is writable by its group"
chmod 0644 "$conf"
chmod 0777 /etc/upgrader
hostile_case "configuration in a directory anyone can write" 2 \
  "refusing to use '$conf': '/etc/upgrader' is writable by everyone" cli
chmod 0755 /etc/upgrader
chown 1000 /etc/upgrader
hostile_case "configuration in a directory a user owns" 2 \
  "refusing to use '$conf': '/etc/upgrader' is owned by uid 1000"
chown 0 /etc/upgrader
chmod 0666 "$VENDOR_PUB"
hostile_case "trusted key writable by everyone" 2 \
  "refusing to use '$VENDOR_PUB': '$VENDOR_PUB' is writable by everyone"
chmod 0644 "$VENDOR_PUB"
HOSTILE_MAX_SECONDS=10
mv "$conf" /run/hostile/demo.conf.real
mkfifo -m 0600 "$conf"
hostile_case "configuration that is a FIFO" 2 \
  "refusing to use '$conf': not a regular file" cli
rm "$conf"
mv /run/hostile/demo.conf.real "$conf"
mv "$VENDOR_PUB" /run/hostile/demo.pub.real
mkfifo -m 0600 "$VENDOR_PUB"
hostile_case "trusted key that is a FIFO" 2 \
  "refusing to use '$VENDOR_PUB': not a regular file" cli
rm "$VENDOR_PUB"
mv /run/hostile/demo.pub.real "$VENDOR_PUB"
HOSTILE_MAX_SECONDS=60

echo "== a symlink planted as the lock file"
echo victim >/etc/hostile-victim
rm -f /run/upgrader/demo.lock
ln -s /etc/hostile-victim /run/upgrader/demo.lock
hostile_case "lock file: a symlink to a file" 1 \
  "Failed to open lock file '/run/upgrader/demo.lock': Too many levels of symbolic links"
assert_eq "the file it names keeps its content" victim "$(cat /etc/hostile-victim)"
ln -sfn /etc/hostile-created /run/upgrader/demo.lock
hostile_case "lock file: a dangling symlink" 1 \
  "Failed to open lock file '/run/upgrader/demo.lock': Too many levels of symbolic links" cli
assert_true "nothing created where it points" test ! -e /etc/hostile-created
rm /run/upgrader/demo.lock

echo "== Path= that is not the executable it should be"
HOSTILE_MAX_SECONDS=10
mkfifo -m 0755 "$DEMO_DIR/fifo-service"
conf_set Install Path "$DEMO_DIR/fifo-service"
hostile_case "Path= naming a FIFO" 1 \
  "'$DEMO_DIR/fifo-service' is not a regular file" cli
conf_set Install Path /dev/zero
hostile_case "Path= naming /dev/zero" 1 "'/dev/zero' is not a regular file" cli
rm "$DEMO_DIR/fifo-service"
HOSTILE_MAX_SECONDS=60
# Its owner and mode would be taken through the link (here setuid root),
# and replacing the link by a file changes what it means.
ln -s /usr/bin/passwd "$DEMO_DIR/demo-link"
conf_set Install Path "$DEMO_DIR/demo-link"
hostile_case "Path= that is a symlink" 1 \
  "'$DEMO_DIR/demo-link' is a symbolic link; Mode=binary replaces a file"
rm "$DEMO_DIR/demo-link"
conf_set Install Path "$DEMO_BIN"
chmod 0775 "$DEMO_DIR"
hostile_case "Path= in a directory its group can write" 1 \
  "Refusing to install into '$DEMO_DIR': '$DEMO_DIR' is writable by its group"
chmod 0755 "$DEMO_DIR"
chown 1000 "$DEMO_DIR"
hostile_case "Path= in a directory a user owns" 1 \
  "Refusing to install into '$DEMO_DIR': '$DEMO_DIR' is owned by uid 1000"
chown 0 "$DEMO_DIR"
chmod 0777 /opt
hostile_case "Path= below a directory anyone can write" 1 \
  "Refusing to install into '$DEMO_DIR': '/opt' is writable by everyone"
chmod 0755 /opt

echo "== file:// sources that never end"
HOSTILE_MAX_SECONDS=10
conf_set Source AllowedSchemes "https file"
mkdir -p /srv/fifo
mkfifo -m 0644 /srv/fifo/test_service-3 /srv/fifo/SHA256SUMS
conf_set Source URL "file:///srv/fifo/test_service-@v"
hostile_case "file:// release that is a FIFO" 1 \
  "Failed to fetch 'file:///srv/fifo/test_service-3': '/srv/fifo/test_service-3' is not a regular file" cli
conf_set Source URL "$RELEASE_URL/test_service-@v"
conf_set Source ChecksumsURL "file:///srv/fifo/SHA256SUMS"
hostile_case "file:// listing that is a FIFO" 1 \
  "Failed to fetch 'file:///srv/fifo/SHA256SUMS': '/srv/fifo/SHA256SUMS' is not a regular file" cli
conf_set Source ChecksumsURL "file:///dev/zero"
hostile_case "file:// listing that is /dev/zero" 1 \
  "Failed to fetch 'file:///dev/zero': '/dev/zero' is not a regular file" cli
conf_set Source ChecksumsURL "$RELEASE_URL/SHA256SUMS"
conf_unset Source AllowedSchemes
HOSTILE_MAX_SECONDS=60

echo "== output of the release and of a hook: escaped, valid JSON, no password"
# A release whose --version (Preflight=) prints an escape sequence, bytes
# that are not UTF-8 and a URL with a password, then fails.
cat >"$RELEASES/test_service-3" <<'SH'
#!/bin/sh
printf '\033[2J\033]0;owned\007\377\376 from https://ci:hunter2@releases.example/x\n'
exit 3
SH
chmod 0755 "$RELEASES/test_service-3"
relist 'test_service-*'
for how in unit cli json; do
  hostile_case "release output with escapes ($how)" 1 \
    "Preflight= failed for 3.*(\\\\x1b|\\\\u001b)\[2J(\\\\x1b|\\\\u001b)\]0;owned(\\\\x07|\\\\u0007).*https://ci:\*\*\*@releases.example/x" \
    "$how"
done
publish 3 test_service_v3
cat >>"$conf" <<'CONF'
[Hooks]
PreStop=printf '\377\376\033[2J backing up to https://ci:hunter2@backup.example/\n'; exit 4
CONF
for how in unit json; do
  hostile_case "hook output with escapes ($how)" 1 \
    "PreStop= hook failed.*(\\\\x1b|\\\\u001b)\[2J backing up to https://ci:\*\*\*@backup.example/" \
    "$how"
done
conf_drop Hooks

echo "== dry runs write no state"
rm -rf /var/lib/upgrader/demo
HOSTILE_ARGS=--dry-run
hostile_case "dry run with an upgrade available" 0 \
  "dry run: 3 verified and staged; nothing changed" cli
conf_set Source Version 2
hostile_case "dry run that finds the target in place" 5 "already at version 2" cli
conf_unset Source Version
HOSTILE_ARGS=""
assert_true "no state directory was made" test ! -e /var/lib/upgrader/demo

echo "== time spans of centuries are long, not past"
conf_set Source DownloadTimeoutSec 20000w
conf_set Source ConnectTimeoutSec 20000w
conf_set Install PreflightTimeoutSec 20000w
conf_set Target StopTimeoutSec 20000w
conf_set Target StartTimeoutSec 20000w
conf_set Health TimeoutSec 20000w
cat >>"$conf" <<'CONF'
[Hooks]
PreStop=true
TimeoutSec=20000w
CONF
started=$SECONDS
assert_eq "2 -> 3 with 20000w everywhere" 0 "$(upgrade_status demo)"
assert_eq "v3 serving" 3 "$(demo_version)"
assert_true "and not waited for ($((SECONDS - started)) s)" test $((SECONDS - started)) -lt 30
echo "== $hostile_cases hostile cases, $SECONDS s in the test bed"
finish
