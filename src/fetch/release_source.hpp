// Deciding what to install: which version, from which URL, with which
// expected digest. Reads the network (SHA256SUMS) through a Fetcher and
// changes nothing on this machine.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/types.hpp"
#include "config/plan.hpp"
#include "fetch/fetcher.hpp"

namespace upgrader {

/// A release to download and the digest it must have.
struct Release {
  Version version;
  /// URL= with "@v" expanded.
  std::string url;
  /// Always set by resolveRelease().
  std::optional<Sha256Digest> expected;
  /// The last path component of `url`, query stripped: the name looked up
  /// in SHA256SUMS.
  std::string fileName;
  /// Every version the SHA256SUMS listing offers (file names matching
  /// Pattern=) with its digest: lets the caller recognise an installed
  /// release it has no record of. Empty with a pinned Checksum=.
  std::vector<std::pair<Version, Sha256Digest>> listed;
  /// What vouches for the listing, when it is signed: "signed by key ...".
  /// "" when nothing is signed yet (AllowUnsigned=yes, or the signature is
  /// over the release itself and checked once it is downloaded).
  std::string signedBy;
};

/// The most a SHA256SUMS file may weigh.
inline constexpr std::uint64_t kMaxChecksumsBytes = 4 * 1024 * 1024;

/// Resolves the release a SourceConfig points at: the pinned Version= or
/// else the newest version (compareVersions()) among the SHA256SUMS entries
/// of ChecksumsURL= whose file name matches Pattern= (default: the file name
/// of URL=); the expected digest from Checksum= (which wins, without
/// fetching anything) or from the SHA256SUMS entry for the release's file
/// name. Errors: nothing to verify against, no entry ("no entry for
/// 'progressdb-1.2' in 'https://x/SHA256SUMS'"), no matching file, two
/// matching versions that compare equal, "@v" in ChecksumsURL= while
/// discovering, fetch and parse errors. Never returns a release without an
/// expected digest. With keys in `trust`, a listing is used only once its
/// signature verified (verifySignedListing(), measured against `now`).
Result<Release> resolveRelease(const SourceConfig& source,
                               const TrustConfig& trust, Fetcher& fetcher,
                               std::int64_t now);

}  // namespace upgrader
