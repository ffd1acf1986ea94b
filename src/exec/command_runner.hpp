// Running operator-supplied commands (hooks, Preflight=, health Exec=): the
// process side effect behind a small interface, so the transaction is tested
// with a fake and the real runner against real processes.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "config/plan.hpp"

namespace upgrader {

/// Environment variables added to the command's inherited environment.
using Environment = std::map<std::string, std::string>;

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;

  /// Runs `command` with /bin/sh -c in its own process group, stdin from
  /// /dev/null, and waits up to `timeout`. Ok if it exited 0. Otherwise the
  /// error names the command and the cause, with the last lines it printed:
  /// "command 'x' exited with status 3: <output>", "... killed by signal
  /// 9", "... timed out after 30s". On timeout the whole process group is
  /// killed (SIGTERM, then SIGKILL after 2 s) so nothing is left running.
  virtual Status run(const std::string& command, const Environment& env,
                     Duration timeout) = 0;
};

/// The real runner (fork/exec, poll on a pipe for output). Installs
/// handlers for SIGINT, SIGTERM and SIGHUP that kill the running command's
/// process group before the process dies of the signal as it would have.
std::unique_ptr<CommandRunner> makeProcessRunner();

}  // namespace upgrader
