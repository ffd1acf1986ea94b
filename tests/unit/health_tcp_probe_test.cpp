// TcpProbe against sockets the test opens on the loopback interface.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "health/tcp_probe.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// A listening socket; the kernel completes handshakes without accept().
class Listener {
 public:
  explicit Listener(int family = AF_INET) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_storage storage{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&storage);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      len = sizeof *a;
    }
    auto* addr = reinterpret_cast<sockaddr*>(&storage);
    if (::bind(fd_, addr, len) < 0 || ::listen(fd_, 16) < 0 ||
        ::getsockname(fd_, addr, &len) < 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    port_ = ntohs(family == AF_INET
                      ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                      : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  ~Listener() { close(); }

  bool ok() const { return fd_ >= 0; }
  std::string port() const { return std::to_string(port_); }
  /// This listener as a configured endpoint on `host`.
  TcpEndpoint on(const std::string& host) const {
    return TcpEndpoint{host, static_cast<std::uint16_t>(port_)};
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(ATcpProbe, PassesWhenSomethingListens) {
  Listener listener;
  ASSERT_TRUE(listener.ok());
  TcpProbe probe(listener.on("127.0.0.1"));
  Status s = probe.check(2s);
  EXPECT_TRUE(s) << s.error().message();
  EXPECT_EQ(probe.name(), "TCP 127.0.0.1:" + listener.port());
}

TEST(ATcpProbe, FailsWhenTheConnectionIsRefused) {
  Listener listener;
  ASSERT_TRUE(listener.ok());
  std::string endpoint = "127.0.0.1:" + listener.port();
  TcpProbe probe(listener.on("127.0.0.1"));
  listener.close();
  Status s = probe.check(2s);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "TCP connect to " + endpoint + ": Connection refused");
}

TEST(ATcpProbe, ResolvesAHostName) {
  Listener listener;
  ASSERT_TRUE(listener.ok());
  // localhost may resolve to ::1 first; the probe tries each address.
  TcpProbe probe(listener.on("localhost"));
  Status s = probe.check(2s);
  EXPECT_TRUE(s) << s.error().message();
}

TEST(ATcpProbe, ConnectsToABracketedIpv6Literal) {
  Listener listener(AF_INET6);
  if (!listener.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  TcpProbe probe(listener.on("::1"));
  Status s = probe.check(2s);
  EXPECT_TRUE(s) << s.error().message();
  EXPECT_EQ(probe.name(), "TCP [::1]:" + listener.port());
}

TEST(ATcpProbe, NamesAHostItCannotResolve) {
  TcpProbe probe(TcpEndpoint{"no-such-host.invalid", 80});
  Status s = probe.check(2s);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(),
              HasSubstr("TCP connect to no-such-host.invalid:80: cannot "
                        "resolve 'no-such-host.invalid'"));
}

}  // namespace
}  // namespace upgrader
