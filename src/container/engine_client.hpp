// A container engine as the image strategy needs it: pull an image by
// digest, look at what it holds, remove what this upgrader pulled. Spoken
// over the Docker Engine API on the engine's unix socket: Docker serves it,
// and so does Podman's service (podman.socket), so one client drives both,
// and the engine does the privileged work (storage, mounts) in its own
// process. No CLI, no shell, no human-readable output parsed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/plan.hpp"
#include "container/credentials.hpp"
#include "fetch/http_client.hpp"
#include "systemd/service_manager.hpp"

namespace upgrader {

/// An image as the engine holds it.
struct LocalImage {
  std::string id;  ///< the engine's image ID ("sha256:..." of its config)
  /// "NAME@sha256:..." for each registry manifest it was pulled as.
  std::vector<std::string> repoDigests;
};

/// A container of a compose project, as the engine reports it.
struct ProjectContainer {
  std::string id;
  /// Its com.docker.compose.service label.
  std::string service;
  /// A `compose run` container (a one-off command, not a service).
  bool oneoff = false;
  bool running = false;
  /// How often the engine restarted it (its restart policy).
  unsigned restartCount = 0;
  /// "exited (3)", "running": for messages.
  std::string state;
};

class ContainerEngine {
 public:
  virtual ~ContainerEngine() = default;

  /// "podman" or "docker", for messages.
  virtual std::string name() const = 0;

  /// Lets the engine get ready while the caller does other work (a
  /// socket-activated service starts on the first connection); returns at
  /// once and never fails: the first real request reports any problem.
  virtual void warmUp() = 0;

  /// Pulls `reference` (NAME@sha256:...) from its registry, authenticating
  /// with `credentials` if any, within `timeout`. The error names the
  /// reference and quotes the engine: "podman could not pull 'x': ...".
  virtual Status pull(const std::string& reference,
                      const std::optional<Credentials>& credentials,
                      const std::string& registry, Duration timeout) = 0;

  /// What the engine holds under `reference`; nullopt if nothing.
  virtual Result<std::optional<LocalImage>> inspect(
      const std::string& reference) = 0;

  /// Removes `reference`, never by force (an image a container uses stays,
  /// and that is an error). Ok if the engine holds nothing under it.
  virtual Status remove(const std::string& reference) = 0;

  /// The IDs of the running containers made from the image `imageId`.
  virtual Result<std::vector<std::string>> runningContainersOf(
      const std::string& imageId) = 0;

  /// Every container, running or not, labelled as belonging to the compose
  /// project `project` (com.docker.compose.project).
  virtual Result<std::vector<ProjectContainer>> projectContainers(
      const std::string& project) = 0;

  /// Kills container `id` (SIGKILL) and waits until it has stopped (up to
  /// `timeout` per wait; a failed wait is tried again twice while the
  /// container still runs). Ok if it is gone already.
  virtual Status killContainer(const std::string& id, Duration timeout) = 0;
};

/// Where an engine's API answers.
struct EngineEndpoint {
  std::string name;     ///< "podman", "docker"
  std::string socket;   ///< "/run/podman/podman.sock"
  UnitName socketUnit;  ///< "podman.socket": started when nothing answers
};

/// The endpoint [Container] Engine= and Socket= name.
EngineEndpoint engineEndpointFor(const ContainerConfig& config);

/// The real client, through `http` on the endpoint's socket; `units`
/// starts the socket unit once if the socket does not answer (Podman's
/// service is socket-activated). Both must outlive it.
std::unique_ptr<ContainerEngine> makeEngineClient(HttpClient& http,
                                                  ServiceManager& units,
                                                  EngineEndpoint endpoint);

}  // namespace upgrader
