// Deciding whether a freshly started version is healthy ([Health]): HTTP(S)
// status and JSON expectations, TCP connects, commands, and unit stability,
// while watching the units so that a crash is noticed the moment systemd
// sees it, not at the health timeout.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/types.hpp"
#include "config/plan.hpp"
#include "exec/command_runner.hpp"
#include "fetch/http_client.hpp"
#include "health/probe.hpp"
#include "systemd/event_log.hpp"
#include "systemd/service_manager.hpp"

namespace upgrader {

class HealthChecker {
 public:
  virtual ~HealthChecker() = default;

  /// Waits until every configured check has passed `successes` times in a
  /// row (and, with SettleSec=, the units stayed active with NRestarts
  /// unchanged for that long), or fails: at once when a unit fails or waits
  /// for an automatic restart, or when TimeoutSec= passes. The error names
  /// the check and its last failure ("GET http://127.0.0.1:8080/healthz:
  /// 'status' is \"starting\", expected \"ok\"", "unit 'x.service' failed
  /// (result 'exit-code')").
  virtual Status waitHealthy(const HealthConfig& config,
                             const std::vector<UnitName>& units) = 0;
};

/// Makes one more probe for each wait, beside those [Health] configures
/// (a compose project's).
using ExtraProbe = std::function<std::unique_ptr<Probe>()>;

/// The checker of [Health]: `http` for HTTP(S), sockets for TCP, `runner`
/// for Exec=, `manager` to watch the units, `clock` to wait (all of which
/// must outlive it); `extra` probes are checked after the configured ones.
std::unique_ptr<HealthChecker> makeHealthChecker(
    ServiceManager& manager, CommandRunner& runner, HttpClient& http,
    EventLog& log, Clock& clock, std::vector<ExtraProbe> extra = {});

}  // namespace upgrader
