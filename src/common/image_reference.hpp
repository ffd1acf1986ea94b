// Container image names as Docker and Podman read them:
//   [REGISTRY/]REPOSITORY[:TAG]
// with Docker Hub's shorthands ("nginx" is docker.io/library/nginx). The
// tag may be a pattern with "@v" standing for a version
// ("nocobase/nocobase:@v-full"). Digests are never part of a configured
// name: they are what the upgrader resolves and pins.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace upgrader {

struct ImageName {
  /// "registry.example.com:5000", "docker.io".
  std::string registry;
  /// "progressdb", "library/nginx".
  std::string repository;
  /// A tag, or a tag pattern containing "@v" once.
  std::string tag;

  /// Whether the tag is a pattern for versions.
  bool followsVersions() const;
  /// "registry/repository" (for digests: "registry/repository@sha256:...").
  std::string name() const;
  /// The tag for `version` ("1.7.14-full" for "@v-full").
  std::string tagFor(std::string_view version) const;
  /// The version a tag stands for under the pattern; "" if it does not
  /// match (or the tag is not a pattern).
  std::string versionOfTag(std::string_view tag) const;
  /// The host the registry's HTTP API answers on ("registry-1.docker.io"
  /// for Docker Hub, else the registry itself).
  std::string apiHost() const;
};

/// Parses IMAGE as configured. The tag is required (an image that follows
/// "latest" implicitly is a mistake waiting to happen) and a digest is
/// refused (Digest= pins one). Errors say what is wrong:
/// "invalid image 'x': ...".
Result<ImageName> parseImageName(std::string_view text);

/// Whether `text` is one image reference as it runs: NAME:TAG, NAME@DIGEST
/// or NAME:TAG@DIGEST (what an environment file pins).
bool isValidImageReference(std::string_view text);

/// Whether `tag` is a valid tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool isValidTag(std::string_view tag);

/// Whether `digest` is "sha256:" and 64 lowercase hex digits.
bool isValidImageDigest(std::string_view digest);

}  // namespace upgrader
