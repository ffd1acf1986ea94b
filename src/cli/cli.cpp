// Wiring: the only place that chooses real implementations for the
// interfaces the transaction acts through (and for those the strategies
// and the health checks act through: the container engine's clients).
#include "cli/cli.hpp"

#include <unistd.h>

#include <boost/filesystem.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.hpp"
#include "cli/options.hpp"
#include "common/file_util.hpp"
#include "common/json_text.hpp"
#include "common/shown_text.hpp"
#include "compose/compose_tool.hpp"
#include "compose/project_probe.hpp"
#include "config/modes.hpp"
#include "config/names.hpp"
#include "config/plan_loader.hpp"
#include "container/engine_client.hpp"
#include "container/registry_client.hpp"
#include "exec/command_runner.hpp"
#include "fetch/fetcher.hpp"
#include "fetch/http_client.hpp"
#include "health/health_checker.hpp"
#include "metrics/textfile.hpp"
#include "strategy/strategy.hpp"
#include "systemd/event_log.hpp"
#include "systemd/journal_reader.hpp"
#include "systemd/service_manager.hpp"
#include "systemd/transient_hook_runner.hpp"
#include "systemd/unit_generator.hpp"
#include "upgrade/instance_lock.hpp"
#include "upgrade/state_store.hpp"
#include "upgrade/transaction.hpp"

