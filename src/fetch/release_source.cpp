#include "fetch/release_source.hpp"

#include "fetch/checksums.hpp"
#include "fetch/version.hpp"

namespace upgrader {

namespace {

bool containsVersionMarker(std::string_view s) {
  return s.find("@v") != std::string_view::npos;
}

Result<std::vector<ChecksumEntry>> fetchChecksums(const std::string& url,
                                                  const FetchOptions& options,
                                                  Fetcher& fetcher) {
  auto text = fetcher.fetchText(url, options, kMaxChecksumsBytes);
  if (!text) return text.error();
  return parseSha256Sums(*text, url);
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

Result<Release> resolvePinned(const SourceConfig& source, Fetcher& fetcher) {
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
  auto sums = fetchChecksums(sumsUrl, fetchOptionsFrom(source), fetcher);
  if (!sums) return sums.error();
  return releaseFromSums(source, version, *sums, sumsUrl);
}

Result<Release> resolveNewest(const SourceConfig& source, Fetcher& fetcher) {
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
      fetchChecksums(source.checksumsUrl, fetchOptionsFrom(source), fetcher);
  if (!sums) return sums.error();
  std::optional<std::string> newest;
  std::optional<std::string> tie;  // a different spelling of `newest`
  for (const auto& entry : *sums) {
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
  return releaseFromSums(source, *newest, *sums, source.checksumsUrl);
}

}  // namespace

Result<Release> resolveRelease(const SourceConfig& source, Fetcher& fetcher) {
  return source.version ? resolvePinned(source, fetcher)
                        : resolveNewest(source, fetcher);
}

}  // namespace upgrader
