// Durations as operators wrote them in the configuration: "30s", "1.5s",
// "200ms". (command_runner.cpp has the same helper; both belong in common/
// once a shared formatter exists there.)
#pragma once

#include <chrono>
#include <string>

#include "config/plan.hpp"

namespace upgrader {

/// `d` in whole milliseconds below a second, else in seconds with up to
/// three decimals ("2.25s").
inline std::string durationText(Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string text = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    text += "." + std::to_string(1000 + ms % 1000).substr(1);
    while (text.back() == '0') text.pop_back();
  }
  return text + "s";
}

}  // namespace upgrader
