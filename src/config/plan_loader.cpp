#include "config/plan_loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "common/file_util.hpp"
#include "common/image_reference.hpp"
#include "common/url.hpp"
#include "config/ini_file.hpp"
#include "config/modes.hpp"
#include "config/names.hpp"
#include "config/values.hpp"

namespace upgrader {

namespace {

constexpr std::size_t kMaxConfigBytes = 1024 * 1024;
constexpr auto npos = std::string_view::npos;

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != npos;
}

bool isControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool isAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

std::string_view trim(std::string_view s) {
  auto begin = s.find_first_not_of(" \t");
  if (begin == npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

// --- Parsers of the value types that only configuration files have. Each
// error is the text after "[Section] Key=: ". They never see an empty value:
// an empty assignment resets the key instead (see scalar() and list()).

Result<std::string> parseUrl(std::string_view text, bool allowFile) {
  std::string schemes = allowFile ? "http, https or file" : "http or https";
  auto invalid = [&](const std::string& why) {
    return Error("invalid URL " + quoteValue(text) + ": " + why);
  };
  if (text.find_first_of(" \t") != npos) return invalid("contains whitespace");
  auto separator = text.find("://");
  if (separator == npos) {
    return invalid("expected SCHEME://... with scheme " + schemes);
  }
  std::string scheme = asciiLowercase(text.substr(0, separator));
  std::string_view rest = text.substr(separator + 3);
  if (allowFile && scheme == "file") {
    if (rest.empty() || rest.front() != '/') {
      return invalid("a file URL names an absolute path: file:///path");
    }
  } else if (scheme == "http" || scheme == "https") {
    if (rest.substr(0, rest.find_first_of("/?#")).empty()) {
      return invalid("has no host");
    }
  } else {
    return invalid("scheme must be " + schemes);
  }
  return std::string(text);
}

Result<std::string> parseAnyUrl(std::string_view text) {
  return parseUrl(text, true);
}

Result<std::string> parseHttpUrl(std::string_view text) {
  return parseUrl(text, false);
}

// The release is looked up in SHA256SUMS by its file name, so it needs one.
Result<std::string> parseReleaseUrl(std::string_view text) {
  auto url = parseUrl(text, true);
  if (url && fileNameOfUrl(*url).empty()) {
    return Error("invalid URL " + quoteValue(text) + ": has no file name");
  }
  return url;
}

Result<std::string> parseAbsolutePath(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Error("invalid path " + quoteValue(text) + ": " + why);
  };
  if (text.front() != '/') return invalid("must be absolute");
  // A path with ".." may point somewhere other than it reads; upgrader
  // replaces what is there as root.
  for (std::string_view rest = text; !rest.empty();) {
    auto slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return invalid("must not contain '..'");
    rest.remove_prefix(slash == npos ? rest.size() : slash + 1);
  }
  return std::string(text);
}

// Path= is replaced as a whole, so it must name a file or link, not a
// directory spelled with a trailing "/" or ".".
Result<std::string> parseFilePath(std::string_view text) {
  auto path = parseAbsolutePath(text);
  if (path && (text.back() == '/' || text.ends_with("/."))) {
    return Error("invalid path " + quoteValue(text) +
                 ": must name a file, not end in '/' or '/.'");
  }
  return path;
}

// Commands are kept as written: /bin/sh -c interprets them when they run.
Result<std::string> parseCommand(std::string_view text) {
  return std::string(text);
}

// What docker-compose 1.29 keeps of a project name (it drops everything
// else, so "My App" and "myapp" would be one project): the name must
// already be in that form, as it names containers and volumes.
Result<std::string> parseProjectName(std::string_view text) {
  bool valid = text.size() <= 63;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_';
    valid = valid && ok;
  }
  if (!valid || text.front() == '-' || text.front() == '_') {
    return Error("invalid project name " + quoteValue(text) +
                 ": lower-case letters, digits, '-' and '_', starting with a "
                 "letter or digit, at most 63");
  }
  return std::string(text);
}

// An absolute path, or one inside a release directory: no "..", no "."
// components, no trailing "/".
Result<std::string> parseComposeFile(std::string_view text) {
  if (text.front() == '/') return parseFilePath(text);
  for (std::string_view rest = text; !rest.empty();) {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") {
      return Error("invalid compose file " + quoteValue(text) +
                   ": a relative path must stay inside the release directory "
                   "(no '.', '..' or empty components)");
    }
    rest.remove_prefix(slash == npos ? rest.size() : slash + 1);
  }
  return std::string(text);
}

