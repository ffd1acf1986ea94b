// Reading /etc/upgrader/NAME.conf into a validated Plan. Everything that can
// be wrong with a file is found here, before anything acts on it: unknown
// sections and keys, bad values, and keys that contradict each other. Every
// message names the file, the line, the section and the key, e.g.
//   /etc/upgrader/x.conf:12: [Health] TimeoutSec=: invalid time span 'abc':
//   unknown unit 'abc'
// and a missing key the file and the key:
//   /etc/upgrader/x.conf: [Source] URL= is required
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/types.hpp"
#include "config/plan.hpp"

namespace upgrader {

/// A key the parser accepts: "[Container]" and "Image", say.
struct ConfigKey {
  std::string section;
  std::string key;
};

/// Every key the parser accepts, in the order of the manual; for tests
/// that keep the manual and the parser in step.
std::vector<ConfigKey> configurationKeys();

/// "/etc/upgrader/NAME.conf".
std::string defaultConfigPath(const InstanceName& instance);

/// Parses the text of a configuration file into the Plan of `instance`.
/// `fileName` names the file in messages and becomes Plan::configFile.
/// systemd semantics: a scalar key given twice takes the last value, an
/// empty value resets a scalar to its default and a list to empty. Fails
/// with the first error found; never throws, whatever the bytes.
Result<Plan> parsePlan(std::string_view text, const std::string& fileName,
                       const InstanceName& instance);

/// Reads `path` and parses it (parsePlan). Refuses, naming the file, a file
/// that is not a regular file, that someone other than root (or the user
/// running upgrader) could change through its owner or mode or those of a
/// directory above it (checkOnlyTrustedCanWrite(): they could make
/// upgrader run commands as root), or that is larger than 1 MiB; a file
/// that cannot be opened gives "cannot read 'PATH': strerror(errno)".
Result<Plan> loadPlan(const std::string& path, const InstanceName& instance);

}  // namespace upgrader
