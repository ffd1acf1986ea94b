// The values of particular configuration keys: URLs, paths, commands,
// versions, checksums, image names, keys, schemes, sizes, endpoints and
// JSON expectations (config/values.hpp has the value types systemd's
// files share: booleans, time spans, sizes). Each error is the text after
// "[Section] Key=: ". They never see an empty value: an empty assignment
// resets the key instead (key_table.cpp). Internal to src/config/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "config/plan.hpp"
#include "fetch/sha256.hpp"
#include "fetch/version.hpp"

namespace upgrader {

/// An absolute URL of an allowed scheme (file:// only if `allowFile`).
Result<std::string> parseUrl(std::string_view text, bool allowFile);

Result<std::string> parseAnyUrl(std::string_view text);

Result<std::string> parseHttpUrl(std::string_view text);

/// The release is looked up in SHA256SUMS by its file name, so it needs one.
Result<std::string> parseReleaseUrl(std::string_view text);

Result<std::string> parseAbsolutePath(std::string_view text);

/// Path= is replaced as a whole, so it must name a file or link, not a
/// directory spelled with a trailing "/" or ".".
Result<std::string> parseFilePath(std::string_view text);

/// Commands are kept as written: /bin/sh -c interprets them when they run.
Result<std::string> parseCommand(std::string_view text);

/// What docker-compose 1.29 keeps of a project name (it drops everything
/// else, so "My App" and "myapp" would be one project): the name must
/// already be in that form, as it names containers and volumes.
Result<std::string> parseProjectName(std::string_view text);

/// An absolute path, or one inside a release directory: no "..", no "."
/// components, no trailing "/".
Result<std::string> parseComposeFile(std::string_view text);

/// A shell-style variable name, as compose interpolates it.
Result<std::string> parseVariableName(std::string_view text);

/// The rule of isValidVersion() in fetch/version.hpp: a version goes into
/// URLs, paths and command lines.
Result<Version> parseVersion(std::string_view text);

Result<Sha256Digest> parseChecksum(std::string_view text);

Result<std::string> parsePattern(std::string_view text);

Result<std::string> parseMember(std::string_view text);

Result<SourceConfig::Archive> parseArchive(std::string_view text);

Result<InstallConfig::Mode> parseMode(std::string_view text);

Result<ContainerConfig::Engine> parseEngine(std::string_view text);

Result<std::string> parseImage(std::string_view text);

Result<std::string> parseImageDigest(std::string_view text);

/// TrustedKey=: an absolute path, a file name under /etc/upgrader/keys/, or
/// the key's base64 line itself (what `minisign -P` takes).
Status addTrustedKey(TrustConfig& trust, std::string_view text);

/// "https http file", in any order and case.
Result<UrlSchemes> parseSchemes(std::string_view text);

/// Timeouts and intervals of zero would mean "no time at all" (or, for
/// systemd's own timeouts, "no limit"), never what was meant.
Result<Duration> parsePositiveTimeSpan(std::string_view text);

Result<std::uint64_t> parseMaxSize(std::string_view text);

/// "host:port", with an IPv6 host in brackets: "[::1]:8080".
Result<TcpEndpoint> parseTcpEndpoint(std::string_view text);

/// "key.path=value": the value may be empty, the key path and its dotted
/// components may not.
Result<HealthConfig::JsonExpectation> parseJsonExpectation(
    std::string_view text);

}  // namespace upgrader
