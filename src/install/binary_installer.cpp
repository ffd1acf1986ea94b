// Mode=binary: one executable at Path=, the previous one kept as Path.old.
//
// The swap is two atomic steps, so that the path always names a complete
// executable, old or new, and never nothing:
//   1. hard-link PATH to PATH.old (a temp name renamed over PATH.old);
//   2. rename the staged file over PATH, then fsync the directory.
// A process running the old executable keeps its inode: no ETXTBSY, and it
// is never overwritten in place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <cerrno>
#include <map>
#include <tuple>

#include "common/file_util.hpp"
#include "fetch/archive.hpp"
#include "fetch/sha256.hpp"
#include "install/installer.hpp"
#include "install/installers.hpp"
#include "upgrade/fault_injection.hpp"

namespace upgrader {

namespace {

class BinaryInstaller final : public Installer {
 public:
  explicit BinaryInstaller(const Plan& plan)
      : source_(plan.source),
        path_(plan.install.path),
        dir_(parentDirectory(path_)),
        old_(path_ + ".old"),
        staged_(dir_ + "/." + baseName(path_) + ".upgrader-staged") {}

  std::string downloadDirectory() const override { return dir_; }

  Result<std::string> currentId() const override { return idOf(path_); }

  Result<ReleaseRef> stage(const FetchedFile& fetched,
                           const Release& release) override {
    // A staged file left by an abandoned run is never trusted.
    if (auto st = removeIfExists(staged_); !st) {
      (void)removeIfExists(fetched.path);
      return st.error();
    }
    bool archive = isArchiveRelease(source_);
    if (archive) {
      auto st = extractMember(fetched.path, source_.member, staged_);
      (void)removeIfExists(fetched.path);
      if (!st) return st.error();
    } else if (::rename(fetched.path.c_str(), staged_.c_str()) != 0) {
      int err = errno;
      (void)removeIfExists(fetched.path);
      return systemError("rename", fetched.path, err);
    }
    if (auto st = takeOwnerAndMode(); !st) return failStaging(st.error());
    // A raw release is the verified download itself: its digest is known.
    if (!archive) remember(staged_, fetched.digest.hex());
    auto id = idOf(staged_);
    if (!id) return failStaging(id.error());
    return ReleaseRef{release.version.str(), *id};
  }

  Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) override {
    auto oldId = idOf(old_);
    if (!oldId || *oldId != previous.id) {
      return Error("the previous release " + previous.version + " is no longer at '" +
                   old_ + "'");
    }
    if (auto st = removeIfExists(staged_); !st) return st.error();
    if (auto st = copyFile(old_, staged_); !st) return failStaging(st.error());
    if (auto st = takeOwnerAndMode(); !st) return failStaging(st.error());
    return previous;
  }

  std::string stagedPath(const ReleaseRef&) const override { return staged_; }

  std::string previousPath(const ReleaseRef&) const override { return old_; }

  Status prepareSwap(const ReleaseRef& from) override {
    auto current = idOf(path_);
    if (!current || *current != from.id) return okStatus();  // swap() decides
    return hardLinkAtomically(path_, old_);
  }

  Status swap(const ReleaseRef& from, const ReleaseRef& to) override {
    auto current = idOf(path_);
    if (current && *current == to.id) {
      // Already swapped (a repeated swap after a crash): drop the copy.
      return removeIfExists(staged_);
    }
    if (!pathExists(staged_)) {
      return Error("the staged release '" + staged_ + "' is missing");
    }
    if (current) {
      if (*current != from.id) {
        return Error("'" + path_ + "' is neither the release to replace (" +
                     from.version + ") nor the new one (" + to.version +
                     "); refusing to overwrite it");
      }
      if (auto st = hardLinkAtomically(path_, old_); !st) return st;
      faultPoint("swap-kept-old");
    }
    return renameDurably(staged_, path_);
  }

