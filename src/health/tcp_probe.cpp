#include "health/tcp_probe.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "common/duration_text.hpp"

namespace upgrader {

namespace {

using Clock = std::chrono::steady_clock;

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

struct HostPort {
  std::string host;
  std::string port;
};

Result<HostPort> splitEndpoint(const std::string& endpoint) {
  std::size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      colon + 1 == endpoint.size()) {
    return Error("expected host:port");
  }
  std::string host = endpoint.substr(0, colon);
  std::string port = endpoint.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos) {
    return Error("invalid port '" + port + "'");
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return Error("unbalanced brackets around the IPv6 address");
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    // "::1:80" is ambiguous; the configuration spells it "[::1]:80".
    return Error("an IPv6 address must be in brackets, as in [::1]:80");
  }
  return HostPort{host, port};
}

// One connect attempt; the cause on failure.
Status connectOnce(const addrinfo& ai, Clock::time_point deadline) {
  int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai.ai_protocol);
  if (fd < 0) return Error(std::strerror(errno));
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* p) { ::close(*p); });
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) == 0) return okStatus();
  if (errno != EINPROGRESS && errno != EINTR)
    return Error(std::strerror(errno));
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Error("timed out");
    pollfd p{fd, POLLOUT, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Error(std::string("poll: ") + std::strerror(errno));
    }
    if (ready == 0) return Error("timed out");
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
      return Error(std::strerror(errno));
    }
    if (err != 0) return Error(std::strerror(err));
    return okStatus();
  }
}

}  // namespace

TcpProbe::TcpProbe(std::string endpoint) : endpoint_(std::move(endpoint)) {}

std::string TcpProbe::name() const { return "TCP " + endpoint_; }

Status TcpProbe::check(Duration timeout) {
  const std::string context = "TCP connect to " + endpoint_;
  const auto deadline = Clock::now() + timeout;
  auto hostPort = splitEndpoint(endpoint_);
  if (!hostPort) return hostPort.error().withContext(context);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  // getaddrinfo() has no timeout of its own; a health endpoint is nearly
  // always a literal or in /etc/hosts, so this is accepted.
  int rc = ::getaddrinfo(hostPort->host.c_str(), hostPort->port.c_str(), &hints,
                         &found);
  if (rc != 0) {
    std::string cause =
        rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
    return Error("cannot resolve '" + hostPort->host + "': " + cause)
        .withContext(context);
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> addresses(found);

  // Like a client would: the first address that accepts wins; the error
  // is the last address's.
  Status last = Error("no address");
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    last = connectOnce(*ai, deadline);
    if (last) return okStatus();
    if (Clock::now() >= deadline) break;
  }
  if (last.error().message() == "timed out") {
    return Error("timed out after " + durationText(timeout))
        .withContext(context);
  }
  return last.error().withContext(context);
}

}  // namespace upgrader
