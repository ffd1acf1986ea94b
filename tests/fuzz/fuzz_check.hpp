// What the fuzz entries share: splitting one input into fields, and stating
// a property so that a violation is a crash libFuzzer reports (and the
// replay test fails on), with the property named on stderr.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace upgrader::fuzz {

/// Aborts, naming the property, when `holds` is false. abort() rather than
/// an exception: libFuzzer keeps the input only for a crash.
inline void check(bool holds, const char* property) {
  if (!holds) {
    std::fprintf(stderr, "fuzz property violated: %s\n", property);
    std::abort();
  }
}

/// The text up to the first `separator` (all of `rest` if there is none);
/// `rest` keeps what follows the separator.
inline std::string_view takeField(std::string_view& rest, char separator) {
  auto at = rest.find(separator);
  std::string_view field = rest.substr(0, at);
  rest.remove_prefix(at == std::string_view::npos ? rest.size() : at + 1);
  return field;
}

}  // namespace upgrader::fuzz
