#include "systemd/transient_hook_runner.hpp"

#include <signal.h>
#include <systemd/sd-login.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <utility>
#include <vector>

#include "common/duration_text.hpp"
#include "common/shown_text.hpp"
#include "config/names.hpp"

namespace upgrader {

namespace {

constexpr std::string_view kPrefix = "upgrader-hook-";
constexpr std::string_view kSuffix = ".service";
// A unit name has at most 255 characters and an instance name may have as
// many: the instance is cut to leave room for the rest.
constexpr std::size_t kMaxInstanceInName = 200;
constexpr std::array<std::string_view, 5> kKinds = {
    "prestop", "migrate", "postupgrade", "postrollback", "restore"};
// As many last lines as a terminal shows of a failed command, and as many
// bytes as the runner kept of a child's output before hooks were units.
constexpr std::size_t kTailLines = 20;
constexpr std::size_t kTailBytes = 4096;
// What a stop gets beyond the hook's grace before the upgrader gives up.
constexpr auto kStopMargin = std::chrono::seconds(10);

std::string lowercase(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

std::string namePrefix(const InstanceName& instance) {
  return std::string(kPrefix) + instance.str().substr(0, kMaxInstanceInName) +
         "-";
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

class TransientHookRunner final : public HookRunner {
 public:
  TransientHookRunner(ServiceManager& units, JournalReader& journal,
                      InstanceName instance, long runId,
                      std::optional<UnitName> caller)
      : units_(units),
        journal_(journal),
        instance_(std::move(instance)),
        runId_(runId),
        caller_(std::move(caller)) {}

  Status run(const Hook& hook) override {
    const std::string name = "command " + quoteValue(hook.script);
    TransientService service;
    service.name = hookUnitName(instance_, hook.kind, runId_, ++count_);
    service.description =
        "upgrader: " + hook.kind + "= hook of " + instance_.str();
    service.argv = {"/bin/sh", "-c", hook.script};
    for (const auto& [key, value] : hook.env) {
      service.environment.push_back(key + "=" + value);
    }
    service.timeout = hook.timeout;
    service.bindsTo = bindTarget();
    const std::string where = " (" + service.name.str() + ")";

    auto outcome = units_.runTransientService(service);
    if (!outcome) {
      return outcome.error().withContext(
          name + " could not be started as a transient service");
    }
    const TransientOutcome& o = *outcome;
    std::string message;
    const bool exited = o.execMainCode == CLD_EXITED;
    const bool killed =
        o.execMainCode == CLD_KILLED || o.execMainCode == CLD_DUMPED;
    // systemd's start timeout shows in the unit's result (the job just
    // "failed"), however the hook then ended: killed, or exiting on SIGTERM
    // with a status of its own.
    if (o.stoppedByCaller || o.result == "timeout" ||
        o.jobResult == "timeout") {
      message = name + " timed out after " + durationText(hook.timeout) + where;
    } else if (exited && o.execMainStatus == 0) {
      // Processes it left behind were stopped with its unit; how that went
      // is not the hook's result.
      return okStatus();
    } else if (exited) {
      message = name + " exited with status " +
                std::to_string(o.execMainStatus) + where;
    } else if (killed) {
      message = name + " killed by signal " + std::to_string(o.execMainStatus) +
                where;
    } else {
      // It never ran (a dependency failed, resources ran out): systemd's
      // words for it, and its journal has the details.
      message = name + " did not run" + where + ": unit result '" + o.result +
                "', job result '" + o.jobResult + "'";
    }
    if (o.invocationId.empty()) return Error(message);
    auto tail = journal_.lastLines(service.name, o.invocationId, o.linesSinceUsec,
                                   kTailLines, kTailBytes);
    if (!tail) {
      return Error(message + " (its output could not be read: " +
                   tail.error().message() + ")");
    }
    if (!tail->empty()) message += ": " + *tail;
    return Error(message);
  }

  Status stopLeftovers() override {
    auto live = units_.liveUnitsMatching(namePrefix(instance_) + "*" +
                                         std::string(kSuffix));
    if (!live) return live.error();
    for (const auto& unit : *live) {
      if (!isHookUnitOf(instance_, unit.str())) continue;
      if (auto st =
              units_.stopUnit(unit, TransientService{}.stopGrace + kStopMargin);
          !st) {
        return st.error().withContext("cannot stop the hook '" + unit.str() +
                                      "' an interrupted run left running");
      }
    }
    return okStatus();
  }

 private:
  // The caller's unit, if it is there to bind to: a unit systemd does not
  // know (an upgrader in a container, or nsenter'd into another system's
  // namespaces) or one that is not running would make every hook's start
  // fail.
  std::optional<UnitName> bindTarget() {
    if (!bindChecked_) {
      bindChecked_ = true;
      if (caller_) {
        auto status = units_.unitStatus(*caller_);
        if (!status || (status->activeState != "active" &&
                        status->activeState != "activating" &&
                        status->activeState != "reloading")) {
          caller_.reset();
        }
      }
    }
    return caller_;
  }

  ServiceManager& units_;
  JournalReader& journal_;
  InstanceName instance_;
  long runId_;
  std::optional<UnitName> caller_;
  bool bindChecked_ = false;
  int count_ = 0;
};

}  // namespace

UnitName hookUnitName(const InstanceName& instance, const std::string& kind,
                      long runId, int n) {
  return UnitName(namePrefix(instance) + lowercase(kind) + "-" +
                  std::to_string(runId) + "-" + std::to_string(n) +
                  std::string(kSuffix));
}

bool isHookUnitOf(const InstanceName& instance, const std::string& unit) {
  const std::string prefix = namePrefix(instance);
  if (unit.size() <= prefix.size() + kSuffix.size() ||
      unit.compare(0, prefix.size(), prefix) != 0 ||
      unit.compare(unit.size() - kSuffix.size(), kSuffix.size(), kSuffix) !=
          0) {
    return false;
  }
  // What is left must be exactly KIND-RUN-N: an instance "demo-x" leaves
  // "x-migrate-1-2" for "demo", which has one part too many.
  std::string_view rest(unit);
  rest =
      rest.substr(prefix.size(), rest.size() - prefix.size() - kSuffix.size());
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    auto dash = rest.find('-', start);
    parts.push_back(rest.substr(start, dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  return parts.size() == 3 &&
         std::find(kKinds.begin(), kKinds.end(), parts[0]) != kKinds.end() &&
         allDigits(parts[1]) && allDigits(parts[2]);
}

std::optional<UnitName> ownUnit() {
  char* unit = nullptr;
  if (sd_pid_get_unit(0, &unit) < 0 || unit == nullptr) return std::nullopt;
  std::string name(unit);
  std::free(unit);
  // The manager's own scope is no unit to tie a hook to.
  if (name == "init.scope") return std::nullopt;
  auto parsed = parseUnitName(name);
  if (!parsed) return std::nullopt;
  return *parsed;
}

std::unique_ptr<HookRunner> makeTransientHookRunner(
    ServiceManager& units, JournalReader& journal, InstanceName instance,
    long runId, std::optional<UnitName> caller) {
  return std::make_unique<TransientHookRunner>(
      units, journal, std::move(instance), runId, std::move(caller));
}

}  // namespace upgrader
