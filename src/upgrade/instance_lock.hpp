// One upgrade per instance at a time: an flock on /run/upgrader/NAME.lock.
// The kernel drops the lock when the process dies, so a crashed run never
// blocks the next one.
#pragma once

#include <string>

#include "common/result.hpp"

namespace upgrader {

class InstanceLock {
 public:
  InstanceLock(InstanceLock&& other) noexcept;
  InstanceLock& operator=(InstanceLock&&) = delete;
  InstanceLock(const InstanceLock&) = delete;
  ~InstanceLock();

  /// Takes the lock without waiting. Error "an upgrade of 'NAME' is already
  /// running (pid N)" if another process holds it.
  static Result<InstanceLock> acquire(const std::string& runDir,
                                      const std::string& instance);

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace upgrader