// A shell-style variable name, as compose interpolates it.
Result<std::string> parseVariableName(std::string_view text) {
  bool valid = !(text.front() >= '0' && text.front() <= '9');
  for (char c : text) {
    valid = valid && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '_');
  }
  if (!valid) {
    return Error("invalid variable name " + quoteValue(text) +
                 ": letters, digits and '_', not starting with a digit");
  }
  return std::string(text);
}

// The rule of isValidVersion() in fetch/version.hpp: a version goes into
// URLs, paths and command lines.
Result<Version> parseVersion(std::string_view text) {
  auto isAlnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
  };
  bool valid = isAlnum(text.front());
  for (char c : text) {
    valid = valid && (isAlnum(c) || contains("._~+-", std::string_view(&c, 1)));
  }
  if (!valid) {
    return Error("invalid version " + quoteValue(text) +
                 ": expected letters, digits and . _ ~ + -, starting with a "
                 "letter or digit");
  }
  return Version(std::string(text));
}

Result<Sha256Digest> parseChecksum(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (text.substr(0, kPrefix.size()) != kPrefix) {
    return Error("invalid checksum " + quoteValue(text) +
                 ": expected 'sha256:' and 64 hex digits");
  }
  auto digest = Sha256Digest::fromHex(text.substr(kPrefix.size()));
  if (!digest) {
    return Error("invalid checksum " + quoteValue(text) + ": " +
                 digest.error().message());
  }
  return digest;
}

Result<std::string> parsePattern(std::string_view text) {
  auto first = text.find("@v");
  if (first == npos || text.find("@v", first + 2) != npos) {
    return Error("invalid pattern " + quoteValue(text) +
                 ": must contain '@v' exactly once");
  }
  return std::string(text);
}

Result<std::string> parseMember(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Error("invalid member " + quoteValue(text) + ": " + why);
  };
  if (text.front() == '/') return invalid("must be relative to the archive");
  for (std::string_view rest = text; !rest.empty();) {
    auto slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return invalid("must not contain '..'");
    rest.remove_prefix(slash == npos ? rest.size() : slash + 1);
  }
  return std::string(text);
}

template <typename E>
struct Choice {
  std::string_view name;
  E value;
};

template <typename E, std::size_t N>
Result<E> parseChoice(std::string_view text, const Choice<E> (&choices)[N]) {
  std::string names;
  for (const auto& choice : choices) {
    if (choice.name == text) return choice.value;
    names += names.empty() ? "" : ", ";
    names += choice.name;
  }
  return Error("invalid value " + quoteValue(text) + ": expected one of " +
               names);
}

Result<SourceConfig::Archive> parseArchive(std::string_view text) {
  using A = SourceConfig::Archive;
  static constexpr Choice<A> kChoices[] = {{"auto", A::kAuto},
                                           {"none", A::kNone},
                                           {"tar", A::kTar},
                                           {"zip", A::kZip}};
  return parseChoice(text, kChoices);
}

Result<InstallConfig::Mode> parseMode(std::string_view text) {
  std::string names;
  for (const auto& row : allModes()) {
    if (row.name == text) return row.mode;
    names += names.empty() ? "" : ", ";
    names += row.name;
  }
  return Error("invalid value " + quoteValue(text) + ": expected one of " +
               names);
}

Result<ContainerConfig::Engine> parseEngine(std::string_view text) {
  using E = ContainerConfig::Engine;
  static constexpr Choice<E> kChoices[] = {{"podman", E::kPodman},
                                           {"docker", E::kDocker}};
  return parseChoice(text, kChoices);
}

Result<std::string> parseImage(std::string_view text) {
  auto image = parseImageName(text);
  if (!image) return image.error();
  return std::string(text);
}

Result<std::string> parseImageDigest(std::string_view text) {
  if (!isValidImageDigest(text)) {
    return Error("invalid digest " + quoteValue(text) +
                 ": expected 'sha256:' and 64 lowercase hex digits");
  }
  return std::string(text);
}

