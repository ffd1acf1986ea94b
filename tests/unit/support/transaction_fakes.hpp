// Fakes for the side effects the upgrade transaction acts through (besides
// FakeServiceManager): each does what it is told and records what it was
// asked, so a test can script any failure and check what followed.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "exec/command_runner.hpp"
#include "fetch/fetcher.hpp"
#include "health/health_checker.hpp"
#include "install/installer.hpp"
#include "systemd/event_log.hpp"
#include "upgrade/state_store.hpp"

namespace upgrader::testing {

/// Serves one release: any URL gets `digest`, unless told to fail.
class FakeFetcher : public Fetcher {
 public:
  Sha256Digest digest;
  std::string failure;  ///< non-empty: fetchToFile fails with this
  std::vector<std::string> urls;

  Result<FetchedFile> fetchToFile(const std::string& url, const std::string& dir,
                                  const FetchOptions&, const ProgressFn&) override {
    urls.push_back(url);
    if (!failure.empty()) return Error(failure);
    return FetchedFile{dir + "/.download.partial", digest, 1};
  }
  Result<std::string> fetchText(const std::string& url, const FetchOptions&,
                                std::uint64_t) override {
    return Error("unexpected fetchText(" + url + ")");
  }
};

/// An installer whose "disk" is two slots (the path and the rollback point)
/// holding release ids. `fail` names methods that fail.
class FakeInstaller : public Installer {
 public:
  std::string current = "id-1";
  std::string old;
  std::string staged;
  std::set<std::string> fail;
  std::vector<std::string> calls;

  std::string downloadDirectory() const override { return "/downloads"; }
  Result<std::string> currentId() const override {
    if (fail.count("currentId")) return Error("currentId failed");
    return current;
  }
  Result<ReleaseRef> stage(const FetchedFile& f, const Release& r) override {
    (void)f;
    calls.push_back("stage " + r.version.str());
    if (fail.count("stage")) return Error("stage failed");
    staged = "id-" + r.version.str();
    return ReleaseRef{r.version.str(), staged};
  }
  Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) override {
    calls.push_back("stagePrevious " + previous.version);
    if (fail.count("stagePrevious") || old != previous.id) {
      return Error("previous release gone");
    }
    staged = previous.id;
    return previous;
  }
  std::string stagedPath(const ReleaseRef& r) const override { return "/staged/" + r.version; }
  std::string previousPath(const ReleaseRef&) const override { return "/old"; }
  Status prepareSwap(const ReleaseRef& from) override {
    calls.push_back("prepare " + from.version);
    if (fail.count("prepareSwap")) return Error("prepare failed");
    return okStatus();
  }
  Status swap(const ReleaseRef& from, const ReleaseRef& to) override {
    calls.push_back("swap " + from.version + "->" + to.version);
    if (fail.count("swap")) return Error("swap failed");
    if (current == to.id) return okStatus();
    old = current;
    current = to.id;
    staged.clear();
    return okStatus();
  }
  Status canRevert(const ReleaseRef& from) const override {
    if (fail.count("revert")) return Error("revert failed");
    if (current != from.id && old != from.id) return Error("cannot restore " + from.version);
    return okStatus();
  }
  Status revert(const ReleaseRef& from, bool keepLeft) override {
    calls.push_back("revert " + from.version + (keepLeft ? " keeping the other" : ""));
    if (auto st = canRevert(from); !st) return st;
    if (current == from.id) return okStatus();
    std::swap(current, old);
    if (!keepLeft) old = current;
    return okStatus();
  }
  Status discard(const ReleaseRef& to) override {
    if (to.version.empty()) {
      calls.push_back("clean leftovers");
    } else {
      calls.push_back("discard " + to.version + (to.id.empty() ? " (kept)" : ""));
    }
    staged.clear();
    return okStatus();
  }
  Status prune(const ReleaseRef&, const ReleaseRef&) override {
    calls.push_back("prune");
    return okStatus();
  }
};

/// Answers health checks from a script: one result per call, the last one
/// repeated ("" = healthy).
class FakeHealth : public HealthChecker {
 public:
  std::vector<std::string> script = {""};
  int calls = 0;
  Status waitHealthy(const HealthConfig&, const std::vector<UnitName>&) override {
    std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(calls), script.size() - 1);
    ++calls;
    if (script[i].empty()) return okStatus();
    return Error(script[i]);
  }
};

/// Records commands; those containing a string in `failing` fail.
class FakeCommands : public CommandRunner {
 public:
  std::vector<std::string> ran;
  std::vector<Environment> envs;
  std::vector<std::string> failing;
  Status run(const std::string& command, const Environment& env, Duration) override {
    ran.push_back(command);
    envs.push_back(env);
    for (const auto& f : failing) {
      if (command.find(f) != std::string::npos) {
        return Error("command '" + command + "' exited with status 1");
      }
    }
    return okStatus();
  }
};

/// The state file in memory, with every saved transaction step recorded.
class MemoryStateStore : public StateStore {
 public:
  InstanceState state;
  std::vector<std::string> steps;  ///< step of each save ("-" = none)
  int failSaveNumber = 0;          ///< 1-based save that fails; 0 = none
  int saves = 0;
  Result<InstanceState> load() override { return state; }
  Status save(const InstanceState& s) override {
    ++saves;
    if (saves == failSaveNumber) return Error("disk full");
    state = s;
    steps.push_back(s.transaction ? stepName(s.transaction->step) : "-");
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
