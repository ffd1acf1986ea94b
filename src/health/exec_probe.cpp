#include "health/exec_probe.hpp"

#include "common/shown_text.hpp"

namespace upgrader {

ExecProbe::ExecProbe(std::string command, CommandRunner& runner)
    : command_(std::move(command)), runner_(runner) {}

std::string ExecProbe::name() const { return "exec " + quoteValue(command_); }

Status ExecProbe::check(Duration timeout) {
  // The runner's message already names the command.
  return runner_.runShell(command_, {}, timeout);
}

}  // namespace upgrader
