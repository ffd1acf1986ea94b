// JSON as text for files and output: always valid UTF-8, whatever bytes
// the strings in it carry (hook output, a server's messages, a path): such
// bytes are replaced (U+FFFD) instead of making nlohmann::json throw, which
// in the middle of a rollback or of --json output would abort the process.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace upgrader {

/// `j` as JSON text; `indent` < 0 for one line.
inline std::string jsonText(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace upgrader
