// The key table: which [Section] Key= sets which Plan field, how (the
// parsers of key_values.hpp), and in which modes it means something.
// Internal to src/config/.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/plan.hpp"

namespace upgrader {

/// Sets a key's field of the plan from its value as written ("" resets
/// it to the default, systemd's semantics).
using Setter = std::function<Status(Plan&, std::string_view)>;

// The modes a key means something in, as a bit set. A key set in a file
// of another mode is refused rather than ignored: it shows a
// misunderstanding (a Path= in a container's file, say).
using Modes = unsigned;
constexpr Modes modeBit(InstallConfig::Mode mode) {
  return 1u << static_cast<unsigned>(mode);
}
constexpr Modes kFileModes = modeBit(InstallConfig::Mode::kBinary) |
                             modeBit(InstallConfig::Mode::kSymlink);
constexpr Modes kSymlinkMode = modeBit(InstallConfig::Mode::kSymlink);
constexpr Modes kContainerMode = modeBit(InstallConfig::Mode::kContainer);
constexpr Modes kComposeMode = modeBit(InstallConfig::Mode::kCompose);
// The keys of a release from a URL, and of an image from a registry: a
// compose project has one or the other (checkCompose()).
constexpr Modes kDownloadModes = kFileModes | kComposeMode;
constexpr Modes kImageModes = kContainerMode | kComposeMode;
constexpr Modes kAllModes = kFileModes | kContainerMode | kComposeMode;

struct KeySpec {
  std::string_view section;
  std::string_view key;
  Setter set;
  Modes modes = kAllModes;
};

/// Every key, by section, in the order the manual lists them.
const std::vector<KeySpec>& keySpecs();
/// The key `key` of [section]; null if there is none.
const KeySpec* findKey(std::string_view section, std::string_view key);
bool isKnownSection(std::string_view section);
/// "Mode=binary, Mode=symlink or Mode=compose".
std::string modesText(Modes modes);

}  // namespace upgrader
