#include "strategy/image_release.hpp"

#include <algorithm>

#include "common/clock.hpp"
#include "fetch/checksums.hpp"
#include "fetch/release_source.hpp"
#include "fetch/signature_check.hpp"
#include "fetch/version.hpp"

namespace upgrader {

namespace {

// "1", "1.7.14": digits separated by single dots.
bool isReleaseNumber(std::string_view v) {
  if (v.empty() || v.front() == '.' || v.back() == '.') return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    bool digit = v[i] >= '0' && v[i] <= '9';
    if (!digit && (v[i] != '.' || v[i + 1] == '.')) return false;
  }
  return true;
}

// The newest version among the registry's tags that fit the pattern.
Result<std::string> newestVersion(const ImageName& image, Registry& registry) {
  auto tags = registry.listTags(image);
  if (!tags) return tags.error();
  std::string newest;
  std::string tie;
  for (const auto& tag : *tags) {
    std::string version = image.versionOfTag(tag);
    // Only release numbers: registries name pre-releases and variants
    // with '-' (1.8.0-beta.3, 1.27-alpine), which the version order
    // would rank above the release itself. Version= pins any tag.
    if (!isReleaseNumber(version)) continue;
    int order = newest.empty() ? 1 : compareVersions(version, newest);
    if (order > 0) {
      newest = version;
      tie.clear();
    } else if (order == 0 && version != newest) {
      tie = version;
    }
  }
  if (newest.empty()) {
    return Error("no tag of '" + image.name() + "' matches '" + image.tag +
                 "' with a release number (digits and dots) for @v");
  }
  // "1.2" and "1.02" are one version: which tag to run would depend on
  // the registry's order.
  if (!tie.empty()) {
    return Error("tags '" + image.tagFor(newest) + "' and '" +
                 image.tagFor(tie) + "' of '" + image.name() +
                 "' are equally new");
  }
  return newest;
}

// The registry says which manifest a tag names, but whoever controls the
// registry (or the way to it) decides that answer. With keys, the digest
// must also be the one the vendor's signed listing (DigestsURL=, in the
// format of SHA256SUMS: "HEX  TAG") gives for the tag.
Result<std::string> checkSignedDigest(const ContainerConfig& config,
                                      const TrustConfig& trust,
                                      const ImageName& image,
                                      const ImageRelease& r,
                                      Fetcher& fetcher) {
  const std::string url = image.followsVersions()
                              ? expandVersion(config.digestsUrl, r.version)
                              : config.digestsUrl;
  FetchOptions options;
  options.allowedSchemes = config.allowedSchemes;
  options.caFile = config.caFile;
  auto text = fetcher.fetchText(url, options, kMaxChecksumsBytes);
  if (!text) return text.error();
  std::string signatureUrl =
      signatureUrlFor(url, image.followsVersions()
                               ? expandVersion(config.signatureUrl, r.version)
                               : config.signatureUrl);
  auto verified = verifySignedListing(trust, *text, url, signatureUrl, fetcher,
                                      options, wallClockSeconds());
  if (!verified) return verified.error();
  auto entries = parseSha256Sums(*text, url);
  if (!entries) return entries.error();
  const ChecksumEntry* entry = findChecksum(*entries, r.tag);
  if (entry == nullptr) {
    return Error("tag '" + r.tag + "' of '" + image.name() +
                 "' is not in the signed listing '" + url +
                 "'; nothing was pulled");
  }
  if ("sha256:" + entry->digest.hex() != r.digest) {
    return Error("digest mismatch for '" + image.name() + ":" + r.tag +
                 "': the registry serves " + r.digest +
                 ", the signed listing '" + url + "' says sha256:" +
                 entry->digest.hex() + "; nothing was pulled");
  }
  return "digest listing " + *verified;
}

}  // namespace

Result<ImageRelease> resolveImageRelease(const ContainerConfig& config,
                                         const TrustConfig& trust,
                                         const ImageName& image,
                                         Registry& registry,
                                         Fetcher& fetcher) {
  ImageRelease r;
  if (image.followsVersions()) {
    if (config.version) {
      r.version = config.version->str();
    } else {
      auto newest = newestVersion(image, registry);
      if (!newest) return newest.error();
      r.version = *newest;
    }
    r.tag = image.tagFor(r.version);
  } else {
    r.tag = image.tag;
  }
  auto digest = registry.manifestDigest(image, r.tag);
  if (!digest) return digest.error();
  if (!config.digest.empty() && config.digest != *digest) {
    return Error("digest mismatch for '" + image.name() + ":" + r.tag +
                 "': the registry serves " + *digest + ", Digest= pins " +
                 config.digest + "; nothing was pulled");
  }
  r.digest = *digest;
  if (trust.hasKeys()) {
    auto signedBy = checkSignedDigest(config, trust, image, r, fetcher);
    if (!signedBy) return signedBy.error();
    r.signedBy = *signedBy;
  }
  // A fixed tag has no versions: its release is the digest behind it.
  if (!image.followsVersions()) r.version = r.digest;
  return r;
}

bool carriesDigest(const std::vector<std::string>& repoDigests,
                   const std::string& digest) {
  return std::any_of(repoDigests.begin(), repoDigests.end(),
                     [&](const std::string& d) {
                       return d.size() > digest.size() &&
                              d.compare(d.size() - digest.size(),
                                        digest.size(), digest) == 0 &&
                              d[d.size() - digest.size() - 1] == '@';
                     });
}

}  // namespace upgrader
