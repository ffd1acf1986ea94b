// The [Install] Mode= table: one row per mode, with what the rest of the
// program asks of a mode - its name, whether it runs containers (and so
// needs the engine's clients), whether its releases are images a registry
// names by digest, and the directories its configuration names that
// upgrade@.service must let it write. Adding a mode is a row here, its
// strategy (makeStrategy()) and its keys (plan_loader.cpp's key table,
// which says per key in which modes it means something).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/plan.hpp"

namespace upgrader {

struct ModeInfo {
  InstallConfig::Mode mode;
  /// As written in Mode=.
  std::string_view name;
  /// The service runs containers: the run needs a container engine's
  /// clients (registry, engine API, compose tool).
  bool runsContainers;
  /// Whether a release of `plan` is an image the registry names by digest,
  /// rather than a file from a release server listed with its checksum.
  bool (*imageReleases)(const Plan& plan);
  /// The directories a run of `plan` writes besides its state directory,
  /// as the configuration names them (the generator checks and grants
  /// them).
  std::vector<std::string> (*writable)(const Plan& plan);
};

/// Every mode, in the order the manual lists them.
std::span<const ModeInfo> allModes();

/// The row of `mode`.
const ModeInfo& modeInfo(InstallConfig::Mode mode);

}  // namespace upgrader
