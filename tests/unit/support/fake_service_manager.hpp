// A scripted ServiceManager for unit tests: each unit's status is set by the
// test, changes can be queued (at once or after a delay) for waitForChange()
// to deliver, jobs succeed or fail as told, and every call is recorded.
// Time is the Clock it is given: with a ManualClock, waiting moves that
// clock instead of sleeping, so tests assert what happened when, exactly.
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "systemd/service_manager.hpp"

namespace upgrader::testing {

/// A unit that is up: active/running, result "success".
inline UnitStatus activeStatus(std::uint32_t nRestarts = 0) {
  UnitStatus s;
  s.loadState = "loaded";
  s.activeState = "active";
  s.subState = "running";
  s.result = "success";
  s.nRestarts = nRestarts;
  s.mainPid = 4242;
  return s;
}

/// A unit whose start job is still running (Type=notify before READY=1).
inline UnitStatus activatingStatus(std::uint32_t nRestarts = 0) {
  UnitStatus s = activeStatus(nRestarts);
  s.activeState = "activating";
  s.subState = "start";
  return s;
}

/// A unit that is down on purpose: inactive/dead, result "success".
inline UnitStatus inactiveStatus(std::uint32_t nRestarts = 0) {
  UnitStatus s = activeStatus(nRestarts);
  s.activeState = "inactive";
  s.subState = "dead";
  s.mainPid = 0;
  return s;
}

/// A unit that failed: failed/failed with `result` and exit status.
inline UnitStatus failedStatus(const std::string& result = "exit-code",
                               std::int32_t execMainStatus = 1,
                               std::uint32_t nRestarts = 0) {
  UnitStatus s = inactiveStatus(nRestarts);
  s.activeState = "failed";
  s.subState = "failed";
  s.result = result;
  s.execMainStatus = execMainStatus;
  return s;
}

/// A unit whose process died and that waits for Restart= to act.
inline UnitStatus autoRestartStatus(const std::string& result = "exit-code",
                                    std::uint32_t nRestarts = 0) {
  UnitStatus s = failedStatus(result, 1, nRestarts);
  s.activeState = "activating";
  s.subState = "auto-restart";
  return s;
}

class FakeServiceManager : public ServiceManager {
 public:
  explicit FakeServiceManager(Clock& clock = systemClock()) : clock_(clock) {}

  enum class CallKind { kStart, kStop, kRestart, kStatus, kWait, kTransient };
  struct Call {
    CallKind kind;
    UnitName unit;
    Duration timeout{};
  };

  /// Makes `unit` known with status `status` (replaces any earlier one).
  void setStatus(const UnitName& unit, const UnitStatus& status) {
    std::lock_guard lock(mutex_);
    units_[unit.str()].status = status;
  }

  /// The unit's status now, with due queued changes applied.
  UnitStatus status(const UnitName& unit) {
    std::lock_guard lock(mutex_);
    auto& u = known(unit);
    applyDue(u, clock_.now());
    return u.status;
  }

  /// Queues a change of `unit` to `status`, taking effect `after` from now
  /// (as systemd's would, whether or not anyone waits): unitStatus() sees
  /// it once due, and a waitForChange() running then returns it at once.
  /// Changes apply in the order queued.
  void queueChange(const UnitName& unit, const UnitStatus& status,
                   Duration after = Duration::zero()) {
    std::lock_guard lock(mutex_);
    known(unit).changes.push_back({saturatingAdd(clock_.now(), after), status});
  }

  /// Makes start jobs of `unit` fail with `message` (a default naming the
  /// unit if empty); the unit becomes `after` (failedStatus() by default).
  /// With `times` >= 0 only that many start jobs fail, later ones succeed.
  void failStart(const UnitName& unit, std::string message = "",
                 std::optional<UnitStatus> after = std::nullopt,
                 int times = -1) {
    std::lock_guard lock(mutex_);
    auto& u = known(unit);
    u.startFailure = message.empty() ? jobFailure("start", unit) : message;
    u.afterFailedJob = after;
    u.startFailuresLeft = times;
  }

  /// Makes stop jobs of `unit` fail with `message`; the status stays.
  /// A successful stop leaves the unit inactive/dead.
  void failStop(const UnitName& unit, std::string message = "") {
    std::lock_guard lock(mutex_);
    known(unit).stopFailure =
        message.empty() ? jobFailure("stop", unit) : message;
  }

