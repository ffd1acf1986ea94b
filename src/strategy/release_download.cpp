#include "strategy/release_download.hpp"

#include <boost/filesystem.hpp>

#include "common/file_util.hpp"
#include "common/url.hpp"
#include "fetch/signature_check.hpp"
#include "fetch/version.hpp"

namespace upgrader {

ReleaseDownload::ReleaseDownload(const SourceConfig& source,
                                 const TrustConfig& trust, Fetcher& fetcher)
    : source_(source), trust_(trust), fetcher_(fetcher) {}

Result<Release> ReleaseDownload::resolve() {
  auto release = resolveRelease(source_, trust_, fetcher_, wallClockSeconds());
  if (!release) return release.error();
  release_ = *release;
  return *release;
}

std::string ReleaseDownload::versionWithDigest(const std::string& hex) const {
  if (!release_) return "";
  if (release_->expected && release_->expected->hex() == hex) {
    return release_->version.str();
  }
  for (const auto& [version, digest] : release_->listed) {
    if (digest.hex() == hex) return version.str();
  }
  return "";
}

Result<FetchedFile> ReleaseDownload::fetchVerified(const std::string& dir,
                                                   const ProgressFn& progress) {
  if (!release_) return Error("no release was resolved to download");
  const Release& release = *release_;
  auto fetched = fetcher_.fetchToFile(release.url, dir,
                                      fetchOptionsFrom(source_), progress);
  if (!fetched) return fetched.error();
  if (!release.expected || fetched->digest != *release.expected) {
    (void)removeIfExists(fetched->path);
    return Error("checksum mismatch for '" + release.url +
                 "': expected sha256 " +
                 (release.expected ? release.expected->hex() : "?") + ", got " +
                 fetched->digest.hex());
  }
  // Without a listing, the vendor's signature is over the release itself
  // (the pinned Checksum= only says which bytes the administrator chose).
  if (trust_.hasKeys() && release.signedBy.empty()) {
    std::string signatureUrl = signatureUrlFor(
        release.url, expandVersion(source_.signatureUrl, release.version.str()));
    auto verified =
        verifySignedFile(trust_, fetched->path, release.url, signatureUrl,
                         fetcher_, fetchOptionsFrom(source_));
    if (!verified) {
      (void)removeIfExists(fetched->path);
      return verified.error();
    }
    release_->signedBy = "release " + *verified;
  }
  return fetched;
}

std::string ReleaseDownload::evidence(const FetchedFile& fetched) const {
  std::string text = "sha256 " + fetched.digest.hex();
  if (release_ && !release_->signedBy.empty()) {
    text += ", " + release_->signedBy;
  } else {
    text += ", unsigned (AllowUnsigned=yes)";
  }
  return text;
}

Status ReleaseDownload::removeStalePartialDownloads(
    const std::string& dir) const {
  // ".NAME.XXXXXX.partial" -> "NAME"
  constexpr std::string_view kSuffix = ".partial";
  constexpr std::size_t kRandom = 6;
  // The fetcher names a download after the release's file name with unusual
  // characters replaced; the pattern is matched in that form ("@v" stands
  // for a version, whose characters are kept as they are).
  std::string safePattern = source_.pattern;
  if (auto at = source_.pattern.find("@v"); at != std::string::npos) {
    safePattern = partialDownloadBaseName(source_.pattern.substr(0, at)) +
                  "@v" +
                  partialDownloadBaseName(source_.pattern.substr(at + 2));
  }
  boost::system::error_code ec;
  for (boost::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!isPartialDownloadName(name)) continue;
    std::string release =
        name.substr(1, name.size() - 1 - kSuffix.size() - kRandom - 1);
    bool ours =
        release == partialDownloadBaseName(fileNameOfUrl(source_.url)) ||
        matchVersionPattern(safePattern, release).has_value();
    if (!ours) continue;
    if (auto st = removeIfExists(it->path().string()); !st) return st;
  }
  if (ec) return Error("Failed to list '" + dir + "': " + ec.message());
  return okStatus();
}

}  // namespace upgrader
