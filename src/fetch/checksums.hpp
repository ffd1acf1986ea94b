// SHA256SUMS files as written by GNU coreutils' sha256sum: the list a
// vendor publishes next to its releases, and where expected digests and
// (when no version is pinned) the available versions come from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/types.hpp"

namespace upgrader {

/// One line of a SHA256SUMS file.
struct ChecksumEntry {
  Sha256Digest digest;
  /// A plain file name: no directory part ("./" is stripped when parsing).
  std::string fileName;
};

/// Parses "HEX  name" (text mode) and "HEX *name" (binary mode) lines.
/// Blank lines and '#' comments are skipped, a trailing '\r' is ignored,
/// a leading "./" is stripped. Any other line, a name with a '/' in it, an
/// escaped (backslash-prefixed) line or a name listed twice with different
/// digests fails the whole file with "SOURCE:LINE: why"; nothing is returned
/// then, so a damaged file never yields a partial list.
Result<std::vector<ChecksumEntry>> parseSha256Sums(std::string_view text,
                                                   const std::string& source);

/// The entry for `fileName`, or nullptr.
const ChecksumEntry* findChecksum(const std::vector<ChecksumEntry>& entries,
                                  std::string_view fileName);

}  // namespace upgrader
