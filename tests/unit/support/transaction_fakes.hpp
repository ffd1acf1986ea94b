// Fakes for the side effects the upgrade transaction acts through (besides
// FakeServiceManager and ManualClock): each does what it is told and records what it was
// asked, so a test can script any failure and check what followed.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "exec/command_runner.hpp"
#include "exec/hook_runner.hpp"
#include "health/health_checker.hpp"
#include "strategy/strategy.hpp"
#include "systemd/event_log.hpp"
#include "upgrade/state_store.hpp"

namespace upgrader::testing {

/// A strategy whose "machine" is three slots holding release ids (what is
/// in place, the rollback point, and the release an attempt replaced,
/// which becomes the rollback point once pruning settles a commit), as a
/// FileSlot keeps them, and whose source offers `offer`.
/// `fail` names methods that fail; every call is recorded.
class FakeStrategy : public Strategy {
 public:
  Offer offer{"2", true};
  std::string current = "id-1";
  std::string old;
  std::string replaced;
  std::string staged;
  /// What recognise() knows: id -> version.
  std::map<std::string, std::string> recognised;
  /// Non-empty: acquire() fails with this (a refused download or pull).
  std::string acquireFailure;
  std::set<std::string> fail;
  std::vector<std::string> calls;

  std::string place() const override { return "'/usr/bin/demo'"; }
  Result<std::string> currentId() const override {
    if (fail.count("currentId")) return Error("currentId failed");
    return current;
  }
  Result<Offer> resolve() override {
    calls.push_back("resolve");
    if (fail.count("resolve")) return Error("no release listed");
    return offer;
  }
  std::string recognise(const std::string& id) const override {
    auto it = recognised.find(id);
    return it == recognised.end() ? "" : it->second;
  }
  Result<Staged> acquire(const ProgressFn&) override {
    calls.push_back("acquire " + offer.version);
    if (!acquireFailure.empty()) return Error(acquireFailure);
    staged = "id-" + offer.version;
    return Staged{{offer.version, staged}, "verified by the fake"};
  }
  /// A fetched release is taken over if it is still what is staged and
  /// the version offered; `fail` "adopt" refuses it anyway.
  Result<Staged> adopt(const ReleaseRef& fetched) override {
    calls.push_back("adopt " + fetched.version);
    if (fail.count("adopt")) return Error("no longer as verified");
    if (staged != fetched.id || fetched.version != offer.version) {
      return Error("not staged");
    }
    return Staged{fetched, "checked again by the fake"};
  }
  Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) override {
    calls.push_back("stagePrevious " + previous.version);
    if (fail.count("stagePrevious") || old != previous.id) {
      return Error("previous release gone");
    }
    staged = previous.id;
    return previous;
  }
  Status prepareSwap(const ReleaseRef& from) override {
    calls.push_back("prepare " + from.version);
    if (fail.count("prepareSwap")) return Error("prepare failed");
    return okStatus();
  }
  Status swap(const ReleaseRef& from, const ReleaseRef& to) override {
    calls.push_back("swap " + from.version + "->" + to.version);
    if (fail.count("swap")) return Error("swap failed");
    if (current == to.id) return okStatus();
    replaced = current;
    current = to.id;
    staged.clear();
    return okStatus();
  }
  Status canRevert(const ReleaseRef& from) const override {
    if (fail.count("revert")) return Error("revert failed");
    if (current != from.id && replaced != from.id) {
      return Error("cannot restore " + from.version);
    }
    return okStatus();
  }
  Status revert(const ReleaseRef& from) override {
    calls.push_back("revert " + from.version);
    if (auto st = canRevert(from); !st) return st;
    if (current != from.id) current = replaced;
    replaced.clear();
    return okStatus();
  }
  Status discard(const ReleaseRef& to, Discard what) override {
    switch (what) {
      case Discard::kLeftovers:
        if (!to.id.empty()) {
          // A release fetched ahead stays staged.
          calls.push_back("clean leftovers but " + to.version);
          if (fail.count("discard")) return Error("discard failed");
          return okStatus();
        }
        calls.push_back("clean leftovers");
        break;
      case Discard::kRelease: calls.push_back("discard " + to.version); break;
      case Discard::kKeepRelease: calls.push_back("discard " + to.version + " (kept)"); break;
    }
    staged.clear();
    if (fail.count("discard")) return Error("discard failed");
    return okStatus();
  }
  Status quiesce(const ReleaseRef& release) override {
    calls.push_back("quiesce " + release.version);
    if (fail.count("quiesce")) return Error("a migration still runs");
    return okStatus();
  }
  Status prune(const ReleaseRef&, const ReleaseRef&) override {
    calls.push_back("prune");
    if (!replaced.empty()) old = replaced;
    replaced.clear();
    return okStatus();
  }
  Environment hookEnvironment(const ReleaseRef& from,
                              const ReleaseRef& to) const override {
    return {{"UPGRADER_STAGED_PATH", "/staged/" + to.version},
            {"UPGRADER_OLD_PATH", "/old/" + from.version}};
  }
  std::string preflightCommand(const std::string& configured,
                               const ReleaseRef& staged) const override {
    return replacePlaceholder(configured, "@path", "/staged/" + staged.version);
  }
};

