#include "health/probe.hpp"

#include "health/exec_probe.hpp"
#include "health/http_probe.hpp"
#include "health/tcp_probe.hpp"

namespace upgrader {

std::vector<std::unique_ptr<Probe>> makeProbes(const HealthConfig& config,
                                               CommandRunner& runner,
                                               HttpClient& http) {
  std::vector<std::unique_ptr<Probe>> probes;
  for (const auto& url : config.httpUrls) {
    probes.push_back(std::make_unique<HttpProbe>(url, config.expectStatus,
                                                 config.expectJson, http));
  }
  for (const auto& endpoint : config.tcp) {
    probes.push_back(std::make_unique<TcpProbe>(endpoint));
  }
  for (const auto& command : config.exec) {
    probes.push_back(std::make_unique<ExecProbe>(command, runner));
  }
  return probes;
}

}  // namespace upgrader
