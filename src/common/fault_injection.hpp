// Crash points for the fault-injection tests: in a build configured with
// UPGRADER_FAULT_INJECTION, setting UPGRADER_CRASH_AT=NAME makes the process
// _exit(99) at that point, as a SIGKILL or power loss would stop it (no
// destructors, no cleanup). In other builds faultPoint() does nothing.
#pragma once

#include <string>
#include <vector>

namespace upgrader {

/// Dies here if UPGRADER_CRASH_AT names this point (fault-injection builds).
void faultPoint(const char* name);

/// Every point the transaction passes, in order; the tests iterate over it.
const std::vector<std::string>& faultPointNames();

/// Whether this build honours UPGRADER_CRASH_AT.
bool faultInjectionEnabled();

}  // namespace upgrader
