// Registry credentials as the engines keep them: Podman's auth.json and
// Docker's config.json share one format, {"auths": {"REGISTRY": {"auth":
// base64("user:password")}}}. The upgrader reads the file the engine uses,
// so `podman login` / `docker login` is all an operator does. Credentials
// never appear in messages.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/plan.hpp"

namespace upgrader {

struct Credentials {
  std::string username;
  std::string password;
};

/// The files the engine reads credentials from, in its order: for Podman
/// /run/containers/0/auth.json then /root/.docker/config.json, for Docker
/// /root/.docker/config.json. A configured AuthFile= alone replaces them.
std::vector<std::string> authFilesFor(const ContainerConfig& config);

/// The credentials for `repository` at `registry` ("host:port",
/// "docker.io") in the first of `files` that exists and has an entry for
/// it: the most specific entry first, as Podman reads them
/// ("registry/team/app", "registry/team", "registry"). nullopt if none
/// has. Error (naming the file, never a secret) if a file that exists
/// cannot be read, is not what an auth file is, or holds credentials that
/// are not UTF-8 text.
Result<std::optional<Credentials>> findCredentials(
    const std::vector<std::string>& files, const std::string& registry,
    const std::string& repository = "");

}  // namespace upgrader
