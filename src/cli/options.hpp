// The command line: `upgrader [OPTIONS] COMMAND [NAME]`.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace upgrader {

enum class Command {
  kApply,
  kFetch,
  kCheck,
  kStatus,
  kRollback,
  kUnquarantine,
  kList,
  kGenerateUnits,
  kHelp,
  kVersion
};

struct Options {
  Command command = Command::kHelp;
  std::string instance;  ///< not yet validated
  std::string argument;  ///< unquarantine: the version ("" = all)
  /// generate-units: the generator's output directories (normal, early,
  /// late); only the first is written.
  std::vector<std::string> generatorDirs;
  std::string configFile;
  std::string configDir = "/etc/upgrader";
  std::string stateDir = "/var/lib/upgrader";
  std::string runDir = "/run/upgrader";
  /// node_exporter's textfile directory ("" = no metrics): --metrics-dir,
  /// else $UPGRADER_METRICS_DIR, else Debian's default.
  std::string metricsDir;
  bool dryRun = false;
  bool allowDowngrade = false;
  bool json = false;
  bool verbose = false;
};

/// Parses argv. Errors are usage errors, worded for the operator.
Result<Options> parseOptions(int argc, char** argv);

/// The --help text.
const char* usageText();

}  // namespace upgrader
