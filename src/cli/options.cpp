#include "cli/options.hpp"

#include <getopt.h>

#include <cstdlib>
#include <map>

#include "metrics/textfile.hpp"

namespace upgrader {

namespace {

enum LongOnly {
  kOptConfig = 1000,
  kOptConfigDir,
  kOptStateDir,
  kOptRunDir,
  kOptMetricsDir,
  kOptDryRun,
  kOptAllowDowngrade,
  kOptJson,
  kOptVersion,
};

const std::map<std::string, Command> kCommands = {
    {"apply", Command::kApply},
    {"fetch", Command::kFetch},
    {"check", Command::kCheck},
    {"status", Command::kStatus},
    {"rollback", Command::kRollback},
    {"unquarantine", Command::kUnquarantine},
    {"list", Command::kList},
    {"help", Command::kHelp},
    {"generate-units", Command::kGenerateUnits},
};

}  // namespace

const char* usageText() {
  return R"(Usage: upgrader [OPTIONS] COMMAND [NAME]

Upgrades a systemd service safely: download and verify, stage, stop, swap,
start, health-check, and roll back on any failure.

Commands:
  apply NAME                  upgrade NAME to the release its config names
  fetch NAME                  download (or pull) and verify that release and
                              keep it staged, the service untouched; the
                              next apply installs it without fetching again
  check NAME                  exit 0 if a newer release is available, 5 if not
  status NAME                 installed and previous version, last result,
                              quarantined versions
  rollback NAME               go back to the previous release, with the same
                              safety as apply
  unquarantine NAME [VERSION] allow a quarantined version again (all if none)
  list                        the configured instances
  help                        print this help
  generate-units DIR [DIR DIR]
                              as a systemd generator: a drop-in per instance
                              in DIR granting upgrade@NAME.service the paths
                              it writes (run by systemctl daemon-reload)

Options:
      --config FILE           configuration file (default CONFIG_DIR/NAME.conf)
      --config-dir DIR        default /etc/upgrader
      --state-dir DIR         default /var/lib/upgrader
      --run-dir DIR           default /run/upgrader (locks)
      --metrics-dir DIR       node_exporter's textfile directory, where
                              apply, fetch and rollback write
                              upgrader-NAME.prom (default
                              $UPGRADER_METRICS_DIR, else
                              /var/lib/prometheus/node-exporter; none if
                              it does not exist or is "")
      --dry-run               apply: download, verify and stage; change nothing
      --allow-downgrade       apply, fetch: allow an older version than
                              installed
      --json                  machine-readable output on stdout
  -v, --verbose               more detail
      --version               print the version
  -h, --help                  print this help

Exit codes: 0 done, 1 failed before any change, 2 usage or configuration
error, 3 failed and rolled back (old version healthy), 4 rollback failed
(operator needed), 5 nothing to do.
)";
}

Result<Options> parseOptions(int argc, char** argv) {
  static const option kLong[] = {
      {"config", required_argument, nullptr, kOptConfig},
      {"config-dir", required_argument, nullptr, kOptConfigDir},
      {"state-dir", required_argument, nullptr, kOptStateDir},
      {"run-dir", required_argument, nullptr, kOptRunDir},
      {"metrics-dir", required_argument, nullptr, kOptMetricsDir},
      {"dry-run", no_argument, nullptr, kOptDryRun},
      {"allow-downgrade", no_argument, nullptr, kOptAllowDowngrade},
      {"json", no_argument, nullptr, kOptJson},
      {"verbose", no_argument, nullptr, 'v'},
      {"version", no_argument, nullptr, kOptVersion},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  Options o;
  bool helpOrVersion = false;
  bool metricsGiven = false;
  optind = 0;  // reset: tests call this more than once
  opterr = 0;
  for (;;) {
    int c = ::getopt_long(argc, argv, "vh", kLong, nullptr);
    if (c == -1) break;
    switch (c) {
      case kOptConfig: o.configFile = optarg; break;
      case kOptConfigDir: o.configDir = optarg; break;
      case kOptStateDir: o.stateDir = optarg; break;
      case kOptRunDir: o.runDir = optarg; break;
      case kOptMetricsDir:
        o.metricsDir = optarg;
        metricsGiven = true;
        break;
      case kOptDryRun: o.dryRun = true; break;
      case kOptAllowDowngrade: o.allowDowngrade = true; break;
      case kOptJson: o.json = true; break;
      case 'v': o.verbose = true; break;
      case kOptVersion: o.command = Command::kVersion; helpOrVersion = true; break;
      case 'h': o.command = Command::kHelp; helpOrVersion = true; break;
      default: {
        std::string bad = argv[optind - 1] ? argv[optind - 1] : "?";
        if (optopt != 0 && c == '?' && bad.rfind("--", 0) != 0) {
          bad = std::string("-") + static_cast<char>(optopt);
        }
        return Error("unknown option or missing argument: '" + bad +
                     "' (see 'upgrader --help')");
      }
    }
  }
  if (helpOrVersion) return o;
  if (!metricsGiven) {
    const char* env = std::getenv("UPGRADER_METRICS_DIR");
    o.metricsDir = env != nullptr ? env : kDefaultTextfileDirectory;
  }

  std::vector<std::string> rest(argv + optind, argv + argc);
  if (rest.empty()) return Error("no command given (see 'upgrader --help')");
  auto it = kCommands.find(rest[0]);
  if (it == kCommands.end()) {
    return Error("unknown command '" + rest[0] + "' (see 'upgrader --help')");
  }
  o.command = it->second;
  std::size_t maxArgs = 1;
  if (o.command == Command::kGenerateUnits) {
    // systemd passes three directories (normal, early, late); by hand one
    // is enough.
    if (rest.size() < 2) return Error("'generate-units' needs a directory");
    maxArgs = 3;
    o.generatorDirs.assign(rest.begin() + 1, rest.end());
  } else if (o.command == Command::kList || o.command == Command::kHelp) {
    maxArgs = 0;
  } else {
    if (rest.size() < 2) {
      return Error("'" + rest[0] + "' needs an instance NAME");
    }
    o.instance = rest[1];
    if (o.command == Command::kUnquarantine) maxArgs = 2;
    if (rest.size() > 2 && maxArgs == 2) o.argument = rest[2];
  }
  if (rest.size() > maxArgs + 1) {
    return Error("unexpected argument '" + rest[maxArgs + 1] + "'");
  }
  if (o.dryRun && o.command != Command::kApply) {
    return Error("--dry-run goes with 'apply'");
  }
  return o;
}

}  // namespace upgrader
