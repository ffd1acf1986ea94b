// A container registry as the OCI distribution API serves it: which tags a
// repository has, and which manifest digest a tag names now. Speaks the
// token challenge (WWW-Authenticate: Bearer, as Docker Hub and most
// registries ask) and basic authentication. Everything it reads is bounded
// and treated as hostile: a registry can refuse an upgrade, never make one
// happen with content other than what a digest pins.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/image_reference.hpp"
#include "common/result.hpp"
#include "container/credentials.hpp"
#include "fetch/http_client.hpp"

namespace upgrader {

class Registry {
 public:
  virtual ~Registry() = default;

  /// Every tag of `image`'s repository, all pages read (at most 10000
  /// tags in 100 pages). Errors name the registry and repository: "no
  /// repository '127.0.0.1:5000/svc'", "authentication failed (HTTP 401)".
  virtual Result<std::vector<std::string>> listTags(const ImageName& image) = 0;

  /// The digest ("sha256:...") of the manifest `tag` names now: the
  /// SHA-256 of the manifest as served, which must equal the registry's
  /// Docker-Content-Digest when it sends one. Error "no tag '2' in
  /// '127.0.0.1:5000/svc'" if there is none.
  virtual Result<std::string> manifestDigest(const ImageName& image,
                                             const std::string& tag) = 0;

  /// What is left of the run's time for registry work (RegistryAccess::
  /// deadline): a pull the engine makes from the registry is cut to it.
  /// Error naming the setting once it has passed.
  virtual Result<Duration> timeLeft() = 0;
};

/// How to reach one registry.
struct RegistryAccess {
  /// A CA bundle for its HTTPS; "" for the system store.
  std::string caFile;
  /// Where its credentials may be (findCredentials()); read only when the
  /// registry asks for them.
  std::vector<std::string> authFiles;
  Duration timeout = std::chrono::seconds(60);
  /// When all of this run's work with the registry must be over: every
  /// request's timeout is cut to what is left, and none starts after it.
  /// SteadyTime::max() for no such bound.
  SteadyTime deadline = SteadyTime::max();
  /// The setting `deadline` comes from, for the error: "RegistryTimeoutSec=15min".
  std::string deadlineName;
  /// The clock `deadline` is on; systemClock() if null.
  Clock* clock = nullptr;
};

/// How to reach `registry` as [Container] says: CAFile=, else the
/// engine's own certs.d CA for it; AuthFile=, else the engine's files;
/// every request over within RegistryTimeoutSec= from now on `clock`
/// (which must outlive the client).
RegistryAccess registryAccessFor(const ContainerConfig& config,
                                 const std::string& registry, Clock& clock);

/// The real client, over HTTPS through `http` (which must outlive it).
std::unique_ptr<Registry> makeRegistryClient(HttpClient& http,
                                             RegistryAccess access);

/// A WWW-Authenticate challenge: its scheme ("bearer", "basic", lowercase)
/// and parameters (realm, service, scope, ...).
struct AuthChallenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
/// Parses the first challenge of a WWW-Authenticate header.
Result<AuthChallenge> parseAuthChallenge(std::string_view header);

/// The target of the rel="next" link in a Link header; "" if none.
std::string nextLink(std::string_view header);

}  // namespace upgrader
