#include <optional>

#include "systemd/service_manager.hpp"

namespace upgrader {

namespace {

// Connects to systemd on first use. A run with nothing to do never needs the
// bus, and connecting (with its signal subscriptions) is most of what such a
// run would cost.
class LazyServiceManager final : public ServiceManager {
 public:
  Status startUnit(const UnitName& unit, Duration timeout) override {
    auto m = manager();
    if (!m) return m.error();
    return (*m)->startUnit(unit, timeout);
  }
  Status stopUnit(const UnitName& unit, Duration timeout) override {
    auto m = manager();
    if (!m) return m.error();
    return (*m)->stopUnit(unit, timeout);
  }
  Status restartUnit(const UnitName& unit, Duration timeout) override {
    auto m = manager();
    if (!m) return m.error();
    return (*m)->restartUnit(unit, timeout);
  }
  Result<UnitStatus> unitStatus(const UnitName& unit) override {
    auto m = manager();
    if (!m) return m.error();
    return (*m)->unitStatus(unit);
  }
  Result<UnitStatus> waitForChange(const UnitName& unit,
                                   Duration timeout) override {
    auto m = manager();
    if (!m) return m.error();
    return (*m)->waitForChange(unit, timeout);
  }
  Result<TransientOutcome> runTransientService(
      const TransientService& service) override {
    auto m = manager();
    if (!m) return m.error();
    return (*m)->runTransientService(service);
  }
  Result<std::vector<UnitName>> liveUnitsMatching(
      const std::string& pattern) override {
    auto m = manager();
    if (!m) return m.error();
    return (*m)->liveUnitsMatching(pattern);
  }

 private:
  // A failed connection is not retried: every call reports the same cause.
  Result<ServiceManager*> manager() {
    if (!connected_ && !failure_) {
      auto c = connectSystemd();
      if (c) {
        connected_ = std::move(*c);
      } else {
        failure_ = c.error();
      }
    }
    if (failure_) return *failure_;
    return connected_.get();
  }

  std::unique_ptr<ServiceManager> connected_;
  std::optional<Error> failure_;
};

}  // namespace

std::unique_ptr<ServiceManager> makeLazyServiceManager() {
  return std::make_unique<LazyServiceManager>();
}

}  // namespace upgrader
