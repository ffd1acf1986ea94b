// The lexer for configuration files: systemd-unit-like text ("[Section]"
// headers, "Key=Value" lines, '#'/';' comments, '\' continuation) into
// sections of entries. It knows no section or key names; what they mean is
// plan_loader's job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace upgrader {

/// One "Key=Value" assignment, key and value trimmed of whitespace.
struct IniEntry {
  std::string key;
  std::string value;
  /// 1-based line the assignment starts on (the first of continued lines).
  unsigned line = 0;
};

/// One section; a section named twice in a file is one IniSection whose
/// entries are those of every occurrence, in file order (as in systemd).
struct IniSection {
  std::string name;
  /// The line of the first "[name]" header.
  unsigned line = 0;
  std::vector<IniEntry> entries;
};

/// A lexed file: sections in order of their first header.
struct IniFile {
  std::vector<IniSection> sections;
};

/// Lexes `text`. A line ending in an odd number of backslashes continues on
/// the next line (the backslash becomes a space; comment lines in between
/// are skipped), as in systemd. Fails on the first bad line with
/// "FILE:LINE: why": a malformed "[...]" header, a line without '=', an
/// empty key, an assignment before any section, or a section or key name
/// that is not printable ASCII without spaces.
Result<IniFile> parseIniFile(std::string_view text,
                             const std::string& fileName);

}  // namespace upgrader
