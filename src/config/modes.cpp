#include "config/modes.hpp"

#include "common/file_util.hpp"

namespace upgrader {

namespace {

using M = InstallConfig::Mode;

bool never(const Plan&) { return false; }
bool always(const Plan&) { return true; }

// Mode=compose: a version variable names the tag of an image; a directory
// per release is downloaded like Mode=symlink's.
bool composeImageReleases(const Plan& plan) {
  return !plan.compose.perDirectory();
}

std::vector<std::string> binaryWritable(const Plan& plan) {
  return {parentDirectory(plan.install.path)};
}

std::vector<std::string> symlinkWritable(const Plan& plan) {
  return {parentDirectory(plan.install.path), plan.install.releasesDirectory};
}

// Its only file is the image's environment file: in the state directory,
// which the unit grants to every instance, unless EnvironmentFile= puts
// it elsewhere (its rollback point and temp names beside it).
std::vector<std::string> containerWritable(const Plan& plan) {
  if (plan.container.environmentFile.empty()) return {};
  return {parentDirectory(plan.container.environmentFile)};
}

// The env file and its rollback point, or the link and the release
// directories.
std::vector<std::string> composeWritable(const Plan& plan) {
  if (plan.compose.perDirectory()) return symlinkWritable(plan);
  return binaryWritable(plan);
}

constexpr ModeInfo kModes[] = {
    {M::kBinary, "binary", false, never, binaryWritable},
    {M::kSymlink, "symlink", false, never, symlinkWritable},
    {M::kContainer, "container", true, always, containerWritable},
    {M::kCompose, "compose", true, composeImageReleases, composeWritable},
};

}  // namespace

std::span<const ModeInfo> allModes() { return kModes; }

const ModeInfo& modeInfo(InstallConfig::Mode mode) {
  for (const auto& row : kModes) {
    if (row.mode == mode) return row;
  }
  return kModes[0];  // unreachable: every mode has its row (tested)
}

}  // namespace upgrader
