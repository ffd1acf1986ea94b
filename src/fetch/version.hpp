// Version strings: their order, and how they appear in file names and URLs
// ("@v" stands for the version in URL=, ChecksumsURL= and Pattern=).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace upgrader {

/// Compares two versions the way systemd does (strverscmp_improved, as used
/// by systemd-sysupdate and `systemd-analyze compare-versions`): -1 if a is
/// older, 0 if equal, 1 if newer. The string is read as segments, each a run
/// of digits (compared as numbers, leading zeros ignored) or of letters
/// (compared as strings), optionally prefixed by a separator:
///   '~' pre-release, older than anything else, even the end of the string
///       (1.0~rc1 < 1.0);
///   '-' version/release separator, older than '^', '.' and plain segments;
///   '^' patch release, newer than '-'; '.' point release;
///   no separator: newest.
/// Otherwise a string with more segments is newer, numbers are newer than
/// letters, and any other character is dropped but still ends a segment
/// (2.0 < 2_0 < 20). So 1.9 < 1.10, 1.0~rc1 < 1.0 < 1.0.1 < 1.0a, and,
/// unlike semver, 1.0 < 1.0-rc1: a '-' suffix is a release, not a
/// pre-release (vendors must write pre-releases with '~').
int compareVersions(std::string_view a, std::string_view b);

/// Whether `version` may stand for "@v": one or more of [A-Za-z0-9._~+-],
/// starting with a letter or digit (so never ".", ".." or an option-like
/// "-x" once it reaches a path or a command line).
bool isValidVersion(std::string_view version);

/// If `fileName` matches `pattern` (literal text around exactly one "@v"),
/// the text standing for "@v" (a valid version, see isValidVersion).
/// nullopt if it does not match or the pattern does not have exactly one
/// "@v".
std::optional<std::string> matchVersionPattern(std::string_view pattern,
                                               std::string_view fileName);

/// `templ` with every "@v" replaced by `version`.
std::string expandVersion(std::string_view templ, std::string_view version);

}  // namespace upgrader
