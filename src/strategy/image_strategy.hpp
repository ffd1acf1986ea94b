// Mode=container: a container image, pinned by digest, in an environment
// file the service's unit reads (EnvironmentFile=, ExecStart=...
// ${UPGRADER_IMAGE}); the unit file itself is never rewritten.
//
// A release is the manifest a tag names at the registry: the tag of a
// version ("@v" in Image=, the newest or Version=) or a fixed tag whose
// digest changes ("latest-full"). Before anything stops it is pulled by
// that digest, and the engine must hold it under exactly that digest;
// then the environment file is swapped like an executable (FileSlot:
// image.env, image.env.old), so the unit starts exactly the verified
// image. Images this instance pulled are recorded before each pull, so a
// pull a killed run left, or a release that failed, is removed again, and
// only those images are ever pruned.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "container/engine_client.hpp"
#include "container/registry_client.hpp"
#include "fetch/fetcher.hpp"
#include "strategy/strategy.hpp"

namespace upgrader {

/// Where the image strategy keeps its files.
struct ImagePlaces {
  /// The environment file the unit reads (image.env).
  std::string environmentFile;
  /// Its record of the images it pulled (images.json).
  std::string pullRecord;
  /// Where credentials for the registry may be (for the engine's pull).
  std::vector<std::string> authFiles;
};

/// The image strategy on `registry` and `engine`, with `fetcher` for the
/// signed listing of digests; they must outlive it.
std::unique_ptr<Strategy> makeImageStrategy(const Plan& plan,
                                            Registry& registry,
                                            ContainerEngine& engine,
                                            Fetcher& fetcher,
                                            ImagePlaces places);

/// The reference an environment file pins, "NAME:TAG@sha256:..." (or what
/// an operator wrote there), from its UPGRADER_IMAGE= line.
Result<std::string> readPinnedImage(const std::string& environmentFile);

}  // namespace upgrader
