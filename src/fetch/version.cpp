#include "fetch/version.hpp"

#include <algorithm>

namespace upgrader {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The characters strverscmp_improved gives a meaning to; everything else is
// skipped. Deliberately ASCII-only and locale-free: a version must sort the
// same on every machine.
bool isVersionChar(char c) {
  return isDigit(c) || isAlpha(c) || c == '~' || c == '-' || c == '^' ||
         c == '.';
}

int sign(long long v) { return v < 0 ? -1 : v > 0 ? 1 : 0; }

// Cursor over a string_view that reads '\0' past the end, so the comparison
// below can follow systemd's C logic, where the terminator is a sentinel
// that sorts below every valid character. atEnd() tells the real end from
// a NUL inside the string (which is just another ignored character).
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0';
  }
  bool atEnd() const { return pos_ >= s_.size(); }
  void advance(std::size_t n = 1) { pos_ += n; }
  std::size_t pos() const { return pos_; }
  std::string_view from(std::size_t start, std::size_t end) const {
    return s_.substr(start, end - start);
  }
  template <typename Pred>
  std::size_t spanWhile(Pred pred) const {
    std::size_t n = 0;
    while (pred(peek(n))) ++n;
    return n;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// A separator ('~', '-', '^' or '.') at the current position: the string
// that has it where the other does not is the older one (the other goes on
// with a plain segment or a later-ranked separator); if both have it, both
// skip it. Returns true with `result` set when that decides the order.
bool compareSeparator(Cursor& a, Cursor& b, char sep, int& result) {
  bool aHas = a.peek() == sep;
  bool bHas = b.peek() == sep;
  if (aHas != bHas) {
    result = aHas ? -1 : 1;
    return true;
  }
  if (aHas) {
    a.advance();
    b.advance();
  }
  return false;
}

}  // namespace

int compareVersions(std::string_view as, std::string_view bs) {
  Cursor a(as), b(bs);
  for (;;) {
    while (!a.atEnd() && !isVersionChar(a.peek())) a.advance();
    while (!b.atEnd() && !isVersionChar(b.peek())) b.advance();

    int r = 0;
    // '~' is checked before the end of string: 1.0~rc1 is older than 1.0.
    if (compareSeparator(a, b, '~', r)) return r;
    // Otherwise the string with more segments is newer.
    if (a.atEnd() || b.atEnd())
      return a.atEnd() == b.atEnd() ? 0 : a.atEnd() ? -1 : 1;
    if (compareSeparator(a, b, '-', r)) return r;
    if (compareSeparator(a, b, '^', r)) return r;
    if (compareSeparator(a, b, '.', r)) return r;

    if (isDigit(a.peek()) || isDigit(b.peek())) {
      std::size_t aLen = a.spanWhile(isDigit);
      std::size_t bLen = b.spanWhile(isDigit);
      // One side may have letters here: a number is newer than letters.
      if ((aLen > 0) != (bLen > 0)) return aLen > 0 ? 1 : -1;
      // Compare as numbers without parsing, so any length works: skip
      // leading zeros, then the longer is bigger, then digit by digit.
      std::size_t aStart = a.pos(), bStart = b.pos();
      std::size_t aZeros = 0, bZeros = 0;
      while (aZeros < aLen && a.peek(aZeros) == '0') ++aZeros;
      while (bZeros < bLen && b.peek(bZeros) == '0') ++bZeros;
      std::string_view aNum = a.from(aStart + aZeros, aStart + aLen);
      std::string_view bNum = b.from(bStart + bZeros, bStart + bLen);
      if (aNum.size() != bNum.size()) return aNum.size() > bNum.size() ? 1 : -1;
      if (int c = aNum.compare(bNum); c != 0) return sign(c);
      a.advance(aLen);
      b.advance(bLen);
    } else {
      std::size_t aLen = a.spanWhile(isAlpha);
      std::size_t bLen = b.spanWhile(isAlpha);
      std::string_view aWord = a.from(a.pos(), a.pos() + aLen);
      std::string_view bWord = b.from(b.pos(), b.pos() + bLen);
      std::size_t common = std::min(aLen, bLen);
      if (int c = aWord.substr(0, common).compare(bWord.substr(0, common));
          c != 0) {
        return sign(c);
      }
      if (aLen != bLen) return aLen > bLen ? 1 : -1;
      a.advance(aLen);
      b.advance(bLen);
    }
  }
}

bool isValidVersion(std::string_view version) {
  if (version.empty() || !(isDigit(version[0]) || isAlpha(version[0]))) {
    return false;
  }
  for (char c : version) {
    if (!(isDigit(c) || isAlpha(c) || c == '.' || c == '_' || c == '~' ||
          c == '+' || c == '-')) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> matchVersionPattern(std::string_view pattern,
                                               std::string_view fileName) {
  auto at = pattern.find("@v");
  if (at == std::string_view::npos ||
      pattern.find("@v", at + 2) != std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view prefix = pattern.substr(0, at);
  std::string_view suffix = pattern.substr(at + 2);
  if (fileName.size() <= prefix.size() + suffix.size() ||
      fileName.substr(0, prefix.size()) != prefix ||
      fileName.substr(fileName.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  std::string_view version = fileName.substr(
      prefix.size(), fileName.size() - prefix.size() - suffix.size());
  if (!isValidVersion(version)) return std::nullopt;
  return std::string(version);
}

std::string expandVersion(std::string_view templ, std::string_view version) {
  std::string out;
  for (;;) {
    auto at = templ.find("@v");
    out.append(templ.substr(0, at));
    if (at == std::string_view::npos) return out;
    out.append(version);
    templ.remove_prefix(at + 2);
  }
}

}  // namespace upgrader
