// Sockets on 127.0.0.1 for tests that stand up their own little servers
// (unit and integration tests alike).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace upgrader::testing {

/// A socket listening on 127.0.0.1 at a port the kernel picked; sets
/// `port`. -1 if that failed.
inline int listenOnLoopback(int& port, int backlog = 16) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0 ||
      ::listen(fd, backlog) < 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  port = ntohs(addr.sin_port);
  return fd;
}

/// A port on 127.0.0.1 where nothing listens: listened on once, then closed.
inline int unusedLoopbackPort() {
  int port = 0;
  int fd = listenOnLoopback(port);
  if (fd >= 0) ::close(fd);
  return port;
}

}  // namespace upgrader::testing
