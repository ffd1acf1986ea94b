// Running the operator's hooks ([Hooks] PreStop=, Migrate=, PostUpgrade=,
// PostRollback=, Restore=): the side effect behind a small interface, so the
// transaction is tested with a fake. Hooks are backups, migrations and
// `docker exec ...`: they may need what the upgrader's own sandbox does not
// allow, so the real runner (systemd/transient_hook_runner.hpp) runs each
// one as a transient service of its own, outside that sandbox. Preflight=
// and health Exec= are checks and stay in the upgrader's process
// (CommandRunner), inside the sandbox.
#pragma once

#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "exec/command_runner.hpp"

namespace upgrader {

/// One hook to run.
struct Hook {
  /// The key it was configured with, without '=': "Migrate".
  std::string kind;
  /// Run with /bin/sh -c, exactly as written (no variable expansion by
  /// anyone but the shell).
  std::string script;
  /// The UPGRADER_* variables, over the service manager's default
  /// environment (not the upgrader's: a hook behaves the same whether the
  /// upgrader runs from its unit or by hand).
  Environment env;
  Duration timeout{};
};

class HookRunner {
 public:
  virtual ~HookRunner() = default;

  /// Runs `hook` and waits for it, up to its timeout (then it is stopped:
  /// SIGTERM, SIGKILL 2 s later, every process it started). Ok if it exited
  /// 0; otherwise the error names the command, how it ended and where its
  /// output is, and ends with its last lines: "command 'x' exited with
  /// status 7 (upgrader-hook-demo-migrate-812-1.service): <last lines>".
  virtual Status run(const Hook& hook) = 0;

  /// Stops whatever hook of this instance a killed run left running, so a
  /// recovery never runs Restore= under a migration still writing. Ok if
  /// there was none.
  virtual Status stopLeftovers() = 0;
};

}  // namespace upgrader
