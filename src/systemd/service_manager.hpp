// The service manager as the upgrade transaction sees it: start and stop
// units and wait for the real job results, read and watch unit state.
// The real implementation talks to systemd over D-Bus
// (dbus_service_manager.hpp); unit tests use a fake.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/types.hpp"

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

/// A command run once as a transient service of its own (StartTransientUnit):
/// outside the caller's sandbox, in its own control group, its output in the
/// journal under its own unit name.
struct TransientService {
  /// The unit name, "upgrader-hook-demo-migrate-812-1.service": unique among
  /// the units loaded now.
  UnitName name;
  std::string description;
  /// argv[0] is an absolute path. Run as given: systemd expands no $VAR.
  std::vector<std::string> argv;
  /// "NAME=value" assignments, over the manager's default environment.
  std::vector<std::string> environment;
  /// How long it may run (systemd enforces it: SIGTERM, SIGKILL after
  /// stopGrace); the caller waits a little longer, then stops it itself.
  Duration timeout{};
  Duration stopGrace = std::chrono::seconds(2);
  /// A unit it is bound to (BindsTo=): stopped when that unit stops. Empty:
  /// none.
  std::optional<UnitName> bindsTo;
};

/// How a transient service ended, read before systemd forgets the unit.
struct TransientOutcome {
  /// The unit's InvocationID, 32 hex digits ("" if systemd gave none): what
  /// its journal lines carry as _SYSTEMD_INVOCATION_ID.
  std::string invocationId;
  /// The service's Result: "success", "exit-code", "signal", "timeout", ...
  std::string result;
  /// How the main process ended: CLD_EXITED (1), CLD_KILLED (2), CLD_DUMPED
  /// (3), or 0 if it never ran; and its exit status or signal number.
  std::int32_t execMainCode = 0;
  std::int32_t execMainStatus = 0;
  /// A time before the unit was asked for (CLOCK_REALTIME, µs): none of
  /// its journal lines is older. Not systemd's ExecMainStartTimestamp: PID
  /// 1 takes that after the fork, and on a busy machine a hook that prints
  /// at once has its line timestamped by journald before it.
  std::uint64_t linesSinceUsec = 0;
  /// The start job's result ("done", "failed", "timeout", "dependency"...).
  std::string jobResult;
  /// The caller's own deadline passed and it stopped the unit.
  bool stoppedByCaller = false;
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

  /// Creates `service` as a Type=oneshot transient service (mode "fail"),
  /// waits until it has ended, and returns how. A result for any way it
  /// ended; an error only if it could not be created or its end could not
  /// be known (the error names the unit).
  virtual Result<TransientOutcome> runTransientService(
      const TransientService& service) = 0;

  /// The loaded units whose names match the shell-style `pattern` and that
  /// may have processes running: active, activating, reloading or
  /// deactivating.
  virtual Result<std::vector<UnitName>> liveUnitsMatching(
      const std::string& pattern) = 0;
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
