#!/usr/bin/env bash
# Docker Engine (Debian's docker.io 20.10) upgraded and rolled back through
# `systemctl start upgrade@demo`, from a registry that hands out Bearer
# tokens (the challenge Docker Hub and most registries use).
ENGINE=docker REGISTRY_MODE=--token
source "$(dirname "$0")/../container_upgrade.sh"
