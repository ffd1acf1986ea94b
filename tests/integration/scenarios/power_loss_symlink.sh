#!/usr/bin/env bash
# Power loss at the persistence points of an upgrade and of a rollback,
# Mode=symlink (`current` and the release directories on the loop device's
# file system): see power_loss.sh.
POWER_LOSS_MODE=symlink exec bash "$(dirname "$0")/power_loss.sh"