/// Answers health checks from a script: one result per call, the last one
/// repeated ("" = healthy).
class FakeHealth : public HealthChecker {
 public:
  std::vector<std::string> script = {""};
  int calls = 0;
  /// The time each call was given (TimeoutSec=, or RollbackTimeoutSec=).
  std::vector<Duration> timeouts;
  Status waitHealthy(const HealthConfig& config, const std::vector<UnitName>&) override {
    timeouts.push_back(config.timeout);
    std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(calls), script.size() - 1);
    ++calls;
    if (script[i].empty()) return okStatus();
    return Error(script[i]);
  }
};

/// Records commands (a shell command by its script, and each whole in
/// `commands`); those containing a string in `failing` exit 1, the others
/// answer `answer`.
class FakeCommands : public CommandRunner {
 public:
  std::vector<std::string> ran;
  std::vector<CommandLine> commands;
  std::vector<Environment> envs;
  std::vector<std::string> failing;
  CommandResult answer{0, "", ""};
  Result<CommandResult> run(const CommandLine& command) override {
    bool shell = command.argv.size() == 3 && command.argv[0] == "/bin/sh";
    std::string line = shell ? command.argv[2] : describeArgv(command.argv);
    ran.push_back(line);
    commands.push_back(command);
    envs.push_back(command.env);
    for (const auto& f : failing) {
      if (line.find(f) != std::string::npos) return CommandResult{1, "", ""};
    }
    return answer;
  }
};

/// Records hooks (by their script); those containing a string in `failing`
/// fail as an exit status 1 would. stopLeftovers() is counted, and fails
/// with `leftoversFailure` if that is set.
class FakeHooks : public HookRunner {
 public:
  std::vector<std::string> ran;
  std::vector<std::string> kinds;
  std::vector<Environment> envs;
  std::vector<Duration> timeouts;
  std::vector<std::string> failing;
  int leftoverStops = 0;
  std::string leftoversFailure;
  Status run(const Hook& hook) override {
    ran.push_back(hook.script);
    kinds.push_back(hook.kind);
    envs.push_back(hook.env);
    timeouts.push_back(hook.timeout);
    for (const auto& f : failing) {
      if (hook.script.find(f) != std::string::npos) {
        return Error("command '" + hook.script + "' exited with status 1");
      }
    }
    return okStatus();
  }
  Status stopLeftovers() override {
    ++leftoverStops;
    if (!leftoversFailure.empty()) return Error(leftoversFailure);
    return okStatus();
  }
};

/// The state file in memory, with every saved transaction step recorded.
class MemoryStateStore : public StateStore {
 public:
  InstanceState state;
  std::vector<std::string> steps;  ///< step of each save ("-" = none)
  std::vector<std::string> highestVerified;  ///< of each save
  int failSaveNumber = 0;          ///< 1-based save that fails; 0 = none
  int saves = 0;
  Result<InstanceState> load() override { return state; }
  Status save(const InstanceState& s) override {
    ++saves;
    if (saves == failSaveNumber) return Error("disk full");
    state = s;
    steps.push_back(s.transaction ? stepName(s.transaction->step) : "-");
    highestVerified.push_back(s.highestVerified);
    return okStatus();
  }
};

/// Keeps the events' names.
class RecordingEventLog : public EventLog {
 public:
  std::vector<std::string> events;
  std::vector<std::string> lines;
  void setContext(const LogContext&) override {}
  void event(Event e, std::string_view, std::string_view message,
             std::string_view) override {
    events.push_back(eventName(e));
    lines.emplace_back(message);
  }
  void progress(std::uint64_t, std::uint64_t) override {}
  void log(Severity, std::string_view message) override { lines.emplace_back(message); }
};

}  // namespace upgrader::testing
