#include "health/health_checker.hpp"

#include <exception>

#include "health/health_waiter.hpp"
#include "health/probe.hpp"

namespace upgrader {

namespace {

class ProbingHealthChecker final : public HealthChecker {
 public:
  ProbingHealthChecker(ServiceManager& manager, CommandRunner& runner,
                       HttpClient& http, EventLog& log, Clock& clock,
                       std::vector<ExtraProbe> extra)
      : extra_(std::move(extra)),
        manager_(manager),
        runner_(runner),
        http_(http),
        log_(log),
        clock_(clock) {}

  Status waitHealthy(const HealthConfig& config,
                     const std::vector<UnitName>& units) override {
    try {
      auto probes = makeProbes(config, runner_, http_);
      for (const auto& make : extra_) probes.push_back(make());
      return HealthWaiter(manager_, log_, clock_).waitHealthy(probes, config, units);
    } catch (const std::exception& e) {
      // Only allocation can throw here; still no exception leaves the
      // module.
      return Error(std::string("health check failed: ") + e.what());
    }
  }

 private:
  std::vector<ExtraProbe> extra_;
  ServiceManager& manager_;
  CommandRunner& runner_;
  HttpClient& http_;
  EventLog& log_;
  Clock& clock_;
};

}  // namespace

std::unique_ptr<HealthChecker> makeHealthChecker(
    ServiceManager& manager, CommandRunner& runner, HttpClient& http,
    EventLog& log, Clock& clock, std::vector<ExtraProbe> extra) {
  return std::make_unique<ProbingHealthChecker>(manager, runner, http, log,
                                                clock, std::move(extra));
}

}  // namespace upgrader
