#!/usr/bin/env bash
# Power loss at the persistence points of an upgrade and of a rollback,
# Mode=symlink (`current` and the release directories on the loop device's
# file system): see power_loss.sh. The suite tries every 24th call (the
# binary mode every 12th): the steps are the same transaction's.
POWER_LOSS_MODE=symlink POWER_LOSS_EVERY=${POWER_LOSS_EVERY:-24} \
  exec bash "$(dirname "$0")/power_loss.sh"