// TrustedKey=: an absolute path, a file name under /etc/upgrader/keys/, or
// the key's base64 line itself (what `minisign -P` takes).
Status addTrustedKey(TrustConfig& trust, std::string_view text) {
  if (text.front() == '/') {
    auto path = parseAbsolutePath(text);
    if (!path) return path.error();
    trust.keyFiles.push_back(*path);
    return okStatus();
  }
  if (auto key = parseMinisignKey(text)) {
    trust.keys.push_back(*key);
    return okStatus();
  }
  bool fileName = text.front() != '.' &&
                  std::all_of(text.begin(), text.end(), [](char c) {
                    return isAsciiAlnum(c) || c == '.' || c == '_' || c == '-';
                  });
  if (fileName) {
    trust.keyFiles.push_back(std::string(kKeysDirectory) + "/" +
                             std::string(text));
    return okStatus();
  }
  // What was meant to be a key most likely: say why it is not one.
  auto key = parseMinisignKey(text);
  return Error("neither a key file (an absolute path, or a file name in " +
               std::string(kKeysDirectory) +
               "/) nor a minisign public key: " + key.error().message());
}

// "https http file", in any order and case.
Result<UrlSchemes> parseSchemes(std::string_view text) {
  UrlSchemes schemes = UrlSchemes::none();
  bool any = false;
  for (std::size_t at = 0; at < text.size();) {
    auto begin = text.find_first_not_of(" \t", at);
    if (begin == npos) break;
    auto end = std::min(text.find_first_of(" \t", begin), text.size());
    std::string_view word = text.substr(begin, end - begin);
    auto scheme = urlSchemeOf(std::string(word) + "://");
    if (!scheme) {
      return Error("unknown scheme " + quoteValue(word) +
                   ": the schemes are https, http and file");
    }
    schemes = schemes.with(*scheme);
    any = true;
    at = end;
  }
  if (!any) return Error("names no scheme");
  return schemes;
}

// Timeouts and intervals of zero would mean "no time at all" (or, for
// systemd's own timeouts, "no limit"), never what was meant.
Result<Duration> parsePositiveTimeSpan(std::string_view text) {
  auto span = parseTimeSpan(text);
  if (span && span->count() == 0) {
    return Error("invalid time span " + quoteValue(text) +
                 ": must be greater than 0");
  }
  return span;
}

Result<std::uint64_t> parseMaxSize(std::string_view text) {
  auto size = parseSize(text);
  if (size && *size == 0) {
    return Error("invalid size " + quoteValue(text) +
                 ": must be at least 1 byte");
  }
  return size;
}

// "host:port", with an IPv6 host in brackets: "[::1]:8080".
Result<TcpEndpoint> parseTcpEndpoint(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Error("invalid TCP endpoint " + quoteValue(text) + ": " + why);
  };
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == npos) return invalid("missing ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    if (text.substr(close + 1, 1) != ":") {
      return invalid("expected ':PORT' after ']'");
    }
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == npos) return invalid("expected HOST:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (contains(host, ":")) {
      return invalid("an IPv6 address goes in brackets, as in [::1]:8080");
    }
  }
  if (host.empty()) return invalid("empty host");
  if (host.find_first_of(" \t") != npos) return invalid("host has whitespace");
  auto number = parseUnsigned(port, 1, 65535);
  if (!number) {
    return invalid("port " + quoteValue(port) + " is not a number in 1..65535");
  }
  return TcpEndpoint{std::string(host), static_cast<std::uint16_t>(*number)};
}

// "key.path=value": the value may be empty, the key path and its dotted
// components may not.
Result<HealthConfig::JsonExpectation> parseJsonExpectation(
    std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Error("invalid JSON expectation " + quoteValue(text) + ": " + why);
  };
  auto eq = text.find('=');
  if (eq == npos) return invalid("expected KEY.PATH=VALUE");
  std::string_view keyPath = trim(text.substr(0, eq));
  if (keyPath.empty()) return invalid("empty key path");
  if (keyPath.front() == '.' || keyPath.back() == '.' ||
      contains(keyPath, "..")) {
    return invalid("key path " + quoteValue(keyPath) +
                   " has an empty component");
  }
  return HealthConfig::JsonExpectation{std::string(keyPath),
                                       std::string(trim(text.substr(eq + 1)))};
}

// --- The key table: which (section, key) sets which Plan field, how.

using Setter = std::function<Status(Plan&, std::string_view)>;

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

struct KeySpec {
  std::string_view section;
  std::string_view key;
  Setter set;
  Modes modes = kAllModes;
};

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

// The line of the last non-empty assignment of each key: what a key that is
// set looks like to the cross-key checks, and where their messages point.
using KeyLines =
    std::map<std::pair<std::string_view, std::string_view>, unsigned>;

