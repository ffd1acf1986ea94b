#include "config/values.hpp"

#include <charconv>
#include <cstdio>
#include <limits>

namespace upgrader {

namespace {

void skipWhitespace(std::string_view& s) {
  auto n = s.find_first_not_of(kWhitespace);
  s.remove_prefix(n == std::string_view::npos ? s.size() : n);
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Splits off the leading run of characters for which `pred` holds.
template <typename Pred>
std::string_view takeWhile(std::string_view& s, Pred pred) {
  std::size_t n = 0;
  while (n < s.size() && pred(s[n])) ++n;
  std::string_view head = s.substr(0, n);
  s.remove_prefix(n);
  return head;
}

char asciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  }
  return true;
}

struct TimeUnit {
  std::string_view name;
  std::uint64_t usec;
};

constexpr std::uint64_t kSec = 1000000;
// Case-sensitive like systemd's table, where "M" would be a month.
constexpr TimeUnit kTimeUnits[] = {
    {"us", 1},
    {"usec", 1},
    {"ms", 1000},
    {"msec", 1000},
    {"s", kSec},
    {"sec", kSec},
    {"second", kSec},
    {"seconds", kSec},
    {"m", 60 * kSec},
    {"min", 60 * kSec},
    {"minute", 60 * kSec},
    {"minutes", 60 * kSec},
    {"h", 3600 * kSec},
    {"hr", 3600 * kSec},
    {"hour", 3600 * kSec},
    {"hours", 3600 * kSec},
    {"d", 86400 * kSec},
    {"day", 86400 * kSec},
    {"days", 86400 * kSec},
    {"w", 604800 * kSec},
    {"week", 604800 * kSec},
    {"weeks", 604800 * kSec},
};

const TimeUnit* findTimeUnit(std::string_view name) {
  for (const auto& unit : kTimeUnits) {
    if (unit.name == name) return &unit;
  }
  return nullptr;
}

bool addChecked(std::uint64_t& total, std::uint64_t add, std::uint64_t max) {
  if (add > max - total) return false;
  total += add;
  return true;
}

}  // namespace

std::string_view trimWhitespace(std::string_view s) {
  auto begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  auto end = s.find_last_not_of(kWhitespace);
  return s.substr(begin, end - begin + 1);
}

Result<bool> parseBoolean(std::string_view text) {
  for (std::string_view yes : {"yes", "true", "on", "1"}) {
    if (equalsIgnoreCase(text, yes)) return true;
  }
  for (std::string_view no : {"no", "false", "off", "0"}) {
    if (equalsIgnoreCase(text, no)) return false;
  }
  return Error("invalid boolean " + quoteValue(text) +
               ": expected yes/no, true/false, on/off or 1/0");
}

Result<Duration> parseTimeSpan(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Error("invalid time span " + quoteValue(text) + ": " + why);
  };
  std::string_view rest = trimWhitespace(text);
  if (rest.empty()) return invalid("empty");
  // systemd would read "infinity" as no timeout at all; a step of an upgrade
  // that may hang forever would hold the service down forever.
  if (rest == "infinity") return invalid("must be finite");

  const auto max = static_cast<std::uint64_t>(Duration::max().count());
  std::uint64_t total = 0;
  while (!rest.empty()) {
    if (rest.front() == '-') return invalid("must not be negative");
    const std::string_view part = rest;
    std::string_view whole = takeWhile(rest, isDigit);
    std::string_view fraction;
    bool hasPoint = !rest.empty() && rest.front() == '.';
    if (hasPoint) {
      rest.remove_prefix(1);
      fraction = takeWhile(rest, isDigit);
    }
    bool spaceBeforeUnit =
        !rest.empty() && kWhitespace.find(rest.front()) != std::string::npos;
    skipWhitespace(rest);
    std::string_view unitName = takeWhile(rest, isAsciiLetter);

    // The unit is checked first so that "abc" reads as the unknown unit it
    // most likely is rather than as a missing number.
    const TimeUnit* unit = unitName.empty() ? nullptr : findTimeUnit(unitName);
    if (!unitName.empty() && unit == nullptr) {
      return invalid("unknown unit " + quoteValue(unitName));
    }
    if (whole.empty() && fraction.empty()) {
      if (!unitName.empty()) {
        return invalid("missing number before " + quoteValue(unitName));
      }
      return invalid("expected a number at " + quoteValue(part));
    }
    // "1.5.3" is not two parts; "1.5 .3" would be (systemd draws the same
    // line).
    if (unitName.empty() && !spaceBeforeUnit && !rest.empty()) {
      return invalid("unexpected " + quoteValue(rest.substr(0, 1)));
    }
    std::uint64_t multiplier = unit != nullptr ? unit->usec : kSec;

    std::uint64_t wholeValue = 0;
    if (!whole.empty()) {
      auto [end, ec] = std::from_chars(whole.data(),
                                       whole.data() + whole.size(), wholeValue);
      if (ec != std::errc() || end != whole.data() + whole.size() ||
          wholeValue > max / multiplier) {
        return invalid("too large");
      }
    }
    if (!addChecked(total, wholeValue * multiplier, max)) {
      return invalid("too large");
    }
    // Each fractional digit is worth a tenth of the one before; what falls
    // below a microsecond is dropped, as systemd does.
    std::uint64_t digitWorth = multiplier;
    for (char digit : fraction) {
      digitWorth /= 10;
      if (digitWorth == 0) break;
      if (!addChecked(total,
                      static_cast<std::uint64_t>(digit - '0') * digitWorth,
                      max)) {
        return invalid("too large");
      }
    }
    skipWhitespace(rest);
  }
  return Duration(static_cast<Duration::rep>(total));
}

Result<std::uint64_t> parseSize(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Error("invalid size " + quoteValue(text) + ": " + why);
  };
  std::string_view rest = trimWhitespace(text);
  if (rest.empty()) return invalid("empty");
  if (rest.front() == '-') return invalid("must not be negative");
  std::string_view digits = takeWhile(rest, isDigit);
  if (digits.empty()) return invalid("expected a whole number of bytes");
  std::uint64_t value = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return invalid("too large");
  }
  skipWhitespace(rest);
  unsigned shift = 0;
  if (rest == "K") {
    shift = 10;
  } else if (rest == "M") {
    shift = 20;
  } else if (rest == "G") {
    shift = 30;
  } else if (rest == "T") {
    shift = 40;
  } else if (!rest.empty()) {
    return invalid("unknown suffix " + quoteValue(rest) +
                   " (expected K, M, G or T)");
  }
  if (value > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
    return invalid("too large");
  }
  return value << shift;
}

Result<unsigned> parseUnsigned(std::string_view text, unsigned min,
                               unsigned max) {
  unsigned value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  bool allDigits = !text.empty() && end == text.data() + text.size() &&
                   isDigit(text.front());
  if (!allDigits ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Error("invalid number " + quoteValue(text) +
                 ": expected a whole number");
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    std::string range =
        max == std::numeric_limits<unsigned>::max()
            ? "at least " + std::to_string(min)
            : "between " + std::to_string(min) + " and " + std::to_string(max);
    return Error("invalid number " + quoteValue(text) + ": must be " + range);
  }
  return value;
}

}  // namespace upgrader
