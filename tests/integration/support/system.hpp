// Helpers for integration tests that run inside the throwaway systemd:
// shell commands for set-up, and waiting on real conditions with a timeout.
#pragma once

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

namespace upgrader::testing {

/// Runs a shell command; returns its exit status (-1 if it did not exit).
inline int sh(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/// Runs a shell command and returns its stdout.
inline std::string output(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
inline bool waitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

/// Writes a unit file into /etc/systemd/system and reloads systemd.
inline bool installUnit(const std::string& name, const std::string& text) {
  if (FILE* f = std::fopen(("/etc/systemd/system/" + name).c_str(), "w")) {
    std::fputs(text.c_str(), f);
    std::fclose(f);
    return sh("systemctl daemon-reload") == 0;
  }
  return false;
}

}  // namespace upgrader::testing
