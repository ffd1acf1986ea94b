#include "health/tcp_probe.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "common/clock.hpp"
#include "common/duration_text.hpp"

namespace upgrader {

namespace {

using SteadyClock = std::chrono::steady_clock;

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

// One connect attempt; the cause on failure.
Status connectOnce(const addrinfo& ai, SteadyClock::time_point deadline) {
  int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai.ai_protocol);
  if (fd < 0) return Error(std::strerror(errno));
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* p) { ::close(*p); });
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) == 0) return okStatus();
  if (errno != EINPROGRESS && errno != EINTR)
    return Error(std::strerror(errno));
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
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

TcpProbe::TcpProbe(TcpEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

std::string TcpProbe::name() const { return "TCP " + endpoint_.text(); }

Status TcpProbe::check(Duration timeout) {
  const std::string context = "TCP connect to " + endpoint_.text();
  const auto deadline = saturatingAdd(SteadyClock::now(), timeout);
  const std::string port = std::to_string(endpoint_.port);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  // getaddrinfo() has no timeout of its own; a health endpoint is nearly
  // always a literal or in /etc/hosts, so this is accepted.
  int rc = ::getaddrinfo(endpoint_.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    std::string cause =
        rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
    return Error("cannot resolve '" + endpoint_.host + "': " + cause)
        .withContext(context);
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> addresses(found);

  // Like a client would: the first address that accepts wins; the error
  // is the last address's.
  Status last = Error("no address");
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    last = connectOnce(*ai, deadline);
    if (last) return okStatus();
    if (SteadyClock::now() >= deadline) break;
  }
  if (last.error().message() == "timed out") {
    return Error("timed out after " + durationText(timeout))
        .withContext(context);
  }
  return last.error().withContext(context);
}

}  // namespace upgrader
