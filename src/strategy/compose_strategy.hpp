// Mode=compose: a Docker Compose project that the service's unit runs in
// the foreground (docker-compose -p PROJECT ... up). A release changes the
// project's files one of two ways, each staged, swapped and reverted by a
// strategy that already knows how:
//   - a version variable in the env file (Variable=), swapped as a whole
//     file like an executable (FileSlot: PATH, PATH.old); the versions are
//     the tags of one named image;
//   - a project directory per release, extracted and flipped to with a
//     `current` link exactly as Mode=symlink does.
// What compose adds: before anything stops, the configuration the new
// files render to (docker-compose config, never a guess) names every image
// the release runs, and each is pulled and checked to be held by the
// engine - by its digest where one is known - so a missing image changes
// nothing and `up` starts without a registry.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "compose/compose_tool.hpp"
#include "container/engine_client.hpp"
#include "container/registry_client.hpp"
#include "strategy/strategy.hpp"

namespace upgrader {

/// Image digests the files' own resolution vouches for, by image
/// ("registry/repository:tag" -> "sha256:..."): the named image's, which
/// the registry (and, with keys, the signed listing) gave.
using VouchedDigests = std::function<std::map<std::string, std::string>()>;

/// What the compose strategy acts through.
struct ComposeParts {
  /// The project's files: the symlink strategy, or the env-file strategy
  /// of makeEnvVersionStrategy().
  std::unique_ptr<Strategy> files;
  /// What `files` vouches for after resolve(); may be empty.
  VouchedDigests vouched;
  ComposeTool& tool;
  ContainerEngine& engine;
  /// Its record of the images it pulled (images.json).
  std::string pullRecord;
  /// Where registry credentials may be.
  std::vector<std::string> authFiles;
};

/// Mode=compose on `parts` (whose references must outlive it).
std::unique_ptr<Strategy> makeComposeStrategy(const Plan& plan,
                                              ComposeParts parts);

/// The version variable of an env file: Path= swapped as a whole file,
/// its variable set to the version of the named image ([Container] Image=)
/// the registry offers. `registry` and `fetcher` must outlive it.
struct EnvVersionFiles {
  std::unique_ptr<Strategy> strategy;
  VouchedDigests vouched;
};
EnvVersionFiles makeEnvVersionStrategy(const Plan& plan, Registry& registry,
                                       Fetcher& fetcher);

/// "registry/repository:tag" of an image reference as compose names it
/// (any digest dropped), for comparing names; "" if it has no tag.
std::string imageTagKey(const std::string& reference);

/// The value of `variable` in the env file at `path`: a version.
Result<std::string> readVersionVariable(const std::string& path,
                                        const std::string& variable);

}  // namespace upgrader
