// Tcp=: an endpoint that must accept a TCP connection.
#pragma once

#include <string>

#include "health/probe.hpp"

namespace upgrader {

class TcpProbe final : public Probe {
 public:
  /// `endpoint` as the configuration parsed it: a host name or an address
  /// literal, and a port.
  explicit TcpProbe(TcpEndpoint endpoint);

  /// "TCP <endpoint>".
  std::string name() const override;

  /// Resolves the host and connects to each address in turn until one
  /// accepts, within `timeout`; closes the connection at once.
  Status check(Duration timeout) override;

 private:
  TcpEndpoint endpoint_;
};

}  // namespace upgrader
