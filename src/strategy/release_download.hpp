// The part the binary and symlink strategies share: a release that is a file
// at a URL, verified against a SHA-256 from Checksum= or a SHA256SUMS
// listing. Resolves which release to take, downloads it next to where it
// will be installed and checks its digest, and removes the partial
// downloads a killed run left.
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"
#include "config/plan.hpp"
#include "fetch/fetcher.hpp"
#include "fetch/release_source.hpp"

namespace upgrader {

class ReleaseDownload {
 public:
  /// `source`, `trust` and `fetcher` must outlive this object.
  ReleaseDownload(const SourceConfig& source, const TrustConfig& trust,
                  Fetcher& fetcher);

  /// Resolves the release (resolveRelease()) and remembers it.
  Result<Release> resolve();

  /// The release the last resolve() found.
  const Release& release() const { return *release_; }

  /// The version whose listed digest is `hex` (the release itself or any
  /// other the SHA256SUMS listing has); "" if none is.
  std::string versionWithDigest(const std::string& hex) const;

  /// Downloads the resolved release into `dir` and checks it against the
  /// expected digest and, when the release itself is what is signed (keys
  /// in [Trust] and no listing), its signature. On a mismatch or any
  /// failure nothing is left in `dir`. The file returned is complete,
  /// fsynced and verified.
  Result<FetchedFile> fetchVerified(const std::string& dir,
                                    const ProgressFn& progress);

  /// What verified the last release fetchVerified() returned, for the
  /// journal: "sha256 HEX, SHA256SUMS signed by key ..." (or "unsigned").
  std::string evidence(const FetchedFile& fetched) const;

  /// Removes the downloads of this source's releases that a killed run
  /// left in `dir` (see isPartialDownloadName()); other files are not
  /// touched, as `dir` may be shared (/usr/bin).
  Status removeStalePartialDownloads(const std::string& dir) const;

 private:
  const SourceConfig& source_;
  const TrustConfig& trust_;
  Fetcher& fetcher_;
  std::optional<Release> release_;
};

}  // namespace upgrader