  Status canRevert(const ReleaseRef& from) const override {
    auto current = idOf(path_);
    if (current && *current == from.id) return okStatus();
    auto old = idOf(old_);
    if (old && *old == from.id) return okStatus();
    return Error("cannot restore " + from.version + ": neither '" + path_ +
                 "' nor '" + old_ + "' holds it (sha256 " + from.id + ")");
  }

  Status revert(const ReleaseRef& from, bool keepLeft) override {
    auto current = idOf(path_);
    if (current && *current == from.id) return okStatus();
    if (auto st = canRevert(from); !st) return st;
    // Either way PATH names a complete executable at every instant. An
    // exchange keeps the release taken out as PATH.old; a link leaves
    // PATH.old a second copy of the restored one, so `mv PATH.old PATH`
    // from a vendor's runbook can never bring back a release that failed.
    if (keepLeft) {
      if (auto st = exchangePaths(path_, old_); !st) {
        return st.error().withContext("Failed to restore " + from.version);
      }
      return okStatus();
    }
    return hardLinkAtomically(old_, path_);
  }

  Status discard(const ReleaseRef&) override {
    if (auto st = removeIfExists(staged_); !st) return st;
    if (auto st = removeStaleTempFiles(path_); !st) return st;
    if (auto st = removeStaleTempFiles(old_); !st) return st;
    return removeStalePartialDownloads(dir_, source_);
  }

  Status prune(const ReleaseRef&, const ReleaseRef&) override {
    return removeIfExists(staged_);
  }

 private:
  // The digest of the file at `path`. The swap and the revert run while
  // the service is down, so a file already hashed in this run is not read
  // again: the same inode, size and mtime mean the same content here (the
  // path, PATH.old and the staged file are links to a few inodes, and
  // nothing writes them in place).
  Result<std::string> idOf(const std::string& path) const {
    auto stamp = stampOf(path);
    if (!stamp) return stamp.error();
    if (auto it = hashed_.find(*stamp); it != hashed_.end()) return it->second;
    auto digest = sha256OfFile(path);
    if (!digest) return digest.error();
    hashed_[*stamp] = digest->hex();
    return digest->hex();
  }

  void remember(const std::string& path, const std::string& id) const {
    if (auto stamp = stampOf(path)) hashed_[*stamp] = id;
  }

  using Stamp = std::tuple<dev_t, ino_t, off_t, time_t, long>;
  static Result<Stamp> stampOf(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return systemError("stat", path, errno);
    return Stamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                 st.st_mtim.tv_nsec};
  }
  mutable std::map<Stamp, std::string> hashed_;

  Error failStaging(const Error& error) {
    (void)removeIfExists(staged_);
    return error.withContext("Failed to stage '" + staged_ + "'");
  }

  // The staged file gets what the current executable has, so the service's
  // User= can run it exactly as before; a first install gets 0755 root.
  Status takeOwnerAndMode() {
    struct stat st {};
    mode_t mode = 0755;
    uid_t uid = 0;
    gid_t gid = 0;
    if (::stat(path_.c_str(), &st) == 0) {
      mode = st.st_mode & 07777;
      uid = st.st_uid;
      gid = st.st_gid;
    }
    int fd = ::open(staged_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return systemError("open", staged_, errno);
    Status result;
    if (::fchown(fd, uid, gid) != 0) {
      result = systemError("chown", staged_, errno);
    } else if (::fchmod(fd, mode) != 0) {
      result = systemError("chmod", staged_, errno);
    } else if (::fsync(fd) != 0) {
      result = systemError("fsync", staged_, errno);
    }
    ::close(fd);
    if (!result) return result;
    return fsyncDirectory(dir_);
  }

  const SourceConfig& source_;
  std::string path_;
  std::string dir_;
  std::string old_;
  std::string staged_;
};

}  // namespace

std::unique_ptr<Installer> makeBinaryInstaller(const Plan& plan) {
  return std::make_unique<BinaryInstaller>(plan);
}

}  // namespace upgrader
