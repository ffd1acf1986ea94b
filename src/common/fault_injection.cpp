#include "common/fault_injection.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace upgrader {

const std::vector<std::string>& faultPointNames() {
  static const std::vector<std::string> names = {
      "pulled",         "acquired",          "staged",            "stopping",          "stopped",
      "swap-kept-old",  "swapped",           "migrated",
      "started",        "checked",           "committed",
      "rollback-begun", "rollback-stopped",  "rollback-reverted",
      "rollback-started", "rollback-checked",
  };
  return names;
}

bool faultInjectionEnabled() {
#ifdef UPGRADER_FAULT_INJECTION
  return true;
#else
  return false;
#endif
}

void faultPoint(const char* name) {
#ifdef UPGRADER_FAULT_INJECTION
  const char* at = std::getenv("UPGRADER_CRASH_AT");
  if (at != nullptr && std::strcmp(at, name) == 0) ::_exit(99);
#else
  (void)name;
#endif
}

}  // namespace upgrader
