// The process exit codes: a stable, documented contract for scripts and for
// upgrade@.service (see README.md and upgrader(8)).
#pragma once

namespace upgrader {

enum ExitCode : int {
  /// apply: upgraded and committed; check: a newer release is available;
  /// other commands: done.
  kExitOk = 0,
  /// Failed before any change: the service was not touched.
  kExitFailedUnchanged = 1,
  /// Usage or configuration error: nothing was done.
  kExitUsage = 2,
  /// The upgrade failed and was rolled back: the old version is running and
  /// healthy.
  kExitRolledBack = 3,
  /// The upgrade failed and so did the rollback: an operator is needed.
  kExitRollbackFailed = 4,
  /// Nothing to do: already at the target version (or no newer release).
  kExitNothingToDo = 5,
};

}  // namespace upgrader
