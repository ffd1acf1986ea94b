// docker-compose as the compose strategy and the project health check need
// it: the configuration a project renders to - which services it has and
// which image each runs - read from `docker-compose config`, so the images
// pulled before anything stops are exactly the ones `up` will start. The
// tool runs as an argv with a scrubbed environment (the process
// environment would override the env file), and its output is YAML from a
// release, treated as hostile: bounded, parsed by a library, checked.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/plan.hpp"
#include "exec/command_runner.hpp"

namespace upgrader {

/// One `docker-compose -p PROJECT -f FILE [--env-file ENV]` invocation.
struct ComposeInvocation {
  std::string project;
  /// The compose file, absolute.
  std::string file;
  /// The env file; "" for the `.env` beside the compose file, if any.
  std::string envFile;
};

struct ComposeService {
  std::string name;
  /// As the rendered configuration names it ("repo:tag", "repo@sha256:..",
  /// "repo:tag@sha256:...").
  std::string image;
};

/// A project's configuration as rendered, services in name order.
struct ComposeModel {
  std::vector<ComposeService> services;
};

class ComposeTool {
 public:
  virtual ~ComposeTool() = default;

  /// Renders the project's configuration (`config`). Error, naming the
  /// file, when the tool fails, a variable is unset, a service has no
  /// image (compose would build it) or the output is not a configuration.
  virtual Result<ComposeModel> render(const ComposeInvocation& invocation) = 0;
};

/// The real tool: `command` (/usr/bin/docker-compose) run by `runner`,
/// whose DOCKER_HOST is `dockerHost` (for the rare commands that need the
/// engine; `config` does not).
std::unique_ptr<ComposeTool> makeComposeTool(CommandRunner& runner,
                                             std::string command,
                                             std::string dockerHost);

/// Parses `config`'s YAML output; `what` names the project for errors.
Result<ComposeModel> parseRenderedConfig(std::string_view yaml,
                                         const std::string& what);

/// One assignment of an env file, as compose's dotenv reads it: "export"
/// and blanks around the key and value dropped, one pair of quotes around
/// the value removed. Views into the text given.
struct EnvAssignment {
  unsigned line = 0;  ///< 1-based
  std::string_view key;
  std::string_view value;
};

/// The assignments of env-file `text` in order (blank lines, comments and
/// lines without '=' skipped).
std::vector<EnvAssignment> envAssignments(std::string_view text);

/// Checks an env file a compose project reads: variables that steer
/// docker-compose itself (DOCKER_*, COMPOSE_*: the engine socket, the
/// project name, the files) would let the file redirect the upgrade, so
/// they are refused. Without parsing: any mention of those prefixes
/// anywhere in the file is refused (a check that parsed differently from
/// the tool would be no check), and so is a NUL byte. Ok if the file does
/// not exist and `optional`.
Status checkComposeEnvFile(const std::string& path, bool optional);

/// The invocation for the project `plan` configures, with the release at
/// `place` (the env file with Variable=, else the release directory).
ComposeInvocation composeInvocation(const Plan& plan, const std::string& place);

}  // namespace upgrader
