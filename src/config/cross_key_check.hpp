// The rules of a configuration that span several keys (the mode decides
// which keys mean something; placeholders, sources, installs, containers,
// compose projects, trust, targets and health checks that must agree),
// checked once every key is read. Internal to src/config/.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.hpp"
#include "config/plan.hpp"

namespace upgrader {

/// The line of the last non-empty assignment of each key: what a key that
/// is set looks like to the cross-key checks, and where their messages
/// point.
using KeyLines =
    std::map<std::pair<std::string_view, std::string_view>, unsigned>;

/// Ok, or the first rule `plan` (read from `fileName`) breaks, with the
/// file and line of a key at fault.
Status checkAcrossKeys(const Plan& plan, const std::string& fileName,
                       const KeyLines& lines);

}  // namespace upgrader
