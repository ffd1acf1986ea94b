// The typed, validated plan of one managed service: what a configuration
// file /etc/upgrader/NAME.conf means once parsed. Nothing acts on a file
// until it has become a Plan, so a bad file never leads to any action.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/types.hpp"
#include "common/url.hpp"
#include "trust/minisign.hpp"

namespace upgrader {

/// Where releases come from and how they are verified ([Source]).
struct SourceConfig {
  /// Release URL (https, or http or file where allowedSchemes says so);
  /// "@v" stands for the version.
  std::string url;
  /// The schemes URL=, ChecksumsURL= and their redirects may use.
  UrlSchemes allowedSchemes;
  /// A pinned version; when absent the newest version listed in
  /// checksumsUrl whose file name matches `pattern` is taken.
  std::optional<Version> version;
  /// A SHA256SUMS file (GNU coreutils format); "@v" allowed.
  std::string checksumsUrl;
  /// File-name pattern with "@v" matched against SHA256SUMS entries; defaults
  /// to the last path component of `url`.
  std::string pattern;
  /// A pinned checksum (only with a pinned version).
  std::optional<Sha256Digest> checksum;
  enum class Archive { kAuto, kNone, kTar, kZip };
  /// How the release is packed; kAuto decides by the URL's suffix.
  Archive archive = Archive::kAuto;
  /// Path of the member (binary mode) or tree (symlink mode) in the archive.
  std::string member;
  std::uint64_t maxSize = 1024ull * 1024 * 1024;
  /// The most an archive may unpack to, in all.
  std::uint64_t maxUnpackedSize = 4ull * 1024 * 1024 * 1024;
  Duration connectTimeout = std::chrono::seconds(10);
  /// A transfer slower than 1 KiB/s for this long is aborted.
  Duration lowSpeedTimeout = std::chrono::seconds(30);
  unsigned retries = 3;
  /// The longest one download may take, retries included: a server that
  /// drips bytes just above the low-speed limit cannot hold the instance
  /// lock for days.
  Duration downloadTimeout = std::chrono::hours(1);
  /// Extra CA bundle for https (the system store is used otherwise).
  std::string caFile;
  /// Where the minisign signature of what is signed is: the listing at
  /// ChecksumsURL= if there is one, else the release itself. "" for that
  /// URL with ".minisig" appended. "@v" allowed.
  std::string signatureUrl;
};

/// Whether the release of `source` is an archive: Archive=tar or zip, or
/// with Archive=auto, by the suffix of URL= (looksLikeArchive()).
bool isArchiveRelease(const SourceConfig& source);

/// How a verified release replaces the running one ([Install]).
struct InstallConfig {
  enum class Mode { kBinary, kSymlink, kContainer, kCompose };
  Mode mode = Mode::kBinary;
  /// binary: the executable (e.g. /usr/bin/progressdb);
  /// symlink: the `current` link (e.g. /opt/progressdb/current).
  /// container: unused.
  /// compose: the project's env file (a version variable), or its
  /// `current` link (a directory per release).
  std::string path;
  /// symlink, compose: directory holding one directory per version.
  std::string releasesDirectory;
  unsigned keepReleases = 3;
  /// A command run against the staged release before anything stops;
  /// "@path" stands for the staged file or directory, "@image" for the
  /// pulled image pinned by digest.
  std::string preflight;
  Duration preflightTimeout = std::chrono::seconds(30);
  bool allowDowngrade = false;
};

/// Where container images come from and how the engine runs them
/// ([Container], Mode=container).
struct ContainerConfig {
  enum class Engine { kPodman, kDocker };
  Engine engine = Engine::kPodman;
  /// REGISTRY/REPOSITORY:TAG as configured; the tag may hold "@v"
  /// (parseImageName() accepts it).
  std::string image;
  /// A pinned version (only with "@v" in the tag); when absent the newest
  /// version among the registry's tags that match the pattern is taken.
  std::optional<Version> version;
  /// A pinned manifest digest, "sha256:<64 hex>": the registry must serve
  /// exactly this for the tag.
  std::string digest;
  /// Images this instance pulled that are kept (the one in service and
  /// the rollback point always are).
  unsigned keepImages = 3;
  /// The engine's API socket; "" for its usual one (/run/podman/podman.sock,
  /// /run/docker.sock).
  std::string socket;
  /// Registry credentials; "" for the engine's usual file.
  std::string authFile;
  /// A CA bundle for the registry; "" for the engine's certs.d directory
  /// of the registry, then the system store.
  std::string caFile;
  /// The file the service's unit reads UPGRADER_IMAGE from; "" for
  /// /var/lib/upgrader/NAME/image.env.
  std::string environmentFile;
  /// The longest a pull may take.
  Duration pullTimeout = std::chrono::minutes(10);
  /// All the registry work of one run (resolving, listing tags, pulling)
  /// ends within this, however slowly the registry answers each request.
  Duration registryTimeout = std::chrono::minutes(15);
  /// A signed listing of the manifest digest of each tag, in the format of
  /// SHA256SUMS ("HEX  TAG"); required once [Trust] has a key.
  std::string digestsUrl;
  /// Its minisign signature; "" for digestsUrl + ".minisig".
  std::string signatureUrl;
  /// The schemes digestsUrl and its signature may use.
  UrlSchemes allowedSchemes;
};

/// A Docker Compose project run by the service's unit ([Compose],
/// Mode=compose). A release changes it one of two ways: a version variable
/// in its env file (Variable=; the versions are the tags of [Container]
/// Image=), or a whole project directory per release ([Install]
/// ReleasesDirectory=, downloaded from [Source] like Mode=symlink).
struct ComposeConfig {
  /// The project name (docker-compose -p): containers and volumes are
  /// named after it, so it never changes between releases.
  std::string project;
  /// The compose file: absolute with Variable=; a path inside each release
  /// directory otherwise.
  std::string file = "docker-compose.yml";
  /// The variable of the env file ([Install] Path=) that holds the version.
  std::string variable;
  /// The compose tool.
  std::string command = "/usr/bin/docker-compose";

