// Prints the upgrader's fault points, one a line, in the order of an
// upgrade: the scenarios that crash the upgrader at each point take them
// from here (fault_points in lib.sh), so that a new point is tried without
// editing them.
#include <cstdio>

#include "common/fault_injection.hpp"

int main() {
  for (const auto& name : upgrader::faultPointNames()) {
    std::printf("%s\n", name.c_str());
  }
  return 0;
}