// The rules that span several keys, checked once every key is read.
class CrossKeyCheck {
 public:
  CrossKeyCheck(const std::string& fileName, const KeyLines& lines)
      : fileName_(fileName), lines_(lines) {}

  // The mode decides which keys mean something, so it comes first.
  Status run(const Plan& plan) const {
    if (!isSet("Install", "Mode")) {
      return required("Install", "Mode=",
                      "binary, symlink, container or compose");
    }
    if (auto st = checkKeysFitTheMode(plan.install.mode); !st) return st;
    if (auto st = checkPlaceholders(plan.install); !st) return st;
    if (plan.install.mode == InstallConfig::Mode::kContainer) {
      if (auto st = checkContainer(plan.container); !st) return st;
    } else if (plan.install.mode == InstallConfig::Mode::kCompose) {
      if (auto st = checkCompose(plan); !st) return st;
    } else {
      if (auto st = checkSource(plan.source); !st) return st;
      if (auto st = checkInstall(plan); !st) return st;
    }
    if (auto st = checkTrust(plan); !st) return st;
    if (plan.target.units.empty()) return required("Target", "Unit=");
    return checkHealth(plan.health);
  }

 private:
  bool isSet(std::string_view section, std::string_view key) const {
    return lines_.count({section, key}) > 0;
  }

  // "FILE:LINE: [Section] Key=: why", without ":LINE" if the key is unset.
  Error atKey(std::string_view section, std::string_view key,
              const std::string& why) const {
    auto it = lines_.find({section, key});
    std::string where = it == lines_.end()
                            ? fileName_
                            : fileName_ + ":" + std::to_string(it->second);
    return Error(where + ": [" + std::string(section) + "] " +
                 std::string(key) + "=: " + why);
  }

  Error required(std::string_view section, std::string_view keys,
                 const std::string& why = "") const {
    return Error(fileName_ + ": [" + std::string(section) + "] " +
                 std::string(keys) + " is required" +
                 (why.empty() ? "" : ": " + why));
  }

  Status checkSource(const SourceConfig& source) const {
    if (source.url.empty()) return required("Source", "URL=");
    for (std::string_view key : {"URL", "ChecksumsURL", "SignatureURL"}) {
      const std::string& url = key == "URL"            ? source.url
                               : key == "ChecksumsURL" ? source.checksumsUrl
                                                       : source.signatureUrl;
      if (auto st = checkScheme("Source", key, url, source.allowedSchemes);
          !st) {
        return st;
      }
    }
    if (!source.version && source.checksumsUrl.empty()) {
      return required("Source", "Version= or ChecksumsURL=",
                      "without a pinned version, versions are discovered "
                      "from the ChecksumsURL= listing");
    }
    if (!source.checksum && source.checksumsUrl.empty()) {
      return required("Source", "Checksum= or ChecksumsURL=",
                      "a release is verified before it is installed");
    }
    if (source.checksum && !source.version) {
      return atKey("Source", "Checksum",
                   "requires Version=: a pinned checksum fits only a pinned "
                   "version");
    }
    if (!source.version && contains(source.checksumsUrl, "@v")) {
      return atKey("Source", "ChecksumsURL",
                   "contains '@v' but Version= is not set: the listing "
                   "versions are discovered from cannot depend on the version");
    }
    // An explicit Pattern= always has "@v", so only the default can lack it.
    if (!source.version && !contains(source.pattern, "@v")) {
      return atKey("Source", "URL",
                   "file name " + quoteValue(source.pattern) +
                       " has no '@v' and Version= is not set; set Pattern= "
                       "to the release file names in ChecksumsURL=");
    }
    return okStatus();
  }

  // A key set in a file of a mode it means nothing in, named at its line.
  Status checkKeysFitTheMode(InstallConfig::Mode mode) const {
    for (const auto& [sectionKey, line] : lines_) {
      const KeySpec* spec = findKey(sectionKey.first, sectionKey.second);
      if (spec == nullptr || (spec->modes & modeBit(mode)) != 0) continue;
      return atKey(spec->section, spec->key,
                   "only valid with " + modesText(spec->modes) +
                       ", not with Mode=" + std::string(modeInfo(mode).name));
    }
    return okStatus();
  }

