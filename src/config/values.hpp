// Parsers for the value types of configuration files, with systemd's
// spelling (booleans, time spans, sizes). Each error says what the text is
// not and why, e.g. "invalid time span 'abc': unknown unit 'abc'"; the
// caller adds the file, line and key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/shown_text.hpp"
#include "config/plan.hpp"

namespace upgrader {

/// systemd's WHITESPACE; '\r' included so that files written on Windows
/// read the same.
inline constexpr std::string_view kWhitespace = " \t\n\r";

/// Whether `part` occurs in `text` (std::string_view::contains is C++23).
inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// `s` without leading and trailing kWhitespace.
std::string_view trimWhitespace(std::string_view s);

/// yes/no, true/false, on/off, 1/0, any case (systemd's parse_boolean).
Result<bool> parseBoolean(std::string_view text);

/// A finite time span as systemd's parse_sec() reads it: one or more
/// number+unit parts, optionally separated by whitespace, summed ("1h 30s",
/// "1.5s", "500ms"); a bare number means seconds. Units: us usec ms msec s
/// sec second seconds m min minute minutes h hr hour hours d day days w week
/// weeks. Refuses "infinity", negative numbers, unknown units, empty text
/// and spans that do not fit in a Duration.
Result<Duration> parseTimeSpan(std::string_view text);

/// A size in bytes: a whole number with an optional K, M, G or T suffix
/// (base 1024), e.g. "512M". Refuses negative numbers, other suffixes and
/// sizes above 2^64-1.
Result<std::uint64_t> parseSize(std::string_view text);

/// A decimal whole number in [min, max], e.g. Retries= in [0, 10].
Result<unsigned> parseUnsigned(std::string_view text, unsigned min,
                               unsigned max);

}  // namespace upgrader
