// What a release URL says about the release, read the same way by the
// configuration checks, the fetcher and the strategies; and the small text
// rules every client of a web API needs (encoding, case, UTF-8).
#pragma once

#include <string>
#include <string_view>

namespace upgrader {

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
