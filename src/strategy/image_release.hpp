// Which release of a container image the configuration points at: the
// pinned or newest version among the registry's tags (or a fixed tag), the
// manifest digest the registry names for it, and - with [Trust] keys - the
// same digest in the vendor's signed listing. Shared by the image strategy
// and the compose strategy's variable mode. Reads the network; changes
// nothing.
#pragma once

#include <string>

#include "common/image_reference.hpp"
#include "common/result.hpp"
#include "config/plan.hpp"
#include "container/registry_client.hpp"
#include "fetch/fetcher.hpp"

namespace upgrader {

struct ImageRelease {
  /// The version (from the tag); for a fixed tag, the digest.
  std::string version;
  std::string tag;
  /// "sha256:..." of the manifest the tag names.
  std::string digest;
  /// What vouches for the digest ("" when unsigned).
  std::string signedBy;
};

/// Resolves the release of `image` that `config` points at (Version=,
/// Digest=, DigestsURL=) on `registry`, its signed listing fetched through
/// `fetcher` when `trust` has keys.
Result<ImageRelease> resolveImageRelease(const ContainerConfig& config,
                                         const TrustConfig& trust,
                                         const ImageName& image,
                                         Registry& registry, Fetcher& fetcher);

/// Whether `image` holds the manifest `digest` under some name
/// ("NAME@sha256:..." among its repo digests).
bool carriesDigest(const std::vector<std::string>& repoDigests,
                   const std::string& digest);

}  // namespace upgrader
