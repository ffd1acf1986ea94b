#include "fetch/release_source.hpp"

#include "fetch/checksums.hpp"
#include "fetch/signature_check.hpp"
#include "fetch/version.hpp"

namespace upgrader {

namespace {

bool containsVersionMarker(std::string_view s) {
  return s.find("@v") != std::string_view::npos;
}

// A SHA256SUMS listing, parsed, and what vouches for it.
struct Listing {
  std::vector<ChecksumEntry> entries;
  std::string signedBy;
};

// Fetches the listing at `url` and, with keys, checks its signature before
// a single line of it is believed.
Result<Listing> fetchChecksums(const SourceConfig& source,
                               const TrustConfig& trust,
                               const std::string& url,
                               const std::string& version, Fetcher& fetcher,
                               std::int64_t now) {
  FetchOptions options = fetchOptionsFrom(source);
  auto text = fetcher.fetchText(url, options, kMaxChecksumsBytes);
  if (!text) return text.error();
  Listing listing;
  if (trust.hasKeys()) {
    std::string signatureUrl = signatureUrlFor(
        url, version.empty() ? source.signatureUrl
                             : expandVersion(source.signatureUrl, version));
    auto verified = verifySignedListing(trust, *text, url, signatureUrl,
                                        fetcher, options, now);
    if (!verified) return verified.error();
    listing.signedBy = "SHA256SUMS " + *verified;
  }
  auto entries = parseSha256Sums(*text, url);
  if (!entries) return entries.error();
  listing.entries = std::move(*entries);
  return listing;
}

// The release at `version` (already valid), its digest looked up in
// `sums`, fetched from `sumsUrl`.
Result<Release> releaseFromSums(const SourceConfig& source,
                                const std::string& version,
                                const std::vector<ChecksumEntry>& sums,
                                const std::string& sumsUrl) {
  Release release;
  release.version = Version(version);
  release.url = expandVersion(source.url, version);
  release.fileName = fileNameOfUrl(release.url);
  if (release.fileName.empty()) {
    return Error("URL= '" + release.url + "' has no file name");
  }
  const ChecksumEntry* entry = findChecksum(sums, release.fileName);
  if (entry == nullptr) {
    return Error("no entry for '" + release.fileName + "' in '" + sumsUrl +
                 "'");
  }
  release.expected = entry->digest;
  std::string pattern =
      source.pattern.empty() ? fileNameOfUrl(source.url) : source.pattern;
  for (const auto& e : sums) {
    if (auto v = matchVersionPattern(pattern, e.fileName)) {
      release.listed.emplace_back(Version(*v), e.digest);
    }
  }
  return release;
}

Result<Release> resolvePinned(const SourceConfig& source,
                              const TrustConfig& trust, Fetcher& fetcher,
                              std::int64_t now) {
  const std::string& version = source.version->str();
  // The version is pasted into URLs; a '/' or '?' would change which
  // resource they name.
  if (!isValidVersion(version)) {
    return Error("Version= '" + version +
                 "' is not a valid version (letters, digits and ._~+- "
                 "only, starting with a letter or digit)");
  }
  if (source.checksum) {
    Release release;
    release.version = *source.version;
    release.url = expandVersion(source.url, version);
    release.fileName = fileNameOfUrl(release.url);
    release.expected = *source.checksum;
    return release;
  }
  if (source.checksumsUrl.empty()) {
    return Error("nothing to verify version '" + version +
                 "' against: set Checksum= or ChecksumsURL=");
  }
  std::string sumsUrl = expandVersion(source.checksumsUrl, version);
  auto sums = fetchChecksums(source, trust, sumsUrl, version, fetcher, now);
  if (!sums) return sums.error();
  auto release = releaseFromSums(source, version, sums->entries, sumsUrl);
  if (release) release->signedBy = sums->signedBy;
  return release;
}

Result<Release> resolveNewest(const SourceConfig& source,
                              const TrustConfig& trust, Fetcher& fetcher,
                              std::int64_t now) {
  if (source.checksum) {
    return Error("Checksum= needs a pinned Version=");
  }
  if (source.checksumsUrl.empty()) {
    return Error(
        "without a pinned Version=, ChecksumsURL= is needed to find "
        "the newest release");
  }
  // The version is what we are looking for, so it cannot be part of where
  // we look.
  if (containsVersionMarker(source.checksumsUrl)) {
    return Error("ChecksumsURL= '" + source.checksumsUrl +
                 "' contains @v, which needs a pinned Version=");
  }
  if (containsVersionMarker(source.signatureUrl)) {
    return Error("SignatureURL= '" + source.signatureUrl +
                 "' contains @v, which needs a pinned Version=");
  }
  if (!containsVersionMarker(source.url)) {
    return Error("URL= '" + source.url +
                 "' contains no @v, so it cannot follow the newest version");
  }
  std::string pattern =
      source.pattern.empty() ? fileNameOfUrl(source.url) : source.pattern;
  auto first = pattern.find("@v");
  if (first == std::string::npos ||
      pattern.find("@v", first + 2) != std::string::npos) {
    return Error("Pattern= '" + pattern + "' must contain @v exactly once");
  }

  auto sums =
      fetchChecksums(source, trust, source.checksumsUrl, "", fetcher, now);
  if (!sums) return sums.error();
  std::optional<std::string> newest;
  std::optional<std::string> tie;  // a different spelling of `newest`
  for (const auto& entry : sums->entries) {
    auto version = matchVersionPattern(pattern, entry.fileName);
    if (!version) continue;
    int order = newest ? compareVersions(*version, *newest) : 1;
    if (order > 0) {
      newest = std::move(version);
      tie.reset();
    } else if (order == 0 && *version != *newest) {
      tie = std::move(version);
    }
  }
  if (!newest) {
    return Error("no file matching '" + pattern + "' in '" +
                 source.checksumsUrl + "'");
  }
  // "1.2" and "1.02" are the same version to compareVersions(); which file
  // to install would then depend on line order, so refuse to guess.
  if (tie) {
    return Error("versions '" + *newest + "' and '" + *tie + "' in '" +
                 source.checksumsUrl + "' are equally new");
  }
  auto release =
      releaseFromSums(source, *newest, sums->entries, source.checksumsUrl);
  if (release) release->signedBy = sums->signedBy;
  return release;
}

}  // namespace

Result<Release> resolveRelease(const SourceConfig& source,
                               const TrustConfig& trust, Fetcher& fetcher,
                               std::int64_t now) {
  return source.version ? resolvePinned(source, trust, fetcher, now)
                        : resolveNewest(source, trust, fetcher, now);
}

}  // namespace upgrader
