// Running commands: the process side effect behind a small interface, so the
// transaction is tested with a fake and the real runner against real
// processes. Two kinds of command run through it:
//   - argv vectors, run directly with no shell in between: tools and engines
//     the upgrader drives itself, whose output it reads;
//   - operator-supplied shell commands (hooks, Preflight=, health Exec=),
//     which are documented to run with /bin/sh -c.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace upgrader {

/// Environment variables added to the command's inherited environment.
using Environment = std::map<std::string, std::string>;

/// One command to run, without a shell.
struct CommandLine {
  /// argv[0] is the program's absolute path: no PATH lookup, no shell.
  std::vector<std::string> argv;
  Environment env;
  Duration timeout = std::chrono::seconds(30);
  /// The most bytes of standard output kept in CommandResult::output; a
  /// command that prints more is killed and the run fails, so a runaway
  /// command cannot fill memory.
  std::size_t maxOutput = 1024 * 1024;
  /// Whether standard output is kept at all; when not (commands whose
  /// output is only ever shown), only the tail is, and no bound applies.
  bool captureOutput = true;
  /// Standard error goes where standard output goes (one stream, in order,
  /// as on a terminal): for commands whose output is only ever shown.
  bool mergeStderr = false;
};

/// How a command that ran to its end ended.
struct CommandResult {
  int exitStatus = 0;
  /// Standard output, complete (at most CommandLine::maxOutput bytes).
  std::string output;
  /// The last lines the command printed on either stream (a few KiB,
  /// trimmed, starting at a line), for messages.
  std::string tail;
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;

  /// Runs `command` in its own process group, stdin from /dev/null, and
  /// waits up to its timeout. A result for any exit status; an error that
  /// names the command when it could not be started, was killed by a
  /// signal, printed more than maxOutput, or timed out (then the whole
  /// process group is killed: SIGTERM, then SIGKILL after 2 s, so nothing
  /// is left running): "command 'x' killed by signal 9: <tail>",
  /// "... timed out after 30s".
  virtual Result<CommandResult> run(const CommandLine& command) = 0;

  /// Runs the operator's `script` with /bin/sh -c (hooks, Preflight=,
  /// Exec=); ok if it exited 0, otherwise the error names the command and
  /// ends with its last output: "command 'x' exited with status 3: <tail>".
  Status runShell(const std::string& script, const Environment& env,
                  Duration timeout);
};

/// `argv` as one line for messages, each word quoted when it needs it.
std::string describeArgv(const std::vector<std::string>& argv);

/// The real runner (fork/exec, poll on pipes for output). Installs
/// handlers for SIGINT, SIGTERM and SIGHUP that kill the running command's
/// process group before the process dies of the signal as it would have.
std::unique_ptr<CommandRunner> makeProcessRunner();

}  // namespace upgrader
