// One health check ([Health] HttpUrl=, Tcp=, Exec=) behind a small
// interface, so the waiting logic (health_waiter.hpp) is tested with fakes
// and each real check against real sockets and processes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/plan.hpp"
#include "exec/command_runner.hpp"
#include "fetch/http_client.hpp"

namespace upgrader {

class Probe {
 public:
  virtual ~Probe() = default;

  /// What is checked, for logs: "GET http://...", "TCP host:port", ...
  virtual std::string name() const = 0;

  /// Checks once, giving up after `timeout`. The error names the check and
  /// why it failed ("GET http://x/healthz: HTTP 503, expected 200").
  virtual Status check(Duration timeout) = 0;
};

/// The probes `config` asks for: HTTP URLs first (through `http`), then TCP
/// endpoints, then commands (run by `runner`); both must outlive them.
std::vector<std::unique_ptr<Probe>> makeProbes(const HealthConfig& config,
                                               CommandRunner& runner,
                                               HttpClient& http);

}  // namespace upgrader
