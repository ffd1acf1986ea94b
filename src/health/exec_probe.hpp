// Exec=: a command that must exit 0.
#pragma once

#include <string>

#include "exec/command_runner.hpp"
#include "health/probe.hpp"

namespace upgrader {

class ExecProbe final : public Probe {
 public:
  /// Runs `command` with `runner`, which must outlive the probe.
  ExecProbe(std::string command, CommandRunner& runner);

  /// "exec '<command>'".
  std::string name() const override;

  /// The runner's result: "command 'x' exited with status 1: <output>".
  Status check(Duration timeout) override;

 private:
  std::string command_;
  CommandRunner& runner_;
};

}  // namespace upgrader
