// Validation of the names that end up inside paths and unit names: the
// instance name of upgrade@NAME.service and the units of [Target]. Only a
// validated name becomes an InstanceName or a UnitName.
#pragma once

#include <string_view>

#include "common/result.hpp"
#include "common/types.hpp"

namespace upgrader {

/// An instance name, e.g. "progressdb": 1 to 255 of systemd's unit-name
/// characters [A-Za-z0-9:_.\-] ('@' excluded), not starting with '.' or
/// '-', without '/' or "..", so it is safe in /etc/upgrader/NAME.conf and
/// /var/lib/upgrader/NAME. Errors say why: "instance name 'a/b' contains
/// '/'".
Result<InstanceName> parseInstanceName(std::string_view text);

/// A unit name as systemd accepts it, "prefix[@instance].type": at most 255
/// characters, a non-empty prefix of [A-Za-z0-9:_.\-], an optional non-empty
/// instance (which may also contain '@'), and one of the types .service
/// .socket .target .timer .mount .path .slice .scope. Templates
/// ("foo@.service") are refused: only an instance can be stopped.
Result<UnitName> parseUnitName(std::string_view text);

}  // namespace upgrader