  bool perDirectory() const { return variable.empty(); }
};

/// The systemd units that run the service ([Target]).
struct TargetConfig {
  /// Stopped in this order, started in reverse.
  std::vector<UnitName> units;
  Duration stopTimeout = std::chrono::seconds(90);
  Duration startTimeout = std::chrono::seconds(90);
};

/// A TCP endpoint, parsed once from "host:port" ("[::1]:8080" for IPv6).
struct TcpEndpoint {
  std::string host;  ///< a name or an address literal, without brackets
  std::uint16_t port = 0;
  /// As it was written: "host:port", "[v6]:port".
  std::string text() const;
  bool operator==(const TcpEndpoint&) const = default;
};

/// What "healthy" means for the new version ([Health]); every check must pass.
struct HealthConfig {
  std::vector<std::string> httpUrls;
  int expectStatus = 200;
  /// Each: a dotted key path into the JSON body and the expected value as
  /// text, e.g. {"status", "ok"}, {"checks.db", "true"}.
  struct JsonExpectation {
    std::string keyPath;
    std::string value;
  };
  std::vector<JsonExpectation> expectJson;
  /// Endpoints that must accept a TCP connection.
  std::vector<TcpEndpoint> tcp;
  /// Commands (run by /bin/sh -c) that must exit 0.
  std::vector<std::string> exec;
  /// Units must stay active with NRestarts unchanged for this long.
  Duration settle = Duration::zero();
  Duration interval = std::chrono::milliseconds(500);
  Duration timeout = std::chrono::seconds(60);
  /// How long the old release has to be healthy again after a rollback
  /// (RollbackTimeoutSec=); unset, `timeout`.
  std::optional<Duration> rollbackTimeout;
  unsigned successes = 1;

  /// The same checks, with the time a rollback gives the old release.
  HealthConfig forRollback() const {
    HealthConfig old = *this;
    old.timeout = rollbackTimeout.value_or(timeout);
    return old;
  }
};

/// Commands run at fixed points of the transaction ([Hooks]); each runs with
/// /bin/sh -c and UPGRADER_* variables in its environment.
struct HooksConfig {
  std::vector<std::string> preStop;
  std::vector<std::string> migrate;
  std::vector<std::string> postUpgrade;
  std::vector<std::string> postRollback;
  std::vector<std::string> restore;
  Duration timeout = std::chrono::minutes(5);
};

/// Whose signature a release must carry ([Trust]). With a key, every
/// release is verified by signature (the SHA256SUMS listing, the release
/// itself, or the listing of image digests); without one, the source must
/// say AllowUnsigned=yes.
struct TrustConfig {
  /// The trusted keys (several: a key rotation): those given inline, and
  /// after loadPlan() those read from key files.
  std::vector<MinisignKey> keys;
  /// Key files named by TrustedKey=, absolute (a relative name is under
  /// /etc/upgrader/keys/); read by loadPlan().
  std::vector<std::string> keyFiles;
  /// The explicit opt-out: checksums only, logged on every run.
  bool allowUnsigned = false;
  /// A signed listing whose trusted timestamp is older than this is
  /// refused (a frozen or replayed listing).
  std::optional<Duration> maxAge;

  bool hasKeys() const { return !keys.empty() || !keyFiles.empty(); }
};

/// Where TrustedKey= names a key file by a relative name.
inline constexpr const char* kKeysDirectory = "/etc/upgrader/keys";

/// Everything configured for one instance.
struct Plan {
  InstanceName instance;
  std::string configFile;
  SourceConfig source;
  InstallConfig install;
  ContainerConfig container;
  ComposeConfig compose;
  TargetConfig target;
  HealthConfig health;
  HooksConfig hooks;
  TrustConfig trust;
};

}  // namespace upgrader
