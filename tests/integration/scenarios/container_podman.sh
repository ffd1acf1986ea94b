#!/usr/bin/env bash
# Podman (Debian's 4.3, its API on podman.socket) upgraded and rolled back
# through `systemctl start upgrade@demo`, from a registry with basic auth.
ENGINE=podman REGISTRY_MODE=--auth
source "$(dirname "$0")/../container_upgrade.sh"