  /// Makes restart jobs of `unit` fail as failStart() does.
  void failRestart(const UnitName& unit, std::string message = "",
                   std::optional<UnitStatus> after = std::nullopt) {
    std::lock_guard lock(mutex_);
    auto& u = known(unit);
    u.restartFailure = message.empty() ? jobFailure("restart", unit) : message;
    u.afterFailedJob = after;
  }

  /// The status a successful start or restart of `unit` leaves (active by
  /// default, NRestarts kept): e.g. one that crashes right after starting.
  void setStatusAfterStart(const UnitName& unit, const UnitStatus& status) {
    std::lock_guard lock(mutex_);
    known(unit).afterStart = status;
  }

  /// Runs `hook` as every stop, start and restart job begins, before the
  /// job's effect (e.g. advancing a manual clock: jobs that take time).
  void onJob(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    jobHook_ = std::move(hook);
  }

  /// Caps how long waitForChange() really sleeps when nothing is due, so a
  /// test with long timeouts runs fast (callers must cope with an early
  /// return anyway). By default it sleeps the whole timeout.
  void capWait(Duration cap) {
    std::lock_guard lock(mutex_);
    waitCap_ = cap;
  }

  /// How the next transient services end, in order (the last one repeats;
  /// a successful exit if none was set). An outcome with an empty `result`
  /// stands for a service systemd refused to create: `transientFailure`.
  void queueTransient(const TransientOutcome& outcome) {
    std::lock_guard lock(mutex_);
    transientOutcomes_.push_back(outcome);
  }
  void refuseTransient(const std::string& message) {
    std::lock_guard lock(mutex_);
    transientFailure_ = message;
  }
  /// The transient services asked for, in order.
  std::vector<TransientService> transients() const {
    std::lock_guard lock(mutex_);
    return transients_;
  }

