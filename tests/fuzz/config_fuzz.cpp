// Fuzz entry for the configuration parser: any bytes at all must give a Plan
// or an Error, never a crash, a hang or an exception. Built with clang and
// -fsanitize=fuzzer it is a libFuzzer target; otherwise replay_main.cpp
// feeds it the seed corpus.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/plan_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static const upgrader::InstanceName kInstance("fuzz");
  static const std::string kFileName = "/etc/upgrader/fuzz.conf";
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Plan or Error, both are fine; only a crash, hang or throw is a finding.
  auto plan = upgrader::parsePlan(text, kFileName, kInstance);
  (void)plan;
  return 0;  // libFuzzer reserves other values
}
