// Tcp=: an endpoint that must accept a TCP connection.
#pragma once

#include <string>

#include "health/probe.hpp"

namespace upgrader {

class TcpProbe final : public Probe {
 public:
  /// `endpoint` is "host:port"; host a name, an IPv4 literal or an IPv6
  /// literal in brackets ("[::1]:5432").
  explicit TcpProbe(std::string endpoint);

  /// "TCP <endpoint>".
  std::string name() const override;

  /// Resolves the host and connects to each address in turn until one
  /// accepts, within `timeout`; closes the connection at once.
  Status check(Duration timeout) override;

 private:
  std::string endpoint_;
};

}  // namespace upgrader
