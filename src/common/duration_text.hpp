// Durations in messages, as operators write them in configuration files:
// "200ms", "30s", "2.25s".
#pragma once

#include <chrono>
#include <string>

namespace upgrader {

/// `d` in whole milliseconds below a second, else in seconds with up to
/// three decimals.
inline std::string durationText(std::chrono::microseconds d) {
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
