#!/usr/bin/env bash
# One host of the fleet tests, run inside its own test bed (its own
# systemd, loopback and sshd):
#
#   fleet_host.sh FLEET_DIR N
#
# Sets up the demo service at release 1 with releases 1 and 2 on its own
# release server (lib.sh's setup_demo), and a second instance, demo2, of
# the same releases (port 8082), lets in the fleet's key, starts
# sshd, writes FLEET_DIR/hostN.pid1 (the bed's PID 1 as the host sees it:
# the controller reaches sshd through `nsenter -t PID -n nc 127.0.0.1 22`),
# and stays up until FLEET_DIR/stop appears.
set -euo pipefail
FLEET=$1 N=$2
source "$SRC/tests/integration/lib.sh"
setup_demo 1 2
# A second instance on the same host: demo2.service on port 8082, its own
# executable, the same release server and key.
mkdir -p /opt/demo2/bin
install -m 0755 "$FIXTURES/test_service_v1" /opt/demo2/bin/demo
cat >/etc/systemd/system/demo2.service <<UNIT
[Service]
Type=exec
ExecStart=/opt/demo2/bin/demo --port 8082
Restart=on-failure
RestartSec=1s
UNIT
sed -e 's|^Path=.*|Path=/opt/demo2/bin/demo|' -e 's|^Unit=.*|Unit=demo2.service|' \
  -e 's|127.0.0.1:8080|127.0.0.1:8082|' /etc/upgrader/demo.conf >/etc/upgrader/demo2.conf
config_changed
systemctl start demo2.service
DEMO_PORT=8082 wait_for 10 demo_healthy || { echo "host$N: demo2 did not come up" >&2; exit 1; }
hostnamectl set-hostname "host$N" 2>/dev/null || hostname "host$N"
install -d -m 0700 /root/.ssh
install -m 0600 "$FLEET/id.pub" /root/.ssh/authorized_keys
systemctl start ssh.service
wait_for 10 bash -c '(exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null' ||
  { echo "host$N: sshd does not listen" >&2; exit 1; }
echo "$TESTBED_PID1" >"$FLEET/host$N.pid1.tmp"
mv "$FLEET/host$N.pid1.tmp" "$FLEET/host$N.pid1"
while [ ! -e "$FLEET/stop" ]; do sleep 0.2; done
