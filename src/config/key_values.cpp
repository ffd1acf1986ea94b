#include "config/key_values.hpp"

#include <algorithm>
#include <limits>

#include "common/file_util.hpp"
#include "common/image_reference.hpp"
#include "common/url.hpp"
#include "config/modes.hpp"
#include "config/values.hpp"

namespace upgrader {

namespace {

constexpr auto npos = std::string_view::npos;

bool isAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

std::string_view trim(std::string_view s) {
  auto begin = s.find_first_not_of(" \t");
  if (begin == npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
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

}  // namespace

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

}  // namespace upgrader
