// Fuzz entry for version strings (fetch/version.hpp). The input is up to
// four newline-separated fields: versions A, B and C, and a file name
// pattern P. compareVersions picks the release to install and refuses
// downgrades, so beyond not crashing it must be a total order: a
// comparison that is not antisymmetric or transitive could pick a
// different "newest" depending on the order of a listing, or call an
// upgrade a downgrade. The pattern functions must undo each other: the
// version read from a file name is the one that names it again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fetch/version.hpp"
#include "fuzz_check.hpp"

namespace {

using upgrader::compareVersions;
using upgrader::fuzz::check;

void checkOrder(std::string_view a, std::string_view b, std::string_view c) {
  int ab = compareVersions(a, b);
  check(ab == -1 || ab == 0 || ab == 1, "compare returns -1, 0 or 1");
  check(compareVersions(a, a) == 0, "compare(a, a) == 0");
  check(compareVersions(b, a) == -ab, "compare(b, a) == -compare(a, b)");
  int bc = compareVersions(b, c);
  int ac = compareVersions(a, c);
  if (ab <= 0 && bc <= 0) check(ac <= 0, "a <= b <= c implies a <= c");
  if (ab >= 0 && bc >= 0) check(ac >= 0, "a >= b >= c implies a >= c");
  // Equal versions are interchangeable: which of two spellings of one
  // version is listed first must not matter.
  if (ab == 0) check(ac == bc, "a == b implies compare(a, c) == compare(b, c)");
}

void checkPattern(std::string_view pattern, std::string_view fileName,
                  std::string_view version) {
  if (auto matched = upgrader::matchVersionPattern(pattern, fileName)) {
    check(upgrader::isValidVersion(*matched), "a matched version is valid");
    check(upgrader::expandVersion(pattern, *matched) == fileName,
          "expand(P, match(P, f)) == f");
  }
  auto marker = pattern.find("@v");
  bool oneMarker = marker != std::string_view::npos &&
                   pattern.find("@v", marker + 2) == std::string_view::npos;
  if (oneMarker && upgrader::isValidVersion(version)) {
    auto back = upgrader::matchVersionPattern(
        pattern, upgrader::expandVersion(pattern, version));
    check(back && *back == version, "match(P, expand(P, v)) == v");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string_view a = upgrader::fuzz::takeField(rest, '\n');
  std::string_view b = upgrader::fuzz::takeField(rest, '\n');
  std::string_view c = upgrader::fuzz::takeField(rest, '\n');
  std::string_view pattern = rest;
  checkOrder(a, b, c);
  checkOrder(c, a, b);  // the other rotations see the same three versions
  checkOrder(b, c, a);
  checkPattern(pattern, a, b);
  return 0;  // libFuzzer reserves other values
}