namespace upgrader {

namespace {

using json = nlohmann::json;

int exitCodeOf(OutcomeCode code) {
  switch (code) {
    case OutcomeCode::kDone:
      return kExitOk;
    case OutcomeCode::kNothingToDo:
      return kExitNothingToDo;
    case OutcomeCode::kFailedUnchanged:
      return kExitFailedUnchanged;
    case OutcomeCode::kRolledBack:
      return kExitRolledBack;
    case OutcomeCode::kRollbackFailed:
      return kExitRollbackFailed;
  }
  return kExitFailedUnchanged;
}

const char* resultName(OutcomeCode code) {  // for --json
  switch (code) {
    case OutcomeCode::kDone:
      return "done";
    case OutcomeCode::kNothingToDo:
      return "nothing-to-do";
    case OutcomeCode::kFailedUnchanged:
      return "failed-unchanged";
    case OutcomeCode::kRolledBack:
      return "rolled-back";
    case OutcomeCode::kRollbackFailed:
      return "rollback-failed";
  }
  return "failed";
}

int usageError(const std::string& message) {
  std::fprintf(stderr, "upgrader: %s\n", shownText(message).c_str());
  return kExitUsage;
}

// Prints the outcome: JSON, or its message. `failureShown`: the event log
// has already put a failure's message on this terminal (every failure of
// a transaction is an event), so it is not said twice.
int report(const Options& o, const Outcome& out, bool failureShown = false) {
  int code = exitCodeOf(out.code);
  if (o.json) {
    json j = {{"result", resultName(out.code)},
              {"exit_code", code},
              {"message", redactCredentials(out.message)},
              {"from", out.fromVersion},
              {"to", out.toVersion}};
    std::cout << jsonText(j) << "\n";
  } else if (!out.message.empty()) {
    bool success = code == kExitOk || code == kExitNothingToDo;
    if (success || !failureShown) {
      std::fprintf(success ? stdout : stderr, "%s\n",
                   shownText(out.message).c_str());
    }
  }
  return code;
}

std::string stateDirOf(const Options& o, const InstanceName& name) {
  return o.stateDir + "/" + name.str();
}

// The Plan, or the exit code of a usage or configuration error.
struct Loaded {
  InstanceName name;
  Plan plan;
};
Result<Loaded> loadInstance(const Options& o) {
  auto name = parseInstanceName(o.instance);
  if (!name) return name.error();
  std::string path = o.configFile.empty()
                         ? o.configDir + "/" + name->str() + ".conf"
                         : o.configFile;
  auto plan = loadPlan(path, *name);
  if (!plan) return plan.error();
  return Loaded{*name, std::move(*plan)};
}

bool usesImages(const Plan& plan) {
  return modeInfo(plan.install.mode).imageReleases(plan);
}

// A container engine's real clients, for the modes that run one
// (container, compose): one HTTP client for the registry and the engine's
// API, the registry with this run's deadline (RegistryTimeoutSec= from
// now), the engine (its socket unit started through `engineUnits` when it
// is down), and the compose tool run by `runner`.
struct RealEngine {
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<ContainerEngine> engine;
  std::unique_ptr<ComposeTool> compose;
  std::optional<EngineClients> clients;  // the four above
};
std::unique_ptr<RealEngine> makeRealEngine(const Plan& plan,
                                           ServiceManager& engineUnits,
                                           CommandRunner& runner,
                                           Clock& clock) {
  if (!modeInfo(plan.install.mode).runsContainers) return nullptr;
  auto real = std::make_unique<RealEngine>();
  real->http = makeCurlHttpClient();
  auto image = parseImageName(plan.container.image);
  RegistryAccess access =
      registryAccessFor(plan.container, image ? image->registry : "", clock);
  real->registry = makeRegistryClient(*real->http, access);
  EngineEndpoint endpoint = engineEndpointFor(plan.container);
  real->engine = makeEngineClient(*real->http, engineUnits, endpoint);
  real->compose = makeComposeTool(runner, plan.compose.command,
                                  "unix://" + endpoint.socket);
  real->clients.emplace(EngineClients{*real->registry, *real->engine,
                                      *real->compose, access.authFiles});
  return real;
}

// The opt-out from signatures is a standing risk, so it is said on every
// run, where an operator reading the journal sees it.
void warnIfUnsigned(const Plan& plan, EventLog& log) {
  if (!plan.trust.allowUnsigned) return;
  log.log(Severity::kWarning,
          plan.configFile +
              ": releases are not verified by signature (AllowUnsigned=yes): " +
              (usesImages(plan)
                   ? "only the digests the registry names vouch for them"
                   : "only checksums from the release server vouch for them"));
}

// The outcome as the metrics name it.
std::string metricsOutcome(Command command, OutcomeCode code) {
  if (code == OutcomeCode::kDone) {
    return command == Command::kRollback ? "rolled-back-on-request"
           : command == Command::kFetch  ? "fetched"
                                         : "upgraded";
  }
  return resultName(code);
}

// After an apply, fetch or rollback: the run counted in the instance's
// metrics.json and its textfile for node_exporter rewritten. Only where
// that directory exists (an instance nobody scrapes gets no file, and a
// first run that was refused leaves nothing on disk); only informative, so
// a failure is a warning and changes no exit status.
void writeMetrics(const Options& o, const InstanceName& name,
                  const RunRecord& run, EventLog& log) {
  if (o.metricsDir.empty() || !pathExists(o.metricsDir)) return;
  const std::string stateDir = stateDirOf(o, name);
  auto history = recordRun(stateDir, run);
  if (!history) {
    log.log(Severity::kWarning, history.error().message());
    return;
  }
  auto state = makeFileStateStore(stateDir)->load();
  if (!state) {
    log.log(Severity::kWarning, state.error().message() + "; no metrics");
    return;
  }
  if (auto st = writeTextfile(o.metricsDir, name.str(),
                              renderMetrics(name.str(), *state, *history));
      !st) {
    log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
}

int runTransaction(const Options& o, EventLog& log) {
  auto loaded = loadInstance(o);
  if (!loaded) return usageError(loaded.error().message());
  const Plan& plan = loaded->plan;
  warnIfUnsigned(plan, log);

  // One run per instance; a second one says so at once instead of waiting.
  auto lock = InstanceLock::acquire(o.runDir, loaded->name.str());
  if (!lock) {
    log.log(Severity::kError, lock.error().message());
    return report(
        o, {OutcomeCode::kFailedUnchanged, lock.error().message(), {}, {}},
        true);
  }
  // The bus only when a unit is touched: the usual timer run finds nothing
  // to do. If systemd cannot be reached, the first stop fails, which
  // changes nothing. A dry run and a fetch touch no unit at all.
  std::unique_ptr<ServiceManager> units =
      o.dryRun || o.command == Command::kFetch ? makeRefusingServiceManager()
                                               : makeLazyServiceManager();
  // A container engine's socket may be started even in a dry run: that
  // touches no unit of the service, and a dry run pulls too.
  auto engineUnits = makeLazyServiceManager();
  auto fetcher = makeCurlFetcher();
  auto commands = makeProcessRunner();
  Clock& clock = systemClock();
  auto engine = makeRealEngine(plan, *engineUnits, *commands, clock);
  auto strategy =
      makeStrategy(plan, {*fetcher, stateDirOf(o, loaded->name),
                          engine ? &*engine->clients : nullptr});
  if (!strategy) {
    return report(
        o, {OutcomeCode::kFailedUnchanged, strategy.error().message(), {}, {}});
  }
  // Hooks run as transient services whether the upgrader runs from its unit
  // or by hand: outside any sandbox, with the same environment either way.
  auto journal = makeSystemJournalReader();
  auto hooks = makeTransientHookRunner(
      *units, *journal, loaded->name, static_cast<long>(::getpid()), ownUnit());
  auto http = makeCurlHttpClient();
  auto health = makeHealthChecker(
      *units, *commands, *http, log, clock,
      engine ? projectProbesFor(plan, *engine->compose, *engine->engine, clock)
             : std::vector<ExtraProbe>{});
  auto state = makeFileStateStore(stateDirOf(o, loaded->name));
  UpgradeTransaction transaction(
      plan, Effects{*units, **strategy, *health, *commands, *hooks, *state,
                    log, clock});
  const SteadyTime began = clock.now();
  Outcome out = o.command == Command::kRollback ? transaction.rollback()
                : o.command == Command::kFetch
                    ? transaction.fetch(o.allowDowngrade)
                    : transaction.apply({o.dryRun, o.allowDowngrade});
  if (!o.dryRun) {
    writeMetrics(o, loaded->name,
                 {metricsOutcome(o.command, out.code), clock.realtimeMicros(),
                  std::chrono::duration_cast<Duration>(clock.now() - began),
                  transaction.unavailable(),
                  // What the source offers; a rollback goes elsewhere.
                  o.command == Command::kRollback ? "" : out.toVersion},
                 log);
  }
  if (out.code == OutcomeCode::kNothingToDo)
    log.log(Severity::kInfo, out.message);
  // Under systemd the journal already has the message.
  if (!o.json && runningUnderSystemd()) return exitCodeOf(out.code);
  return report(o, out, true);
}

int runCheck(const Options& o) {
  auto loaded = loadInstance(o);
  if (!loaded) return usageError(loaded.error().message());
  auto log = makeEventLog(o.verbose);
  warnIfUnsigned(loaded->plan, *log);
  auto units = makeRefusingServiceManager();
  auto fetcher = makeCurlFetcher();
  auto commands = makeProcessRunner();
  // check starts nothing, an engine's socket unit included.
  Clock& clock = systemClock();
  auto engine = makeRealEngine(loaded->plan, *units, *commands, clock);
  auto strategy =
      makeStrategy(loaded->plan, {*fetcher, stateDirOf(o, loaded->name),
                                  engine ? &*engine->clients : nullptr});
  if (!strategy) {
    return report(
        o, {OutcomeCode::kFailedUnchanged, strategy.error().message(), {}, {}});
  }
  // check runs no hook; the refusing manager would say so if it did.
  auto journal = makeSystemJournalReader();
  auto hooks =
      makeTransientHookRunner(*units, *journal, loaded->name,
                              static_cast<long>(::getpid()), std::nullopt);
  auto http = makeCurlHttpClient();
  auto health = makeHealthChecker(*units, *commands, *http, *log, clock);
  auto state = makeFileStateStore(stateDirOf(o, loaded->name));
  UpgradeTransaction transaction(
      loaded->plan, Effects{*units, **strategy, *health, *commands, *hooks,
                            *state, *log, clock});
  return report(o, transaction.check(), true);
}

int runStatus(const Options& o) {
  auto name = parseInstanceName(o.instance);
  if (!name) return usageError(name.error().message());
  auto state = makeFileStateStore(stateDirOf(o, *name))->load();
  if (!state) return usageError(state.error().message());
  if (o.json) {
    json j = json::parse(stateToJson(*state));
    j["instance"] = name->str();
    std::cout << jsonText(j) << "\n";
    return kExitOk;
  }
  const InstanceState& s = *state;
  // The state file holds versions and messages that came from a server or
  // a hook: escaped before they reach the terminal.
  auto show = [](const std::string& text) { return shownText(text); };
  auto version = [&](const std::optional<ReleaseRef>& r) {
    return r ? (r->version.empty() ? "unknown" : show(r->version)) : "-";
  };
  std::printf("instance:    %s\n", name->str().c_str());
  std::printf("installed:   %s\n", version(s.installed).c_str());
  std::printf("previous:    %s\n", version(s.previous).c_str());
  if (s.last) {
    std::printf("last result: %s at %s (%s -> %s)\n",
                show(s.last->result).c_str(), show(s.last->time).c_str(),
                show(s.last->from).c_str(), show(s.last->to).c_str());
    if (s.last->message != "ok")
      std::printf("             %s\n", show(s.last->message).c_str());
  } else {
    std::printf("last result: -\n");
  }
  for (const auto& q : s.quarantined) {
    std::printf("quarantined: %s since %s: %s\n", show(q.version).c_str(),
                show(q.time).c_str(), show(q.reason).c_str());
  }
  if (s.fetched) {
    std::printf("fetched:     %s at %s (installed by the next apply)\n",
                show(s.fetched->release.version).c_str(),
                show(s.fetched->time).c_str());
  }
  if (s.transaction) {
    std::printf("in progress: %s to %s, step %s (finished by the next run)\n",
                kindName(s.transaction->kind),
                show(s.transaction->to.version).c_str(),
                stepName(s.transaction->step));
  }
  return kExitOk;
}

int runUnquarantine(const Options& o) {
  auto name = parseInstanceName(o.instance);
  if (!name) return usageError(name.error().message());
  auto lock = InstanceLock::acquire(o.runDir, name->str());
  if (!lock)
    return report(
        o, {OutcomeCode::kFailedUnchanged, lock.error().message(), {}, {}});
  auto store = makeFileStateStore(stateDirOf(o, *name));
  auto state = store->load();
  if (!state) return usageError(state.error().message());
  auto& q = state->quarantined;
  auto before = q.size();
  std::erase_if(q, [&](const QuarantineEntry& e) {
    return o.argument.empty() || e.version == o.argument;
  });
  if (q.size() == before) {
    return report(o, {OutcomeCode::kNothingToDo,
                      o.argument.empty() ? "no version is quarantined"
                                         : o.argument + " is not quarantined",
                      {},
                      {}});
  }
  if (auto st = store->save(*state); !st) {
    return report(
        o, {OutcomeCode::kFailedUnchanged, st.error().message(), {}, {}});
  }
  return report(o, {OutcomeCode::kDone, "released from quarantine", {}, {}});
}

int runList(const Options& o) {
  namespace fs = boost::filesystem;
  std::vector<std::string> names;
  boost::system::error_code ec;
  for (fs::directory_iterator it(o.configDir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() != ".conf") continue;
    std::string stem = it->path().stem().string();
    if (parseInstanceName(stem)) names.push_back(stem);
  }
  if (ec && ec != boost::system::errc::no_such_file_or_directory) {
    return usageError("cannot list '" + o.configDir + "': " + ec.message());
  }
  std::sort(names.begin(), names.end());
  if (o.json) {
    json j = json::array();
    for (const auto& n : names) {
      json entry = {{"instance", n},
                    {"config", o.configDir + "/" + n + ".conf"}};
      auto state = makeFileStateStore(o.stateDir + "/" + n)->load();
      if (state && state->installed)
        entry["installed"] = state->installed->version;
      j.push_back(entry);
    }
    std::cout << jsonText(j) << "\n";
  } else {
    for (const auto& n : names) std::printf("%s\n", n.c_str());
  }
  return kExitOk;
}

// Run by systemd as a generator, early at boot and on every daemon-reload:
// nothing here may fail the boot, and nothing may talk to another process.
// Messages go to the kernel log (the manager's advice for generators), or
// to stderr when run by hand.
int runGenerateUnits(const Options& o) {
  std::FILE* kmsg = nullptr;
  if (std::getenv("SYSTEMD_SCOPE") != nullptr) {
    kmsg = std::fopen("/dev/kmsg", "we");
  }
  auto warn = [&](const std::string& message) {
    // <4>: warning, the priority prefix the kernel log understands.
    const std::string shown = shownText(message);
    if (kmsg != nullptr) {
      std::fprintf(kmsg, "<4>upgrader-generator: %s\n", shown.c_str());
      std::fflush(kmsg);
    } else {
      std::fprintf(stderr, "upgrader-generator: %s\n", shown.c_str());
    }
  };
  generateUnits(o.configDir, o.generatorDirs.front(), warn);
  if (kmsg != nullptr) std::fclose(kmsg);
  // Whatever it met: a generator's failure would only add noise to a boot
  // that goes on anyway.
  return kExitOk;
}

}  // namespace

int runCli(int argc, char** argv) {
  // A reader that went away (`upgrader status | head`) must not kill a
  // transaction half-way: writes fail with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  auto options = parseOptions(argc, argv);
  if (!options) return usageError(options.error().message());
  const Options& o = *options;
  switch (o.command) {
    case Command::kHelp:
      std::fputs(usageText(), stdout);
      return kExitOk;
    case Command::kVersion:
      std::printf("upgrader %s\n", UPGRADER_VERSION);
      return kExitOk;
    case Command::kList:
      return runList(o);
    case Command::kGenerateUnits:
      return runGenerateUnits(o);
    case Command::kStatus:
      return runStatus(o);
    case Command::kUnquarantine:
      return runUnquarantine(o);
    case Command::kCheck:
      return runCheck(o);
    case Command::kApply:
    case Command::kFetch:
    case Command::kRollback:
      break;
  }
  auto log = makeEventLog(o.verbose);
  // The name as given: journal lines of a run refused for a bad name or
  // file still say which instance they are about.
  log->setContext({o.instance, "", ""});
  int code = runTransaction(o, *log);
  if (runningUnderSystemd()) {
    // systemd keeps no trace of an exit status it counts as success (5);
    // this line does. Sent with UPGRADER_INSTANCE, so it is found even when
    // journald no longer knows which unit the exited process belonged to.
    log->log(Severity::kInfo, "exit status " + std::to_string(code));
  }
  return code;
}

}  // namespace upgrader
