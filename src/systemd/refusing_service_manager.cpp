#include "systemd/service_manager.hpp"

namespace upgrader {

namespace {

class RefusingServiceManager final : public ServiceManager {
 public:
  Status startUnit(const UnitName& unit, Duration) override {
    return refuse(unit);
  }
  Status stopUnit(const UnitName& unit, Duration) override {
    return refuse(unit);
  }
  Status restartUnit(const UnitName& unit, Duration) override {
    return refuse(unit);
  }
  Result<UnitStatus> unitStatus(const UnitName& unit) override {
    return refuse(unit).error();
  }
  Result<UnitStatus> waitForChange(const UnitName& unit, Duration) override {
    return refuse(unit).error();
  }
  Result<TransientOutcome> runTransientService(
      const TransientService& service) override {
    return refuse(service.name).error();
  }
  Result<std::vector<UnitName>> liveUnitsMatching(
      const std::string& pattern) override {
    return Error("this command does not touch units (asked about '" +
                 pattern + "')");
  }

 private:
  static Status refuse(const UnitName& unit) {
    return Error("this command does not touch units (asked about '" +
                 unit.str() + "')");
  }
};

}  // namespace

std::unique_ptr<ServiceManager> makeRefusingServiceManager() {
  return std::make_unique<RefusingServiceManager>();
}

}  // namespace upgrader
