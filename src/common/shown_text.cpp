#include "common/shown_text.hpp"

#include <cstdio>

namespace upgrader {

std::string redactCredentials(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t from = 0;
  for (auto scheme = text.find("://"); scheme != std::string_view::npos;
       scheme = text.find("://", scheme + 3)) {
    std::size_t start = scheme + 3;
    // The authority ends where a path, query, fragment, quote or blank
    // does; an '@' before that ends its userinfo.
    std::size_t end = text.find_first_of("/?#'\" \t\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::size_t at = text.rfind('@', end);
    if (at == std::string_view::npos || at <= start || start < from) continue;
    std::string_view userinfo = text.substr(start, at - start);
    auto colon = userinfo.find(':');
    out.append(text.substr(from, start - from));
    if (colon == std::string_view::npos) {
      out += "***";
    } else {
      out.append(userinfo.substr(0, colon));
      out += ":***";
    }
    from = at;  // the '@' and the host follow as they are
  }
  out.append(text.substr(from));
  return out;
}

std::string shownText(std::string_view text) {
  std::string redacted = redactCredentials(text);
  std::string out;
  out.reserve(redacted.size());
  for (char c : redacted) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string quoteValue(std::string_view text) {
  constexpr std::size_t kMaxShown = 200;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    // Non-ASCII too: a message may end up in JSON output, which needs valid
    // UTF-8, and file bytes are not guaranteed to be.
    if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > kMaxShown) out += "...";
  out.push_back('\'');
  return out;
}

}  // namespace upgrader
