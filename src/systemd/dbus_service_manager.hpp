// ServiceManager over D-Bus (sdbus-c++), talking to org.freedesktop.systemd1
// on the system bus. Single-threaded: signals are dispatched from the calling
// thread while it waits, so no state is shared with a background loop.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "systemd/service_manager.hpp"

namespace upgrader {

class DbusServiceManager final : public ServiceManager {
 public:
  /// Takes an open connection; use connectSystemd() to make one.
  explicit DbusServiceManager(std::unique_ptr<sdbus::IConnection> connection);
  ~DbusServiceManager() override;

  /// Subscribes to the manager's signals. Must succeed before any call.
  Status init();

  Status startUnit(const UnitName& unit, Duration timeout) override;
  Status stopUnit(const UnitName& unit, Duration timeout) override;
  Status restartUnit(const UnitName& unit, Duration timeout) override;
  Result<UnitStatus> unitStatus(const UnitName& unit) override;
  Result<UnitStatus> waitForChange(const UnitName& unit,
                                   Duration timeout) override;
  Result<TransientOutcome> runTransientService(
      const TransientService& service) override;
  Result<std::vector<UnitName>> liveUnitsMatching(
      const std::string& pattern) override;

 private:
  using SteadyClock = std::chrono::steady_clock;

  Status runJob(const char* method, const char* verb, const UnitName& unit,
                Duration timeout);
  Result<sdbus::IProxy*> unitProxy(const UnitName& unit);
  /// Reads how the transient service at `path` ended, then drops the
  /// reference that kept it loaded.
  Result<TransientOutcome> collectTransient(const UnitName& unit,
                                            const sdbus::ObjectPath& path);
  /// Dispatches bus messages until `done` holds or `deadline` passes.
  bool pumpUntil(const std::function<bool()>& done, SteadyClock::time_point deadline);

  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> manager_;
  /// Result of every job removed since we subscribed, by job object path.
  std::map<std::string, std::string> removedJobs_;
  struct WatchedUnit {
    std::unique_ptr<sdbus::IProxy> proxy;
    std::uint64_t changes = 0;  ///< PropertiesChanged signals seen
  };
  std::map<std::string, WatchedUnit> units_;
};

}  // namespace upgrader