  // A placeholder of another mode would reach the shell as it is.
  Status checkPlaceholders(const InstallConfig& install) const {
    bool container = install.mode == InstallConfig::Mode::kContainer;
    if (container && contains(install.preflight, "@path")) {
      return atKey("Install", "Preflight",
                   "'@path' means nothing with Mode=container; the pulled "
                   "image is '@image'");
    }
    if (!container && contains(install.preflight, "@image")) {
      return atKey("Install", "Preflight",
                   "'@image' means something with Mode=container only; the "
                   "staged release is '@path'");
    }
    return okStatus();
  }

  // Plain http can be read and rewritten on the way, and a file URL reads
  // a local path as root: each is the administrator's explicit choice, per
  // section.
  Status checkScheme(std::string_view section, std::string_view key,
                     const std::string& url, const UrlSchemes& allowed) const {
    auto scheme = urlSchemeOf(url);
    if (url.empty() || !scheme || allowed.allows(*scheme)) return okStatus();
    return atKey(section, key,
                 std::string("uses ") + urlSchemeName(*scheme) +
                     ", which this source does not allow (AllowedSchemes=" +
                     allowed.names() + "); prefer https, or add " +
                     urlSchemeName(*scheme) + " to AllowedSchemes= in [" +
                     std::string(section) + "]");
  }

  // A release is verified by its vendor's signature, or the file says in
  // so many words that it is not.
  Status checkTrust(const Plan& plan) const {
    const TrustConfig& trust = plan.trust;
    bool container = plan.install.mode == InstallConfig::Mode::kContainer;
    if (!trust.hasKeys()) {
      if (!trust.allowUnsigned) {
        return required(
            "Trust", "TrustedKey= (or AllowUnsigned=yes)",
            "releases are verified by their vendor's minisign signature; "
            "name the public key, or opt out to rely on checksums from the "
            "same server alone (logged on every run)");
      }
      if (trust.maxAge) {
        return atKey("Trust", "MaxAge",
                     "needs TrustedKey=: only a signed timestamp can be "
                     "trusted");
      }
      for (auto [section, key] :
           {std::pair<std::string_view, std::string_view>{"Source",
                                                          "SignatureURL"},
            {"Container", "DigestsURL"},
            {"Container", "SignatureURL"}}) {
        if (isSet(section, key)) {
          return atKey(section, key,
                       "is only read to verify a signature: set [Trust] "
                       "TrustedKey=");
        }
      }
      return okStatus();
    }
    if (trust.allowUnsigned) {
      return atKey("Trust", "AllowUnsigned",
                   "contradicts TrustedKey=: with a key, every release is "
                   "verified by signature");
    }
    bool namedImage = container ||
                      (plan.install.mode == InstallConfig::Mode::kCompose &&
                       !plan.compose.perDirectory());
    if (namedImage && plan.container.digestsUrl.empty()) {
      return required("Container", "DigestsURL=",
                      "with [Trust] TrustedKey=, an image is verified "
                      "against a signed listing of its tag's digest");
    }
    return okStatus();
  }

  Status checkContainer(const ContainerConfig& container) const {
    if (!isSet("Container", "Engine")) {
      return required("Container", "Engine=",
                      "podman or docker, the engine the service's unit runs");
    }
    if (container.image.empty()) return required("Container", "Image=");
    auto image = parseImageName(container.image);
    if (!image) return atKey("Container", "Image", image.error().message());
    if (container.version && !image->followsVersions()) {
      return atKey("Container", "Version",
                   "requires '@v' in the tag of Image= (" + container.image +
                       "): the version names a tag");
    }
    if (container.version &&
        !isValidTag(image->tagFor(container.version->str()))) {
      return atKey("Container", "Version",
                   "'" + image->tagFor(container.version->str()) +
                       "' is not a valid tag");
    }
    if (!container.digest.empty() && image->followsVersions() &&
        !container.version) {
      return atKey("Container", "Digest",
                   "requires Version=: a pinned digest fits only a pinned "
                   "version or a fixed tag");
    }
    for (std::string_view key : {"DigestsURL", "SignatureURL"}) {
      const std::string& url = key == "DigestsURL" ? container.digestsUrl
                                                   : container.signatureUrl;
      if (auto st = checkScheme("Container", key, url,
                                container.allowedSchemes);
          !st) {
        return st;
      }
    }
    return okStatus();
  }

