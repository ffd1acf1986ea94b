#!/usr/bin/env bash
# A Podman container upgrade killed at every fault point; the next run
# ends consistent. Needs -DUPGRADER_FAULT_INJECTION=ON.
ENGINE=podman
source "$(dirname "$0")/../container_faults.sh"
