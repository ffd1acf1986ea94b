#include "install/installer.hpp"

#include <boost/filesystem.hpp>

#include "common/file_util.hpp"
#include "fetch/archive.hpp"
#include "fetch/version.hpp"
#include "install/installers.hpp"

namespace upgrader {

bool isArchiveRelease(const SourceConfig& source) {
  using A = SourceConfig::Archive;
  switch (source.archive) {
    case A::kTar:
    case A::kZip: return true;
    case A::kNone: return false;
    case A::kAuto: break;
  }
  return looksLikeArchive(source.url);
}

std::unique_ptr<Installer> makeInstaller(const Plan& plan) {
  switch (plan.install.mode) {
    case InstallConfig::Mode::kSymlink: return makeSymlinkInstaller(plan);
    case InstallConfig::Mode::kBinary: break;
  }
  return makeBinaryInstaller(plan);
}

Status removeStalePartialDownloads(const std::string& dir,
                                   const SourceConfig& source) {
  // ".NAME.XXXXXX.partial" -> "NAME"
  constexpr std::string_view kSuffix = ".partial";
  constexpr std::size_t kRandom = 6;
  // The fetcher names a download after the release's file name with unusual
  // characters replaced; the pattern is matched in that form ("@v" stands
  // for a version, whose characters are kept as they are).
  std::string safePattern = source.pattern;
  if (auto at = source.pattern.find("@v"); at != std::string::npos) {
    safePattern = partialDownloadBaseName(source.pattern.substr(0, at)) + "@v" +
                  partialDownloadBaseName(source.pattern.substr(at + 2));
  }
  boost::system::error_code ec;
  for (boost::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!isPartialDownloadName(name)) continue;
    std::string release =
        name.substr(1, name.size() - 1 - kSuffix.size() - kRandom - 1);
    bool ours = release == partialDownloadBaseName(fileNameOfUrl(source.url)) ||
                matchVersionPattern(safePattern, release).has_value();
    if (!ours) continue;
    if (auto st = removeIfExists(it->path().string()); !st) return st;
  }
  if (ec) return Error("Failed to list '" + dir + "': " + ec.message());
  return okStatus();
}

}  // namespace upgrader