  // Two kinds of compose release, never both: a version variable in the
  // env file (the versions are the tags of one named image), or a project
  // directory per release (downloaded like Mode=symlink).
  Status checkCompose(const Plan& plan) const {
    const ComposeConfig& compose = plan.compose;
    if (compose.project.empty()) {
      return required("Compose", "Project=",
                      "the project name the unit passes to docker-compose -p");
    }
    if (!isSet("Container", "Engine")) {
      return required("Container", "Engine=",
                      "docker or podman, the engine docker-compose talks to");
    }
    if (plan.install.path.empty()) {
      return required("Install", "Path=",
                      compose.perDirectory()
                          ? "the `current` link to the release in service"
                          : "the env file that holds the version variable");
    }
    bool variable = isSet("Compose", "Variable");
    bool directory = isSet("Install", "ReleasesDirectory");
    if (variable == directory) {
      return Error(fileName_ +
                   ": Mode=compose needs exactly one of [Compose] Variable= "
                   "(a version variable in the env file at Path=) and "
                   "[Install] ReleasesDirectory= (a project directory per "
                   "release)");
    }
    if (variable) {
      if (compose.file.front() != '/') {
        return isSet("Compose", "File")
                   ? atKey("Compose", "File",
                           "must be absolute with Variable= (there is no "
                           "release directory)")
                   : required("Compose", "File=",
                              "the project's compose file, absolute");
      }
      for (const auto& [sectionKey, line] : lines_) {
        if (sectionKey.first == "Source") {
          return atKey("Source", sectionKey.second,
                       "means nothing with [Compose] Variable=: the versions "
                       "are the tags of [Container] Image=");
        }
      }
      if (auto st = checkContainer(plan.container); !st) return st;
      if (!parseImageName(plan.container.image)->followsVersions()) {
        return atKey("Container", "Image",
                     "needs '@v' in its tag with [Compose] Variable=: the "
                     "variable holds the version the tag is made of");
      }
      return okStatus();
    }
    if (compose.file.front() == '/') {
      return atKey("Compose", "File",
                   "must be a path inside the release directory with "
                   "ReleasesDirectory=");
    }
    for (std::string_view key : {"Image", "Version", "Digest", "DigestsURL",
                                 "SignatureURL", "AllowedSchemes"}) {
      if (isSet("Container", key)) {
        return atKey("Container", key,
                     "means nothing with a project directory per release: "
                     "its images are the ones its compose file names");
      }
    }
    if (auto st = checkSource(plan.source); !st) return st;
    if (!isArchiveRelease(plan.source)) {
      return atKey("Source", "URL",
                   "a compose project release is an archive of its "
                   "directory (by the URL's suffix, or Archive=tar/zip)");
    }
    return okStatus();
  }

  Status checkInstall(const Plan& plan) const {
    const auto& install = plan.install;
    if (install.path.empty()) return required("Install", "Path=");
    bool symlink = install.mode == InstallConfig::Mode::kSymlink;
    if (symlink && install.releasesDirectory.empty()) {
      return required("Install", "ReleasesDirectory=",
                      "Mode=symlink keeps each release in a directory there");
    }

    const auto& source = plan.source;
    bool archive = isArchiveRelease(source);
    bool autoArchive =
        archive && source.archive == SourceConfig::Archive::kAuto;
    if (!symlink && archive && source.member.empty()) {
      return required(
          "Source", "Member=",
          std::string("Mode=binary installs one file and the "
                      "release is an archive (") +
              (autoArchive ? "by the suffix of URL=)" : "Archive=)"));
    }
    if (!archive && !source.member.empty()) {
      return atKey("Source", "Member",
                   "the release is not an archive (URL= has no archive "
                   "suffix or Archive=none); set Archive=tar or Archive=zip");
    }
    return okStatus();
  }

  Status checkHealth(const HealthConfig& health) const {
    if (!health.httpUrls.empty()) return okStatus();
    if (!health.expectJson.empty()) {
      return atKey("Health", "ExpectJSON", "requires HTTP=");
    }
    if (isSet("Health", "ExpectStatus")) {
      return atKey("Health", "ExpectStatus", "requires HTTP=");
    }
    return okStatus();
  }

  const std::string& fileName_;
  const KeyLines& lines_;
};

// Closes a file descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// "1 MiB", "4 KiB", "300 bytes".
std::string sizeInWords(std::size_t bytes) {
  if (bytes != 0 && bytes % (1024 * 1024) == 0) {
    return std::to_string(bytes / (1024 * 1024)) + " MiB";
  }
  if (bytes != 0 && bytes % 1024 == 0) {
    return std::to_string(bytes / 1024) + " KiB";
  }
  return std::to_string(bytes) + " bytes";
}

