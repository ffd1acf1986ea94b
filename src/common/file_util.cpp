#include "common/file_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

namespace upgrader {

namespace {

// The prefix of the temp names for `path`: ".NAME.upgrader-tmp-". A name
// that is hidden already (".app.upgrader-staged") gets no second dot.
std::string tempPrefixFor(const std::string& path) {
  std::string base = baseName(path);
  return (base.starts_with(".") ? "" : ".") + base + ".upgrader-tmp-";
}

// A name next to `path` that no other writer uses: the temp file must be in
// the same directory (same file system) for the final rename to be atomic.
std::string tempNameFor(const std::string& path) {
  static std::mt19937_64 rng{std::random_device{}()};
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx",
                static_cast<unsigned long long>(rng()));
  return parentDirectory(path) + "/" + tempPrefixFor(path) + suffix;
}

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return okStatus();
}

}  // namespace

Error systemError(std::string_view verb, const std::string& path, int err) {
  std::string message = "Failed to " + std::string(verb) + " '" + path +
                        "': " + std::strerror(err);
  // Mostly upgrade@.service's ProtectSystem=strict: it may write only what
  // the generator granted from the configuration at the last reload.
  if (err == EROFS) message += kReadOnlyHint;
  return Error(message);
}

std::string parentDirectory(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string baseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Status fsyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return systemError("open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc < 0) return systemError("fsync directory", dir, err);
  return okStatus();
}

Result<int> openRegularFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // just below, so no read ever sees the flag.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return systemError("open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return systemError("stat", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error("'" + path + "' is not a regular file");
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

Result<std::string> readFile(const std::string& path, std::size_t maxBytes) {
  auto opened = openRegularFile(path);
  if (!opened) return opened.error();
  int fd = *opened;
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return systemError("read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > maxBytes) {
      ::close(fd);
      return Error("'" + path + "' is larger than " +
                   std::to_string(maxBytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

Status writeFileAtomically(const std::string& path, std::string_view content,
                           mode_t mode) {
  std::string tmp = tempNameFor(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return systemError("create", tmp, errno);
  // Exactly `mode`: the umask (0077 in upgrade@'s unit) would otherwise
  // narrow what others must read (the metrics, a compose env file's group).
  Status status =
      ::fchmod(fd, mode) == 0 ? okStatus() : systemError("chmod", tmp, errno);
  if (status) status = writeAll(fd, content, tmp);
  // The data must be on disk before the rename makes it visible, or a crash
  // could leave a renamed but empty file (the leveldb CURRENT lesson).
  if (status && ::fsync(fd) < 0) status = systemError("fsync", tmp, errno);
  if (::close(fd) < 0 && status) status = systemError("close", tmp, errno);
  if (status && ::rename(tmp.c_str(), path.c_str()) < 0) {
    status = systemError("rename '" + tmp + "' to", path, errno);
  }
  if (!status) {
    ::unlink(tmp.c_str());
    return status;
  }
  return fsyncDirectory(parentDirectory(path));
}

Status hardLinkAtomically(const std::string& existing,
                          const std::string& linkPath) {
  // Already one file (a step repeated after a crash): rename(2) of one link
  // over another of the same inode does nothing and would leave the temp
  // name behind.
  struct stat a {}, b {};
  if (::stat(existing.c_str(), &a) == 0 && ::lstat(linkPath.c_str(), &b) == 0 &&
      a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
    return okStatus();
  }
  std::string tmp = tempNameFor(linkPath);
  if (::link(existing.c_str(), tmp.c_str()) < 0) {
    return systemError("link '" + existing + "' to", tmp, errno);
  }
  if (::rename(tmp.c_str(), linkPath.c_str()) < 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return systemError("rename '" + tmp + "' to", linkPath, err);
  }
  return fsyncDirectory(parentDirectory(linkPath));
}

Status renameDurably(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) < 0) {
    return systemError("rename '" + from + "' to", to, errno);
  }
  return fsyncDirectory(parentDirectory(to));
}

Status symlinkAtomically(const std::string& target,
                         const std::string& linkPath) {
  std::string tmp = tempNameFor(linkPath);
  if (::symlink(target.c_str(), tmp.c_str()) < 0) {
    return systemError("create symlink", tmp, errno);
  }
  if (::rename(tmp.c_str(), linkPath.c_str()) < 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return systemError("rename '" + tmp + "' to", linkPath, err);
  }
  return fsyncDirectory(parentDirectory(linkPath));
}

Status removeIfExists(const std::string& path) {
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
    return systemError("remove", path, errno);
  }
  return okStatus();
}

Status removeTreeIfExists(const std::string& path) {
  boost::system::error_code ec;
  boost::filesystem::remove_all(path, ec);
  if (ec) return Error("Failed to remove '" + path + "': " + ec.message());
  return okStatus();
}

Status copyFile(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return systemError("open", from, errno);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return systemError("create", to, err);
  }
  Status status;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = systemError("read", from, errno);
      break;
    }
    if (n == 0) break;
    status = writeAll(out, std::string_view(buf, static_cast<std::size_t>(n)), to);
    if (!status) break;
  }
  if (status && ::fsync(out) < 0) status = systemError("fsync", to, errno);
  if (::close(out) < 0 && status) status = systemError("close", to, errno);
  ::close(in);
  if (!status) ::unlink(to.c_str());
  return status;
}

