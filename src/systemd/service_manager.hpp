// The service manager as the upgrade transaction sees it: start and stop
// units and wait for the real job results, read and watch unit state.
// The real implementation talks to systemd over D-Bus
// (dbus_service_manager.hpp); unit tests use a fake.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "common/types.hpp"
#include "config/plan.hpp"

namespace upgrader {

/// A snapshot of the unit properties the transaction decides on.
struct UnitStatus {
  std::string loadState;    ///< "loaded", "not-found", ...
  std::string activeState;  ///< "active", "activating", "failed", ...
  std::string subState;     ///< "running", "auto-restart", "dead", ...
  std::string result;       ///< service Result: "success", "exit-code", ...
  std::uint32_t nRestarts = 0;
  std::uint32_t mainPid = 0;
  std::int32_t execMainStatus = 0;
  std::uint64_t activeEnterTimestampUs = 0;  ///< CLOCK_REALTIME, µs

  bool isActive() const { return activeState == "active"; }
  /// Failed, or waiting to be restarted after its process died.
  bool hasFailed() const {
    return activeState == "failed" || subState == "auto-restart";
  }
};

/// Abstract so the transaction can be unit-tested with a fake.
class ServiceManager {
 public:
  virtual ~ServiceManager() = default;

  /// Queues a start job (mode "replace") and waits up to `timeout` for its
  /// result. Ok only if the job finished "done". On timeout the job is
  /// cancelled. The error names the unit and the job's and unit's results.
  virtual Status startUnit(const UnitName& unit, Duration timeout) = 0;

  /// As startUnit, for a stop job.
  virtual Status stopUnit(const UnitName& unit, Duration timeout) = 0;

  /// As startUnit, for a restart job.
  virtual Status restartUnit(const UnitName& unit, Duration timeout) = 0;

  /// Reads the unit's current state. Error "unit 'x' not found" if systemd
  /// has no such unit.
  virtual Result<UnitStatus> unitStatus(const UnitName& unit) = 0;

  /// Waits until the unit's properties change or `timeout` passes, whichever
  /// comes first, and returns the state then. Lets a caller notice a crash
  /// the moment systemd does instead of at its next poll.
  virtual Result<UnitStatus> waitForChange(const UnitName& unit,
                                           Duration timeout) = 0;
};

/// Connects to the system bus. Error if there is no bus or systemd on it.
Result<std::unique_ptr<ServiceManager>> connectSystemd();

/// connectSystemd() on the first request; every request fails with the
/// connection's error if that failed.
std::unique_ptr<ServiceManager> makeLazyServiceManager();

/// A manager that refuses every request: for commands that must never touch
/// a unit (check, --dry-run), so a mistake fails loudly instead of acting.
std::unique_ptr<ServiceManager> makeRefusingServiceManager();

}  // namespace upgrader