  /// Every call, in order.
  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  /// The jobs asked for, as "start a.service", "stop b.service", ...
  std::vector<std::string> jobs() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& c : calls_) {
      switch (c.kind) {
        case CallKind::kStart:
          out.push_back("start " + c.unit.str());
          break;
        case CallKind::kStop:
          out.push_back("stop " + c.unit.str());
          break;
        case CallKind::kRestart:
          out.push_back("restart " + c.unit.str());
          break;
        case CallKind::kTransient:
          out.push_back("run " + c.unit.str());
          break;
        default:
          break;
      }
    }
    return out;
  }

  /// How many calls of `kind` there were.
  std::size_t count(CallKind kind) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(calls_.begin(), calls_.end(),
                      [&](const Call& c) { return c.kind == kind; }));
  }

  Status startUnit(const UnitName& unit, Duration timeout) override {
    return runStartJob(CallKind::kStart, unit, timeout);
  }

  Status restartUnit(const UnitName& unit, Duration timeout) override {
    return runStartJob(CallKind::kRestart, unit, timeout);
  }

  Status stopUnit(const UnitName& unit, Duration timeout) override {
    std::lock_guard lock(mutex_);
    calls_.push_back({CallKind::kStop, unit, timeout});
    if (jobHook_) jobHook_();
    auto* u = find(unit);
    if (u == nullptr) return notFound(unit);
    applyDue(*u, clock_.now());
    if (u->stopFailure) return Error(*u->stopFailure);
    u->status = inactiveStatus(u->status.nRestarts);
    return okStatus();
  }

  Result<UnitStatus> unitStatus(const UnitName& unit) override {
    std::lock_guard lock(mutex_);
    calls_.push_back({CallKind::kStatus, unit, Duration::zero()});
    auto* u = find(unit);
    if (u == nullptr) return notFound(unit);
    applyDue(*u, clock_.now());
    return u->status;
  }

  Result<UnitStatus> waitForChange(const UnitName& unit,
                                   Duration timeout) override {
    SteadyTime wakeUp;
    {
      std::lock_guard lock(mutex_);
      calls_.push_back({CallKind::kWait, unit, timeout});
      auto* u = find(unit);
      if (u == nullptr) return notFound(unit);
      auto now = clock_.now();
      if (applyDue(*u, now)) return u->status;
      // A day stands for "forever" without overflowing the time point.
      wakeUp = saturatingAdd(
          now, std::min({timeout, waitCap_, Duration(std::chrono::hours(24))}));
      if (!u->changes.empty()) {
        wakeUp = std::min(wakeUp, u->changes.front().due);
      }
    }
    clock_.sleepUntil(wakeUp);
    std::lock_guard lock(mutex_);
    auto* u = find(unit);
    if (u == nullptr) return notFound(unit);
    applyDue(*u, clock_.now());
    return u->status;
  }

  Result<TransientOutcome> runTransientService(
      const TransientService& service) override {
    std::lock_guard lock(mutex_);
    calls_.push_back({CallKind::kTransient, service.name, service.timeout});
    transients_.push_back(service);
    if (transientFailure_) return Error(*transientFailure_);
    TransientOutcome out;
    out.result = "success";
    out.jobResult = "done";
    out.execMainCode = 1;  // CLD_EXITED
    out.invocationId = "0123456789abcdef0123456789abcdef";
    if (!transientOutcomes_.empty()) {
      out = transientOutcomes_.front();
      if (transientOutcomes_.size() > 1) transientOutcomes_.pop_front();
    }
    return out;
  }

  /// Every known unit whose status is not inactive or failed, matched
  /// against `pattern` (one '*' at most).
  Result<std::vector<UnitName>> liveUnitsMatching(
      const std::string& pattern) override {
    std::lock_guard lock(mutex_);
    std::vector<UnitName> out;
    for (auto& [name, u] : units_) {
      applyDue(u, clock_.now());
      if (u.status.activeState == "inactive" ||
          u.status.activeState == "failed") {
        continue;
      }
      if (globMatches(pattern, name)) out.emplace_back(name);
    }
    return out;
  }

 private:
  // One '*' at most, which is all the code under test asks for.
  static bool globMatches(std::string_view pattern, std::string_view name) {
    auto star = pattern.find('*');
    if (star == std::string_view::npos) return pattern == name;
    auto head = pattern.substr(0, star);
    auto tail = pattern.substr(star + 1);
    return name.size() >= head.size() + tail.size() &&
           name.starts_with(head) && name.ends_with(tail);
  }

  struct Change {
    SteadyTime due;
    UnitStatus status;
  };
  struct Unit {
    UnitStatus status;
    std::deque<Change> changes;
    std::optional<std::string> startFailure;
    int startFailuresLeft = -1;  ///< -1: every start fails
    std::optional<std::string> stopFailure;
    std::optional<std::string> restartFailure;
    std::optional<UnitStatus> afterFailedJob;
    std::optional<UnitStatus> afterStart;
  };

  Unit& known(const UnitName& unit) { return units_[unit.str()]; }

  Unit* find(const UnitName& unit) {
    auto it = units_.find(unit.str());
    return it == units_.end() ? nullptr : &it->second;
  }

  // Applies the changes due by `now`; whether there were any.
  static bool applyDue(Unit& u, SteadyTime now) {
    bool changed = false;
    while (!u.changes.empty() && u.changes.front().due <= now) {
      u.status = u.changes.front().status;
      u.changes.pop_front();
      changed = true;
    }
    return changed;
  }

  static std::string jobFailure(const std::string& job, const UnitName& unit) {
    return "job " + job + " of unit '" + unit.str() +
           "' finished 'failed' (unit is failed/failed, unit result "
           "'exit-code')";
  }

  static Error notFound(const UnitName& unit) {
    return Error("unit '" + unit.str() + "' not found");
  }

  Status runStartJob(CallKind kind, const UnitName& unit, Duration timeout) {
    std::lock_guard lock(mutex_);
    calls_.push_back({kind, unit, timeout});
    if (jobHook_) jobHook_();
    auto* u = find(unit);
    if (u == nullptr) return notFound(unit);
    applyDue(*u, clock_.now());
    const auto& failure =
        kind == CallKind::kStart ? u->startFailure : u->restartFailure;
    bool fails = failure.has_value();
    if (fails && kind == CallKind::kStart && u->startFailuresLeft >= 0) {
      fails = u->startFailuresLeft > 0;
      if (fails) --u->startFailuresLeft;
    }
    if (fails) {
      u->status = u->afterFailedJob.value_or(failedStatus());
      return Error(*failure);
    }
    u->status = u->afterStart.value_or(activeStatus(u->status.nRestarts));
    return okStatus();
  }

  Clock& clock_;
  std::function<void()> jobHook_;
  mutable std::mutex mutex_;
  std::map<std::string, Unit> units_;
  std::vector<Call> calls_;
  Duration waitCap_ = Duration::max();
  std::deque<TransientOutcome> transientOutcomes_;
  std::optional<std::string> transientFailure_;
  std::vector<TransientService> transients_;
};

}  // namespace upgrader::testing