Status removeStaleTempFiles(const std::string& path) {
  const std::string prefix = tempPrefixFor(path);
  // Earlier versions gave a hidden NAME two dots ("..NAME.upgrader-tmp-").
  const std::string legacy = "." + baseName(path) + ".upgrader-tmp-";
  std::string dir = parentDirectory(path);
  boost::system::error_code ec;
  for (boost::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(prefix) && !name.starts_with(legacy)) continue;
    if (auto st = removeIfExists(it->path().string()); !st) return st;
  }
  if (ec) return Error("Failed to list '" + dir + "': " + ec.message());
  return okStatus();
}

Status ensureDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    // A new directory must itself be durable, or a power loss could take
    // the first file in it along.
    return fsyncDirectory(parentDirectory(dir));
  }
  if (errno != EEXIST) return systemError("create directory", dir, errno);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return systemError("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) {
    return Error("Failed to create directory '" + dir +
                 "': something else has its name");
  }
  return okStatus();
}

Status checkOnlyTrustedCanWrite(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return systemError("resolve", path, errno);
  std::string real = resolved;
  std::free(resolved);
  const uid_t us = ::geteuid();
  for (std::string p = real;; p = parentDirectory(p)) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return systemError("stat", p, errno);
    if (st.st_uid != 0 && st.st_uid != us) {
      return Error("'" + p + "' is owned by uid " + std::to_string(st.st_uid));
    }
    bool sticky = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0;
    if (!sticky && (st.st_mode & S_IWOTH) != 0) {
      return Error("'" + p + "' is writable by everyone");
    }
    if (!sticky && (st.st_mode & S_IWGRP) != 0) {
      return Error("'" + p + "' is writable by its group");
    }
    if (p == "/") return okStatus();
  }
}

bool pathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Result<FreeSpace> freeSpaceIn(const std::string& dir) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) {
    return systemError("read the free space of", dir, errno);
  }
  constexpr std::uint64_t kMaxMargin = 64ull << 20;
  const std::uint64_t unit = vfs.f_frsize != 0 ? vfs.f_frsize : vfs.f_bsize;
  // Saturating: a file system reporting absurd counts must not wrap.
  auto times = [](std::uint64_t a, std::uint64_t b) {
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
  };
  FreeSpace space;
  space.dir = dir;
  space.available = times(vfs.f_bavail, unit);
  space.margin = std::min(kMaxMargin, times(vfs.f_blocks, unit) / 20);
  space.usable =
      space.available > space.margin ? space.available - space.margin : 0;
  return space;
}

std::string describe(const FreeSpace& space) {
  auto mib = [](std::uint64_t bytes) {
    return std::to_string(bytes >> 20) + " MiB";
  };
  return "the file system of '" + space.dir + "' has " +
         mib(space.available) + " free, of which " + mib(space.margin) +
         " stay free";
}

namespace {

// Closes a file descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// "1 MiB", "4 KiB", "300 bytes".
std::string sizeInWords(std::size_t bytes) {
  if (bytes != 0 && bytes % (1024 * 1024) == 0) {
    return std::to_string(bytes / (1024 * 1024)) + " MiB";
  }
  if (bytes != 0 && bytes % 1024 == 0) {
    return std::to_string(bytes / 1024) + " KiB";
  }
  return std::to_string(bytes) + " bytes";
}

}  // namespace

Result<std::string> readTrustedFile(const std::string& path,
                                    std::size_t maxBytes,
                                    const std::string& consequence) {
  auto refuse = [&](const std::string& why) {
    return Error("refusing to use '" + path + "': " + why);
  };
  // O_NONBLOCK: a FIFO in place of the file must not hang the service's
  // upgrade in open(); it is refused just below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return Error("cannot read '" + path + "': " + std::strerror(errno));
  }
  FdCloser closer(fd);
  // fstat() of the open file, not stat() of the path: the checks must be
  // about the very file that is read.
  struct stat st {};
  if (::fstat(fd, &st) < 0) {
    return Error("cannot read '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return refuse("not a regular file");
  // Whoever can change the file, or a directory above it, decides what
  // root does.
  if (Status trusted = checkOnlyTrustedCanWrite(path); !trusted) {
    return refuse(trusted.error().message() + ", so others could " +
                  consequence);
  }
  std::string text;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error("cannot read '" + path + "': " + std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > maxBytes) {
      return refuse("larger than " + sizeInWords(maxBytes));
    }
  }
  return text;
}

}  // namespace upgrader
