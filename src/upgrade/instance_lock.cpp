#include "upgrade/instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/file_util.hpp"

namespace upgrader {

InstanceLock::InstanceLock(InstanceLock&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<InstanceLock> InstanceLock::acquire(const std::string& runDir,
                                           const std::string& instance) {
  if (::mkdir(runDir.c_str(), 0755) < 0 && errno != EEXIST) {
    return systemError("create directory", runDir, errno);
  }
  std::string path = runDir + "/" + instance + ".lock";
  // O_NOFOLLOW and a regular file only: a symlink planted in a run
  // directory others can write would make root truncate whatever it names
  // (the pid is written below).
  int fd = ::open(path.c_str(),
                  O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd < 0) return systemError("open lock file", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error("Failed to open lock file '" + path + "': not a regular file");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int err = errno;
    std::string holder;
    if (err == EWOULDBLOCK) {
      if (auto text = readFile(path, 64); text && !text->empty()) {
        holder = " (pid " + text->substr(0, text->find('\n')) + ")";
      }
      ::close(fd);
      return Error("an upgrade of '" + instance + "' is already running" +
                   holder);
    }
    ::close(fd);
    return systemError("lock", path, err);
  }
  // The pid is only for the message above; the flock is the lock.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return InstanceLock(fd);
}

}  // namespace upgrader
