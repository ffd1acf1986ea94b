#include "health/health_waiter.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "common/duration_text.hpp"

namespace upgrader {

namespace {

// A check gets at least this long even with a short IntervalSec=: a health
// endpoint of a starting service may well take a second to answer, and a
// check cut short would only fail and be repeated.
constexpr Duration kMinCheckTimeout = std::chrono::seconds(2);

std::string quoted(const UnitName& unit) { return "'" + unit.str() + "'"; }

std::string resultDetails(const UnitStatus& s) {
  std::string out;
  if (!s.result.empty()) out = "result '" + s.result + "'";
  if (s.execMainStatus != 0) {
    if (!out.empty()) out += ", ";
    out +=
        "main process exited with status " + std::to_string(s.execMainStatus);
  }
  return out;
}

std::string inParentheses(const std::string& a, const std::string& b) {
  if (a.empty() && b.empty()) return "";
  if (a.empty() || b.empty()) return " (" + a + b + ")";
  return " (" + a + ", " + b + ")";
}

// Why `s` means the new version is not running, if it does. Once systemd
// has restarted a unit, the process the probes see is not the one that
// was started, so a restart counts as a failure even if it is up again.
std::optional<std::string> unitProblem(const UnitName& unit,
                                       const UnitStatus& s,
                                       std::uint32_t restartsBefore) {
  const std::string details = resultDetails(s);
  if (s.activeState == "failed") {
    return "unit " + quoted(unit) + " failed" + inParentheses(details, "");
  }
  if (s.hasFailed()) {
    return "unit " + quoted(unit) + " crashed and waits to be restarted" +
           inParentheses(details, "");
  }
  if (s.nRestarts > restartsBefore) {
    return "unit " + quoted(unit) + " was restarted by systemd" +
           inParentheses("NRestarts " + std::to_string(restartsBefore) +
                             " -> " + std::to_string(s.nRestarts),
                         details);
  }
  if (s.activeState != "active" && s.activeState != "activating" &&
      s.activeState != "reloading") {
    return "unit " + quoted(unit) + " is no longer running" +
           inParentheses(s.activeState + "/" + s.subState, details);
  }
  return std::nullopt;
}

}  // namespace

HealthWaiter::HealthWaiter(ServiceManager& manager, EventLog& log, Clock& clock)
    : manager_(manager), log_(log), clock_(clock) {}

Status HealthWaiter::waitHealthy(
    const std::vector<std::unique_ptr<Probe>>& probes,
    const HealthConfig& config, const std::vector<UnitName>& units) {
  const auto start = clock_.now();
  const auto deadline = saturatingAdd(start, config.timeout);
  const unsigned successesNeeded = std::max(config.successes, 1u);

  // The baseline for "systemd restarted it": whatever happened before the
  // health check began belongs to the start job, which has succeeded.
  std::vector<std::uint32_t> restartsBefore;
  for (const auto& unit : units) {
    auto status = manager_.unitStatus(unit);
    if (!status) return status.error();
    restartsBefore.push_back(status->nRestarts);
  }

  unsigned consecutive = 0;
  std::string lastFailure;
  std::string notActive;  // a unit still activating, for the timeout message
  // Since when the units have been up with all checks passed once; a
  // time point and a flag rather than std::optional, which g++ 12 warns
  // about spuriously (maybe-uninitialized).
  bool settling = false;
  SteadyTime settleStart{};

  auto checkUnit = [&](std::size_t i, const UnitStatus& s) -> Status {
    if (auto problem = unitProblem(units[i], s, restartsBefore[i])) {
      log_.log(Severity::kDebug, "health: " + *problem);
      return Error(*problem);
    }
    if (!s.isActive() && notActive.empty()) {
      notActive = "unit " + quoted(units[i]) + " is still " + s.activeState;
    }
    return okStatus();
  };
  auto checkUnits = [&]() -> Status {
    notActive.clear();
    for (std::size_t i = 0; i < units.size(); ++i) {
      auto status = manager_.unitStatus(units[i]);
      if (!status) return status.error();
      if (Status s = checkUnit(i, *status); !s) return s;
    }
    return okStatus();
  };

  for (unsigned round = 1;; ++round) {
    const auto roundStart = clock_.now();
    if (Status s = checkUnits(); !s) return s;

    bool complete = true;
    std::string failures;
    for (const auto& probe : probes) {
      auto now = clock_.now();
      if (now >= deadline) {
        complete = false;
        break;
      }
      Duration timeout =
          std::min<Duration>(std::chrono::ceil<Duration>(deadline - now),
                             std::max(config.interval, kMinCheckTimeout));
      if (Status s = probe->check(timeout); !s) {
        if (!failures.empty()) failures += "; ";
        failures += s.error().message();
      }
    }
    if (!complete) break;
    if (failures.empty()) {
      ++consecutive;
      log_.log(Severity::kDebug, "health: round " + std::to_string(round) +
                                     " passed (" + std::to_string(consecutive) +
                                     " of " + std::to_string(successesNeeded) +
                                     " in a row)");
    } else {
      consecutive = 0;
      // Only changes are worth a line: a service that takes a minute to
      // come up would otherwise repeat the same failure every interval.
      if (failures != lastFailure) {
        log_.log(Severity::kDebug, "health: round " + std::to_string(round) +
                                       " failed: " + failures);
      }
      // A round that ran into the deadline had its checks cut to what was
      // left and typically failed with "timed out after 3ms"; the failure
      // of the last full round says more about what is wrong.
      if (lastFailure.empty() || clock_.now() < deadline) {
        lastFailure = failures;
      }
    }

    // Again after the probes: a crash while they ran must not end in
    // "healthy".
    if (Status s = checkUnits(); !s) return s;
    auto now = clock_.now();
    if (!notActive.empty()) {
      settling = false;
    } else if (consecutive > 0 && !settling) {
      settling = true;
      settleStart = now;
    }
    bool settled = config.settle <= Duration::zero() ||
                   (settling && now - settleStart >= config.settle);
    if (consecutive >= successesNeeded && notActive.empty() && settled) {
      log_.log(
          Severity::kDebug,
          "health: healthy after " +
              durationText(std::chrono::duration_cast<Duration>(now - start)));
      return okStatus();
    }
    if (now >= deadline) break;

    auto nextRound = std::min(saturatingAdd(roundStart, config.interval), deadline);
    if (consecutive >= successesNeeded && settling) {
      nextRound = std::min(nextRound, saturatingAdd(settleStart, config.settle));
    }
    // Waiting on the first unit's changes rather than sleeping: a crash of
    // the main unit ends the wait the moment systemd notices it. Other
    // units are read at each round.
    while ((now = clock_.now()) < nextRound) {
      auto left = std::chrono::ceil<Duration>(nextRound - now);
      if (units.empty()) {
        clock_.sleepUntil(nextRound);
        continue;
      }
      auto status = manager_.waitForChange(units.front(), left);
      if (!status) return status.error();
      if (Status s = checkUnit(0, *status); !s) return s;
    }
  }

  std::string reason;
  if (consecutive == 0 && !lastFailure.empty()) {
    reason = lastFailure;
  } else if (!notActive.empty()) {
    reason = notActive;
  } else if (consecutive < successesNeeded) {
    reason = "checks passed " + std::to_string(consecutive) + " of " +
             std::to_string(successesNeeded) + " times in a row";
    if (!lastFailure.empty()) reason += "; last failure: " + lastFailure;
  } else {
    auto stable =
        settling ? clock_.now() - settleStart : SteadyTime::duration::zero();
    reason = "units stable for " +
             durationText(std::chrono::duration_cast<Duration>(stable)) +
             " of the " + durationText(config.settle) + " of SettleSec=";
  }
  return Error("not healthy after " + durationText(config.timeout) + ": " +
               reason);
}

}  // namespace upgrader
