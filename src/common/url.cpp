#include "common/url.hpp"

#include <algorithm>
#include <cstdint>

namespace upgrader {

std::optional<UrlScheme> urlSchemeOf(std::string_view url) {
  auto separator = url.find("://");
  if (separator == std::string_view::npos) return std::nullopt;
  std::string scheme = asciiLowercase(url.substr(0, separator));
  if (scheme == "https") return UrlScheme::kHttps;
  if (scheme == "http") return UrlScheme::kHttp;
  if (scheme == "file") return UrlScheme::kFile;
  return std::nullopt;
}

const char* urlSchemeName(UrlScheme scheme) {
  switch (scheme) {
    case UrlScheme::kHttps:
      return "https";
    case UrlScheme::kHttp:
      return "http";
    case UrlScheme::kFile:
      return "file";
  }
  return "?";
}

UrlSchemes::UrlSchemes(std::initializer_list<UrlScheme> schemes) : bits_(0) {
  for (UrlScheme s : schemes) bits_ |= static_cast<unsigned>(s);
}

std::string UrlSchemes::names() const {
  std::string out;
  for (UrlScheme s : {UrlScheme::kHttps, UrlScheme::kHttp, UrlScheme::kFile}) {
    if (!allows(s)) continue;
    if (!out.empty()) out += ' ';
    out += urlSchemeName(s);
  }
  return out;
}

std::string fileNameOfUrl(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  // "https://host" has no path, so no file name; a bare path is all path.
  if (auto schemeEnd = url.find("://");
      schemeEnd != std::string_view::npos &&
      url.find('/', schemeEnd + 3) == std::string_view::npos) {
    return "";
  }
  return std::string(url.substr(url.find_last_of('/') + 1));
}

std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                 c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string asciiLowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool isValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (extra > text.size() - i - 1) return false;  // cut short
    for (std::size_t k = 1; k <= extra; ++k) {
      auto n = static_cast<unsigned char>(text[i + k]);
      if ((n & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (n & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

bool looksLikeArchive(std::string_view url) {
  std::string name = asciiLowercase(fileNameOfUrl(url));
  for (std::string_view suffix :
       {".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".zip"}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace upgrader