// Reads a file whose writer decides what root does (a configuration that
// names commands, a key that decides which releases are trusted): a regular
// file that only root can change, at most `maxBytes`.
Result<std::string> readTrustedFile(const std::string& path,
                                    std::size_t maxBytes,
                                    const std::string& consequence) {
  auto refuse = [&](const std::string& why) {
    return Error("refusing to use '" + path + "': " + why);
  };
  // O_NONBLOCK: a FIFO in place of the file must not hang the service's
  // upgrade in open(); it is refused just below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return Error("cannot read '" + path + "': " + std::strerror(errno));
  }
  FdCloser closer(fd);
  // fstat() of the open file, not stat() of the path: the checks must be
  // about the very file that is read.
  struct stat st {};
  if (::fstat(fd, &st) < 0) {
    return Error("cannot read '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return refuse("not a regular file");
  // Whoever can change the file, or a directory above it, decides what
  // root does.
  if (Status trusted = checkOnlyTrustedCanWrite(path); !trusted) {
    return refuse(trusted.error().message() + ", so others could " +
                  consequence);
  }
  std::string text;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error("cannot read '" + path + "': " + std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > maxBytes) {
      return refuse("larger than " + sizeInWords(maxBytes));
    }
  }
  return text;
}

}  // namespace

std::vector<ConfigKey> configurationKeys() {
  std::vector<ConfigKey> keys;
  for (const auto& spec : keySpecs()) {
    keys.push_back({std::string(spec.section), std::string(spec.key)});
  }
  return keys;
}

std::string defaultConfigPath(const InstanceName& instance) {
  return "/etc/upgrader/" + instance.str() + ".conf";
}

Result<Plan> parsePlan(std::string_view text, const std::string& fileName,
                       const InstanceName& instance) {
  auto ini = parseIniFile(text, fileName);
  if (!ini) return ini.error();

  Plan plan;
  plan.instance = instance;
  plan.configFile = fileName;
  KeyLines lines;
  for (const auto& section : ini->sections) {
    if (!isKnownSection(section.name)) {
      return Error(fileName + ":" + std::to_string(section.line) +
                   ": unknown section [" + section.name +
                   "] (expected [Source], [Install], [Container], [Target], "
                   "[Health], [Hooks] or [Trust])");
    }
    for (const auto& entry : section.entries) {
      std::string where = fileName + ":" + std::to_string(entry.line) + ": [" +
                          section.name + "] " + entry.key + "=: ";
      const KeySpec* spec = findKey(section.name, entry.key);
      if (spec == nullptr) {
        return Error(where + "unknown key " + quoteValue(entry.key) +
                     " in section [" + section.name + "]");
      }
      // No value has a use for control characters, and a NUL would cut a
      // path or a command short where it is finally used.
      for (char c : entry.value) {
        if (isControl(c) && c != '\t') {
          return Error(where + "value " + quoteValue(entry.value) +
                       " contains a control character");
        }
      }
      if (auto st = spec->set(plan, entry.value); !st) {
        return Error(where + st.error().message());
      }
      if (entry.value.empty()) {
        lines.erase({spec->section, spec->key});
      } else {
        lines[{spec->section, spec->key}] = entry.line;
      }
    }
  }
  if (plan.source.pattern.empty()) {
    plan.source.pattern = fileNameOfUrl(plan.source.url);
  }
  if (auto st = CrossKeyCheck(fileName, lines).run(plan); !st) {
    return st.error();
  }
  return plan;
}

Result<Plan> loadPlan(const std::string& path, const InstanceName& instance) {
  auto text = readTrustedFile(path, kMaxConfigBytes,
                              "make upgrader run commands as root");
  if (!text) return text.error();
  auto plan = parsePlan(*text, path, instance);
  if (!plan) return plan;
  for (const std::string& file : plan->trust.keyFiles) {
    auto where = [&] { return path + ": [Trust] TrustedKey=" + file + ": "; };
    auto keyText = readTrustedFile(file, kMinisignMaxKeyTextBytes,
                                   "make upgrader trust their releases");
    if (!keyText) return Error(where() + keyText.error().message());
    auto key = parseMinisignKey(*keyText);
    if (!key) return Error(where() + key.error().message());
    plan->trust.keys.push_back(*key);
  }
  return plan;
}

}  // namespace upgrader
