// What a release URL says about the release, read the same way by the
// configuration checks, the fetcher and the strategies.
#pragma once

#include <string>
#include <string_view>

namespace upgrader {

/// The last path component of `url`, without query or fragment: the name a
/// release has in SHA256SUMS. "" if the URL has no path ("https://host") or
/// ends in '/'. A string without "://" is read as a bare path.
std::string fileNameOfUrl(std::string_view url);

/// Whether `url`'s file name (query and fragment ignored, any case) ends in
/// .tar, .tar.gz, .tgz, .tar.xz, .txz, .tar.zst or .zip.
bool looksLikeArchive(std::string_view url);

}  // namespace upgrader
