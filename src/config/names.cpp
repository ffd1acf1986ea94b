#include "config/names.hpp"

#include <string>

#include "config/values.hpp"

namespace upgrader {

namespace {

// systemd's UNIT_NAME_MAX is 256 including the terminating NUL.
constexpr std::size_t kMaxNameLength = 255;

constexpr std::string_view kUnitTypes[] = {
    "service", "socket", "target", "timer", "mount", "path", "slice", "scope"};

// systemd's VALID_CHARS.
bool isValidChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == ':' || c == '-' || c == '_' ||
         c == '.' || c == '\\';
}

std::string expectedTypes() {
  std::string out;
  for (auto type : kUnitTypes) {
    if (!out.empty()) out += ' ';
    out += '.';
    out += type;
  }
  return out;
}

// The first character of `text` that `valid` refuses, quoted; "" if none.
template <typename Valid>
std::string firstInvalidChar(std::string_view text, Valid valid) {
  for (char c : text) {
    if (!valid(c)) return quoteValue(std::string_view(&c, 1));
  }
  return "";
}

}  // namespace

Result<InstanceName> parseInstanceName(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Error("instance name " + quoteValue(text) + " " + why);
  };
  if (text.empty()) return Error("instance name is empty");
  if (text.size() > kMaxNameLength) {
    return invalid("is longer than " + std::to_string(kMaxNameLength) +
                   " characters");
  }
  // '/' and ".." are named before the general character check because they
  // are what would let the name escape /etc/upgrader or /var/lib/upgrader.
  if (text.find('/') != std::string_view::npos) return invalid("contains '/'");
  if (text.find("..") != std::string_view::npos) {
    return invalid("contains '..'");
  }
  if (text.front() == '.') return invalid("starts with '.'");
  // A leading '-' would read as an option on a command line.
  if (text.front() == '-') return invalid("starts with '-'");
  if (auto bad = firstInvalidChar(text, isValidChar); !bad.empty()) {
    return invalid("contains invalid character " + bad +
                   " (allowed: A-Z a-z 0-9 : _ . \\ -)");
  }
  return InstanceName(std::string(text));
}

Result<UnitName> parseUnitName(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Error("unit name " + quoteValue(text) + " " + why);
  };
  if (text.empty()) return Error("unit name is empty");
  if (text.size() > kMaxNameLength) {
    return invalid("is longer than " + std::to_string(kMaxNameLength) +
                   " characters");
  }
  auto dot = text.rfind('.');
  if (dot == std::string_view::npos) {
    return invalid("has no type suffix (expected one of " + expectedTypes() +
                   ")");
  }
  std::string_view type = text.substr(dot + 1);
  bool known = false;
  for (auto t : kUnitTypes) known = known || t == type;
  if (!known) {
    return invalid("has unknown type " + quoteValue(text.substr(dot)) +
                   " (expected one of " + expectedTypes() + ")");
  }

  std::string_view stem = text.substr(0, dot);
  auto at = stem.find('@');
  std::string_view prefix = stem.substr(0, at);
  if (prefix.empty()) return invalid("has an empty prefix");
  if (auto bad = firstInvalidChar(prefix, isValidChar); !bad.empty()) {
    return invalid("contains invalid character " + bad);
  }
  if (at != std::string_view::npos) {
    std::string_view instance = stem.substr(at + 1);
    if (instance.empty()) {
      return invalid("is a template; name an instance such as '" +
                     std::string(prefix) + "@NAME." + std::string(type) + "'");
    }
    // systemd lets an instance contain further '@'s.
    auto bad = firstInvalidChar(
        instance, [](char c) { return c == '@' || isValidChar(c); });
    if (!bad.empty()) return invalid("contains invalid character " + bad);
  }
  return UnitName(std::string(text));
}

}  // namespace upgrader
