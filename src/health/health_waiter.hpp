// The waiting half of a health check: runs probes in rounds while watching
// the units, and decides when the new version counts as healthy. Separate
// from building the probes (probe.hpp) so it is unit-tested with fake
// probes and a fake service manager.
#pragma once

#include <memory>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/types.hpp"
#include "config/plan.hpp"
#include "health/probe.hpp"
#include "systemd/event_log.hpp"
#include "systemd/service_manager.hpp"

namespace upgrader {

class HealthWaiter {
 public:
  /// `manager`, `log` and `clock` must outlive the waiter.
  HealthWaiter(ServiceManager& manager, EventLog& log, Clock& clock);

  /// Runs all `probes` every `config.interval` until they pass together in
  /// `config.successes` rounds in a row, every unit is active and, with
  /// `config.settle`, the units stayed up with NRestarts unchanged that
  /// long since the first passing round. Fails at once when a unit fails,
  /// waits for an automatic restart, stops or was restarted (NRestarts grew
  /// since the call), naming the unit and its result; between rounds it
  /// waits on the first unit's changes, so a crash ends the wait at once.
  /// After `config.timeout`: "not healthy after 30s: <last failure>".
  /// With no probes, healthy means every unit active (and settled).
  Status waitHealthy(const std::vector<std::unique_ptr<Probe>>& probes,
                     const HealthConfig& config,
                     const std::vector<UnitName>& units);

 private:
  ServiceManager& manager_;
  EventLog& log_;
  Clock& clock_;
};

}  // namespace upgrader
