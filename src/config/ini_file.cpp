#include "config/ini_file.hpp"

#include <algorithm>

#include "config/values.hpp"

namespace upgrader {

namespace {

// Section and key names are printable ASCII without spaces, so that a
// message can show them as they are.
bool isPlainName(std::string_view name) {
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= 0x7f) return false;
  }
  return true;
}

bool isComment(std::string_view trimmedLine) {
  return !trimmedLine.empty() &&
         (trimmedLine.front() == '#' || trimmedLine.front() == ';');
}

// A backslash escapes the next one, so only an odd run at the end continues
// the line (systemd counts the same way).
bool endsInContinuation(std::string_view line) {
  auto lastNonBackslash = line.find_last_not_of('\\');
  std::size_t run = lastNonBackslash == std::string_view::npos
                        ? line.size()
                        : line.size() - lastNonBackslash - 1;
  return run % 2 == 1;
}

class Lexer {
 public:
  explicit Lexer(const std::string& fileName) : fileName_(fileName) {}

  Status addLogicalLine(std::string_view raw, unsigned line) {
    std::string_view text = trimWhitespace(raw);
    if (text.empty()) return okStatus();
    if (text.front() == '[') return addHeader(text, line);
    return addAssignment(text, line);
  }

  IniFile take() && { return std::move(file_); }

 private:
  Error errorAt(unsigned line, const std::string& why) const {
    return Error(fileName_ + ":" + std::to_string(line) + ": " + why);
  }

  Status addHeader(std::string_view text, unsigned line) {
    std::string_view name = text.substr(1);
    bool closed = !name.empty() && name.back() == ']';
    if (closed) name.remove_suffix(1);
    if (!closed || name.empty() || !isPlainName(name) ||
        name.find_first_of("[]") != std::string_view::npos) {
      return errorAt(line, "invalid section header " + quoteValue(text) +
                               ": expected '[Name]'");
    }
    auto it = std::find_if(file_.sections.begin(), file_.sections.end(),
                           [&](const IniSection& s) { return s.name == name; });
    if (it == file_.sections.end()) {
      file_.sections.push_back(IniSection{std::string(name), line, {}});
      current_ = file_.sections.size() - 1;
    } else {
      current_ = static_cast<std::size_t>(it - file_.sections.begin());
    }
    inSection_ = true;
    return okStatus();
  }

  Status addAssignment(std::string_view text, unsigned line) {
    auto eq = text.find('=');
    std::string where =
        inSection_ ? "[" + file_.sections[current_].name + "]: " : "";
    if (eq == std::string_view::npos) {
      return errorAt(line, where + "missing '=' in " + quoteValue(text));
    }
    std::string_view key = trimWhitespace(text.substr(0, eq));
    std::string_view value = trimWhitespace(text.substr(eq + 1));
    if (key.empty()) {
      return errorAt(line,
                     where + "missing key before '=' in " + quoteValue(text));
    }
    if (!isPlainName(key)) {
      return errorAt(line, where + "invalid key " + quoteValue(key) +
                               ": expected letters, digits and punctuation");
    }
    if (!inSection_) {
      return errorAt(
          line, std::string(key) + "=: assignment before any [Section] header");
    }
    file_.sections[current_].entries.push_back(
        IniEntry{std::string(key), std::string(value), line});
    return okStatus();
  }

  const std::string& fileName_;
  IniFile file_;
  bool inSection_ = false;
  std::size_t current_ = 0;
};

}  // namespace

Result<IniFile> parseIniFile(std::string_view text,
                             const std::string& fileName) {
  // A UTF-8 byte order mark is not part of the first line (systemd skips it).
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  Lexer lexer(fileName);
  std::string continued;  // the logical line so far, while continuing
  unsigned continuedFrom = 0;
  unsigned lineNo = 0;
  while (!text.empty()) {
    ++lineNo;
    auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);

    // Comments end nothing: systemd skips them even inside a continuation,
    // so a commented-out line in a long command does not cut it short.
    if (isComment(trimWhitespace(raw))) continue;

    // Trailing whitespace after the backslash would otherwise hide it.
    std::string_view line = raw;
    auto lastNonSpace = line.find_last_not_of(kWhitespace);
    line = lastNonSpace == std::string_view::npos
               ? std::string_view{}
               : line.substr(0, lastNonSpace + 1);

    if (continued.empty()) continuedFrom = lineNo;
    if (endsInContinuation(line)) {
      continued.append(line.substr(0, line.size() - 1));
      continued.push_back(' ');
      continue;
    }
    if (continued.empty()) {
      if (auto st = lexer.addLogicalLine(line, lineNo); !st) return st.error();
    } else {
      continued.append(line);
      if (auto st = lexer.addLogicalLine(continued, continuedFrom); !st) {
        return st.error();
      }
      continued.clear();
    }
  }
  // A continuation at the end of the file ends there, as in systemd.
  if (!continued.empty()) {
    if (auto st = lexer.addLogicalLine(continued, continuedFrom); !st) {
      return st.error();
    }
  }
  return std::move(lexer).take();
}

}  // namespace upgrader
