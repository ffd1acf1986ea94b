// The few calls of sdbus-c++ that differ between its major versions 1
// (Debian 12: 1.2) and 2 (Debian 13: 2.1), each in one place. Version 2
// wants strong types for names, dropped finishRegistration() (a handler
// is live once registered), renamed processPendingRequest() and made the
// poll timeout a std::chrono type. Only src/systemd includes this; the
// build sets UPGRADER_SDBUS_CPP_MAJOR from the version it found.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#ifndef UPGRADER_SDBUS_CPP_MAJOR
#error "UPGRADER_SDBUS_CPP_MAJOR is set by CMakeLists.txt from find_package(sdbus-c++)"
#endif

namespace upgrader::sdbus_compat {

inline std::unique_ptr<sdbus::IProxy> createProxy(sdbus::IConnection& connection,
                                                  const char* destination,
                                                  const std::string& path) {
#if UPGRADER_SDBUS_CPP_MAJOR >= 2
  return sdbus::createProxy(connection, sdbus::ServiceName(destination),
                            sdbus::ObjectPath(path));
#else
  return sdbus::createProxy(connection, destination, path);
#endif
}

/// Makes the signal handlers registered on `proxy` live.
inline void finishRegistration([[maybe_unused]] sdbus::IProxy& proxy) {
#if UPGRADER_SDBUS_CPP_MAJOR < 2
  proxy.finishRegistration();
#endif
}

/// Dispatches one pending message; false when none was pending.
inline bool processPending(sdbus::IConnection& connection) {
#if UPGRADER_SDBUS_CPP_MAJOR >= 2
  return connection.processPendingEvent();
#else
  return connection.processPendingRequest();
#endif
}

/// The CLOCK_MONOTONIC instant at which sd-bus wants to be called again, if
/// it has one.
inline std::optional<std::chrono::microseconds> absoluteTimeout(
    const sdbus::IConnection::PollData& data) {
#if UPGRADER_SDBUS_CPP_MAJOR >= 2
  if (data.timeout == std::chrono::microseconds::max()) return std::nullopt;
  return data.timeout;
#else
  if (data.timeout_usec == std::numeric_limits<std::uint64_t>::max()) {
    return std::nullopt;
  }
  return data.getAbsoluteTimeout();
#endif
}

/// A second descriptor to watch for input (version 2's wake-up event fd),
/// or -1.
inline int eventFd([[maybe_unused]] const sdbus::IConnection::PollData& data) {
#if UPGRADER_SDBUS_CPP_MAJOR >= 2
  return data.eventFd;
#else
  return -1;
#endif
}

}  // namespace upgrader::sdbus_compat
