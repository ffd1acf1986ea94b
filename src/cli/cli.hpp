// The command-line front end: parses options, loads the instance's plan,
// wires the real side effects into the upgrade transaction, prints the
// outcome, and returns the documented exit code (cli/exit_codes.hpp).
#pragma once

namespace upgrader {

/// Runs `upgrader` with these arguments; returns the process exit code.
int runCli(int argc, char** argv);

}  // namespace upgrader
