#!/usr/bin/env bash
# A Docker container upgrade killed at every fault point; the next run
# ends consistent. Needs -DUPGRADER_FAULT_INJECTION=ON.
ENGINE=docker
source "$(dirname "$0")/../container_faults.sh"
