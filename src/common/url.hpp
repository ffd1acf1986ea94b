// What a release URL says about the release, read the same way by the
// configuration checks, the fetcher and the strategies; and the small text
// rules every client of a web API needs (encoding, case, UTF-8).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace upgrader {

/// The schemes a release may be fetched with.
enum class UrlScheme : unsigned { kHttps = 1, kHttp = 2, kFile = 4 };

/// The scheme of `url` (any case), or nullopt for any other.
std::optional<UrlScheme> urlSchemeOf(std::string_view url);

/// "https", "http" or "file".
const char* urlSchemeName(UrlScheme scheme);

/// The schemes a source may use, redirects included: https alone unless
/// the administrator allows more (plain http can be read and rewritten by
/// anyone on the path; a file URL reads a local file as root).
class UrlSchemes {
 public:
  UrlSchemes() = default;
  UrlSchemes(std::initializer_list<UrlScheme> schemes);
  static UrlSchemes none() {
    UrlSchemes out;
    out.bits_ = 0;
    return out;
  }
  UrlSchemes with(UrlScheme scheme) const {
    UrlSchemes out = *this;
    out.bits_ |= static_cast<unsigned>(scheme);
    return out;
  }
  bool allows(UrlScheme scheme) const {
    return (bits_ & static_cast<unsigned>(scheme)) != 0;
  }
  /// "https http file" (those allowed, in that order).
  std::string names() const;
  bool operator==(const UrlSchemes&) const = default;

 private:
  unsigned bits_ = static_cast<unsigned>(UrlScheme::kHttps);
};

/// The last path component of `url`, without query or fragment: the name a
/// release has in SHA256SUMS. "" if the URL has no path ("https://host") or
/// ends in '/'. A string without "://" is read as a bare path.
std::string fileNameOfUrl(std::string_view url);

/// `text` with every byte but A-Z a-z 0-9 - _ . ~ written as %XX: safe
/// in a query value or a path segment.
std::string percentEncode(std::string_view text);

/// `text` with A-Z lowered; other bytes as they are (header names,
/// schemes, challenge parameters).
std::string asciiLowercase(std::string_view text);

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or
/// code points above U+10FFFF): what JSON output and a terminal can take.
bool isValidUtf8(std::string_view text);

/// Whether `url`'s file name (query and fragment ignored, any case) ends in
/// .tar, .tar.gz, .tgz, .tar.xz, .txz, .tar.zst or .zip.
bool looksLikeArchive(std::string_view url);

}  // namespace upgrader
