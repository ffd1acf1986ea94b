#include "config/key_table.hpp"

#include "config/key_values.hpp"
#include "config/modes.hpp"
#include "config/names.hpp"
#include "config/values.hpp"

namespace upgrader {

namespace {


template <typename Section, typename Field>
auto field(Section Plan::*section, Field Section::*member) {
  return [section, member](Plan& plan) -> Field& {
    return (plan.*section).*member;
  };
}

// A key that holds one value: the last assignment wins and an empty one
// restores the default (systemd semantics).
template <typename Get, typename Parse>
Setter scalar(Get get, Parse parse) {
  return [get, parse](Plan& plan, std::string_view value) -> Status {
    if (value.empty()) {
      Plan defaults;
      get(plan) = get(defaults);
      return okStatus();
    }
    auto parsed = parse(value);
    if (!parsed) return parsed.error();
    get(plan) = std::move(*parsed);
    return okStatus();
  };
}

// TrustedKey=: a list of keys and key files; an empty assignment empties it.
Setter trustedKeys() {
  return [](Plan& plan, std::string_view value) -> Status {
    if (value.empty()) {
      plan.trust.keys.clear();
      plan.trust.keyFiles.clear();
      return okStatus();
    }
    return addTrustedKey(plan.trust, value);
  };
}

// A key that may be given many times, each adding an item; an empty
// assignment empties the list (systemd semantics).
template <typename Get, typename Parse>
Setter list(Get get, Parse parse) {
  return [get, parse](Plan& plan, std::string_view value) -> Status {
    if (value.empty()) {
      get(plan).clear();
      return okStatus();
    }
    auto parsed = parse(value);
    if (!parsed) return parsed.error();
    get(plan).push_back(std::move(*parsed));
    return okStatus();
  };
}

}  // namespace

// "Mode=binary, Mode=symlink or Mode=compose".
std::string modesText(Modes modes) {
  std::vector<std::string> names;
  for (const auto& row : allModes()) {
    if ((modes & modeBit(row.mode)) != 0)
      names.push_back("Mode=" + std::string(row.name));
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

const std::vector<KeySpec>& keySpecs() {
  auto unsignedIn = [](unsigned min, unsigned max) {
    return [min, max](std::string_view text) {
      return parseUnsigned(text, min, max);
    };
  };
  constexpr unsigned kNoMax = std::numeric_limits<unsigned>::max();
  auto httpStatus = [](std::string_view text) -> Result<int> {
    auto status = parseUnsigned(text, 100, 599);
    if (!status) return status.error();
    return static_cast<int>(*status);
  };

  using S = SourceConfig;
  using I = InstallConfig;
  using C = ContainerConfig;
  using P = ComposeConfig;
  using T = TargetConfig;
  using H = HealthConfig;
  using K = HooksConfig;
  using R = TrustConfig;
  const auto source = &Plan::source;
  const auto install = &Plan::install;
  const auto container = &Plan::container;
  const auto compose = &Plan::compose;
  const auto target = &Plan::target;
  const auto health = &Plan::health;
  const auto hooks = &Plan::hooks;
  const auto trust = &Plan::trust;
  static const std::vector<KeySpec> specs = {
      {"Source", "URL", scalar(field(source, &S::url), parseReleaseUrl),
       kDownloadModes},
      {"Source", "Version", scalar(field(source, &S::version), parseVersion),
       kDownloadModes},
      {"Source", "ChecksumsURL",
       scalar(field(source, &S::checksumsUrl), parseAnyUrl), kDownloadModes},
      {"Source", "Pattern", scalar(field(source, &S::pattern), parsePattern),
       kDownloadModes},
      {"Source", "Checksum", scalar(field(source, &S::checksum), parseChecksum),
       kDownloadModes},
      {"Source", "Archive", scalar(field(source, &S::archive), parseArchive),
       kDownloadModes},
      {"Source", "Member", scalar(field(source, &S::member), parseMember),
       kDownloadModes},
      {"Source", "MaxSize", scalar(field(source, &S::maxSize), parseMaxSize),
       kDownloadModes},
      {"Source", "MaxUnpackedSize",
       scalar(field(source, &S::maxUnpackedSize), parseMaxSize),
       kDownloadModes},
      {"Source", "ConnectTimeoutSec",
       scalar(field(source, &S::connectTimeout), parsePositiveTimeSpan),
       kDownloadModes},
      {"Source", "LowSpeedTimeoutSec",
       scalar(field(source, &S::lowSpeedTimeout), parsePositiveTimeSpan),
       kDownloadModes},
      {"Source", "AllowedSchemes",
       scalar(field(source, &S::allowedSchemes), parseSchemes), kDownloadModes},
      {"Source", "DownloadTimeoutSec",
       scalar(field(source, &S::downloadTimeout), parsePositiveTimeSpan),
       kDownloadModes},
      {"Source", "Retries",
       scalar(field(source, &S::retries), unsignedIn(0, 10)), kDownloadModes},
      {"Source", "CAFile", scalar(field(source, &S::caFile), parseAbsolutePath),
       kDownloadModes},
      {"Source", "SignatureURL",
       scalar(field(source, &S::signatureUrl), parseAnyUrl), kDownloadModes},

      {"Install", "Mode", scalar(field(install, &I::mode), parseMode)},
      {"Install", "Path", scalar(field(install, &I::path), parseFilePath),
       kDownloadModes},
      {"Install", "ReleasesDirectory",
       scalar(field(install, &I::releasesDirectory), parseAbsolutePath),
       kSymlinkMode | kComposeMode},
      // Accepted (and unused) with Mode=binary, as it always was.
      {"Install", "KeepReleases",
       scalar(field(install, &I::keepReleases), unsignedIn(2, kNoMax)),
       kDownloadModes},
      {"Install", "Preflight",
       scalar(field(install, &I::preflight), parseCommand)},
      {"Install", "PreflightTimeoutSec",
       scalar(field(install, &I::preflightTimeout), parsePositiveTimeSpan)},
      {"Install", "AllowDowngrade",
       scalar(field(install, &I::allowDowngrade), parseBoolean)},

      {"Container", "Engine", scalar(field(container, &C::engine), parseEngine),
       kImageModes},
      {"Container", "Image", scalar(field(container, &C::image), parseImage),
       kImageModes},
      {"Container", "Version",
       scalar(field(container, &C::version), parseVersion), kImageModes},
      {"Container", "Digest",
       scalar(field(container, &C::digest), parseImageDigest), kImageModes},
      {"Container", "KeepImages",
       scalar(field(container, &C::keepImages), unsignedIn(2, kNoMax)),
       kImageModes},
      {"Container", "Socket",
       scalar(field(container, &C::socket), parseFilePath), kImageModes},
      {"Container", "AuthFile",
       scalar(field(container, &C::authFile), parseFilePath), kImageModes},
      {"Container", "CAFile",
       scalar(field(container, &C::caFile), parseFilePath), kImageModes},
      {"Container", "EnvironmentFile",
       scalar(field(container, &C::environmentFile), parseFilePath),
       kContainerMode},
      {"Container", "RegistryTimeoutSec",
       scalar(field(container, &C::registryTimeout), parsePositiveTimeSpan),
       kImageModes},
      {"Container", "PullTimeoutSec",
       scalar(field(container, &C::pullTimeout), parsePositiveTimeSpan),
       kImageModes},
      {"Container", "DigestsURL",
       scalar(field(container, &C::digestsUrl), parseAnyUrl), kImageModes},
      {"Container", "SignatureURL",
       scalar(field(container, &C::signatureUrl), parseAnyUrl),
       kImageModes},
      {"Container", "AllowedSchemes",
       scalar(field(container, &C::allowedSchemes), parseSchemes),
       kImageModes},

      {"Compose", "Project",
       scalar(field(compose, &P::project), parseProjectName), kComposeMode},
      {"Compose", "File", scalar(field(compose, &P::file), parseComposeFile),
       kComposeMode},
      {"Compose", "Variable",
       scalar(field(compose, &P::variable), parseVariableName), kComposeMode},
      {"Compose", "Command",
       scalar(field(compose, &P::command), parseAbsolutePath), kComposeMode},

      {"Target", "Unit", list(field(target, &T::units), parseUnitName)},
      {"Target", "StopTimeoutSec",
       scalar(field(target, &T::stopTimeout), parsePositiveTimeSpan)},
      {"Target", "StartTimeoutSec",
       scalar(field(target, &T::startTimeout), parsePositiveTimeSpan)},

      {"Health", "HTTP", list(field(health, &H::httpUrls), parseHttpUrl)},
      {"Health", "ExpectStatus",
       scalar(field(health, &H::expectStatus), httpStatus)},
      {"Health", "ExpectJSON",
       list(field(health, &H::expectJson), parseJsonExpectation)},
      {"Health", "TCP", list(field(health, &H::tcp), parseTcpEndpoint)},
      {"Health", "Exec", list(field(health, &H::exec), parseCommand)},
      {"Health", "SettleSec", scalar(field(health, &H::settle), parseTimeSpan)},
      {"Health", "IntervalSec",
       scalar(field(health, &H::interval), parsePositiveTimeSpan)},
      {"Health", "TimeoutSec",
       scalar(field(health, &H::timeout), parsePositiveTimeSpan)},
      {"Health", "RollbackTimeoutSec",
       scalar(field(health, &H::rollbackTimeout), parsePositiveTimeSpan)},
      {"Health", "Successes",
       scalar(field(health, &H::successes), unsignedIn(1, kNoMax))},

      {"Hooks", "PreStop", list(field(hooks, &K::preStop), parseCommand)},
      {"Hooks", "Migrate", list(field(hooks, &K::migrate), parseCommand)},
      {"Hooks", "PostUpgrade",
       list(field(hooks, &K::postUpgrade), parseCommand)},
      {"Hooks", "PostRollback",
       list(field(hooks, &K::postRollback), parseCommand)},
      {"Hooks", "Restore", list(field(hooks, &K::restore), parseCommand)},
      {"Hooks", "TimeoutSec",
       scalar(field(hooks, &K::timeout), parsePositiveTimeSpan)},

      {"Trust", "TrustedKey", trustedKeys()},
      {"Trust", "AllowUnsigned",
       scalar(field(trust, &R::allowUnsigned), parseBoolean)},
      {"Trust", "MaxAge", scalar(field(trust, &R::maxAge), parsePositiveTimeSpan)},
  };
  return specs;
}

const KeySpec* findKey(std::string_view section, std::string_view key) {
  for (const auto& spec : keySpecs()) {
    if (spec.section == section && spec.key == key) return &spec;
  }
  return nullptr;
}

bool isKnownSection(std::string_view section) {
  for (const auto& spec : keySpecs()) {
    if (spec.section == section) return true;
  }
  return false;
}

}  // namespace upgrader
