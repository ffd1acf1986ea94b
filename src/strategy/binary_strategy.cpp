// Mode=binary: one executable at Path=, the previous one kept as Path.old
// (see file_slot.hpp for the swap). A release is a file at URL=, or one
// member of an archive there, verified by its SHA-256 before anything on
// this machine changes. A release in place is identified by the SHA-256 of
// the executable.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <tuple>

#include "common/file_util.hpp"
#include "fetch/archive.hpp"
#include "fetch/sha256.hpp"
#include "strategy/file_slot.hpp"
#include "strategy/release_download.hpp"
#include "strategy/strategies.hpp"

namespace upgrader {

namespace {

class BinaryStrategy final : public FileSlotStrategy {
 public:
  BinaryStrategy(const Plan& plan, Fetcher& fetcher)
      : FileSlotStrategy(FileSlot(
            plan.install.path,
            [this](const std::string& path) { return idOf(path); })),
        source_(plan.source),
        download_(plan.source, plan.trust, fetcher) {}

  Result<std::string> currentId() const override {
    // Replacing a symlink by a file would change what it means; its owner
    // and mode are not the executable's either.
    struct stat st {};
    if (::lstat(slot_.path().c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return Error("'" + slot_.path() +
                   "' is a symbolic link; Mode=binary replaces a file: set "
                   "Path= to the file it names, or use Mode=symlink");
    }
    return slot_.currentId();
  }

  Result<Offer> resolve() override {
    auto release = download_.resolve();
    if (!release) return release.error();
    return Offer{release->version.str(), true};
  }

  std::string recognise(const std::string& id) const override {
    // The listing's digests are of the archives, not of the executable.
    if (isArchiveRelease(source_)) return "";
    return download_.versionWithDigest(id);
  }

  Result<Staged> acquire(const ProgressFn& progress) override {
    // The staged file is checked once and swapped in later: whoever can
    // write the directory could replace it in between.
    if (auto st = checkOnlyTrustedCanWrite(slot_.directory()); !st) {
      return st.error().withContext("Refusing to install into '" +
                                    slot_.directory() + "'");
    }
    // Downloaded into the directory of Path=: putting it in place is then
    // a rename on one file system.
    auto fetched = download_.fetchVerified(slot_.directory(), progress);
    if (!fetched) return fetched.error();
    auto staged = stage(*fetched, download_.release());
    if (!staged) return staged.error();
    return Staged{*staged, download_.evidence(*fetched) + ", staged at '" +
                               slot_.stagedPath() + "'"};
  }

  Result<Staged> adopt(const ReleaseRef& fetched) override {
    if (auto st = checkOnlyTrustedCanWrite(slot_.directory()); !st) {
      return st.error().withContext("Refusing to install into '" +
                                    slot_.directory() + "'");
    }
    const std::string& staged = slot_.stagedPath();
    // Read again in full: what a fetch verified is trusted only if the
    // bytes are still the same.
    auto digest = sha256OfFile(staged);
    if (!digest) return digest.error();
    if (digest->hex() != fetched.id) {
      return Error("'" + staged + "' no longer holds release " +
                   fetched.version + " as it was fetched (sha256 " +
                   fetched.id + ", now " + digest->hex() + ")");
    }
    // A raw release is the download itself: it must still be what the
    // listing, just fetched and verified again, names. (An archive's
    // member has no digest of its own there.)
    const Release& release = download_.release();
    if (!isArchiveRelease(source_) &&
        (!release.expected || release.expected->hex() != fetched.id)) {
      return Error("the release fetched ahead (sha256 " + fetched.id +
                   ") is no longer the one '" + release.url +
                   "' is listed with");
    }
    remember(staged, fetched.id);
    if (auto st = takeOwnerAndMode(); !st) return st.error();
    return Staged{{fetched.version, fetched.id},
                  "sha256 " + fetched.id + " read again" +
                      (isArchiveRelease(source_) ? "" : ", as listed now") +
                      ", staged at '" + staged + "'"};
  }

  Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) override {
    if (auto st = slot_.stageOld(previous); !st) return st.error();
    if (auto st = takeOwnerAndMode(); !st) return failStaging(st.error());
    return previous;
  }

  // The staged file goes in every case but one, a release fetched ahead;
  // the rollback point is PATH.old, which an attempt never touches.
  Status discard(const ReleaseRef& to, Discard what) override {
    bool fetched = what == Discard::kLeftovers && !to.id.empty();
    if (auto st = slot_.removeLeftovers(fetched); !st) return st;
    return download_.removeStalePartialDownloads(slot_.directory());
  }

  Status quiesce(const ReleaseRef&) override { return okStatus(); }

  Status prune(const ReleaseRef&, const ReleaseRef&) override {
    return slot_.removeLeftovers();
  }

  Environment hookEnvironment(const ReleaseRef&,
                              const ReleaseRef&) const override {
    return {{"UPGRADER_PATH", slot_.path()},
            {"UPGRADER_STAGED_PATH", slot_.stagedPath()},
            {"UPGRADER_OLD_PATH", slot_.oldPath()}};
  }

  std::string preflightCommand(const std::string& configured,
                               const ReleaseRef&) const override {
    return replacePlaceholder(configured, "@path", slot_.stagedPath());
  }

 private:
  // Turns a verified download into the staged file: the member extracted if
  // it is an archive, owner and mode of the current executable, fsynced.
  // Consumes `fetched`; on failure nothing staged is left behind.
  Result<ReleaseRef> stage(const FetchedFile& fetched, const Release& release) {
    const std::string& staged = slot_.stagedPath();
    // A staged file left by an abandoned run is never trusted.
    if (auto st = removeIfExists(staged); !st) {
      (void)removeIfExists(fetched.path);
      return st.error();
    }
    bool archive = isArchiveRelease(source_);
    if (archive) {
      auto st = extractMember(fetched.path, source_.member, staged,
                              source_.maxUnpackedSize);
      (void)removeIfExists(fetched.path);
      // The archive's own name is a temp file, gone by now: say which
      // release it was.
      if (!st) {
        return st.error().withContext("Failed to unpack release " +
                                      release.version.str() + " from '" +
                                      release.url + "'");
      }
    } else if (::rename(fetched.path.c_str(), staged.c_str()) != 0) {
      int err = errno;
      (void)removeIfExists(fetched.path);
      return systemError("rename", fetched.path, err);
    }
    if (auto st = takeOwnerAndMode(); !st) return failStaging(st.error());
    // A raw release is the verified download itself: its digest is known.
    if (!archive) remember(staged, fetched.digest.hex());
    auto id = idOf(staged);
    if (!id) return failStaging(id.error());
    return ReleaseRef{release.version.str(), *id};
  }

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

  Error failStaging(const Error& error) {
    (void)removeIfExists(slot_.stagedPath());
    return error.withContext("Failed to stage '" + slot_.stagedPath() + "'");
  }

  // The staged file gets what the current executable has, so the service's
  // User= can run it exactly as before; a first install gets 0755 root.
  Status takeOwnerAndMode() {
    const std::string& staged = slot_.stagedPath();
    struct stat st {};
    mode_t mode = 0755;
    uid_t uid = 0;
    gid_t gid = 0;
    if (::lstat(slot_.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      mode = st.st_mode & 07777;
      uid = st.st_uid;
      gid = st.st_gid;
    }
    int fd = ::open(staged.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return systemError("open", staged, errno);
    Status result;
    if (::fchown(fd, uid, gid) != 0) {
      result = systemError("chown", staged, errno);
    } else if (::fchmod(fd, mode) != 0) {
      result = systemError("chmod", staged, errno);
    } else if (::fsync(fd) != 0) {
      result = systemError("fsync", staged, errno);
    }
    ::close(fd);
    if (!result) return result;
    return fsyncDirectory(slot_.directory());
  }

  const SourceConfig& source_;
  ReleaseDownload download_;
  mutable std::map<Stamp, std::string> hashed_;
};

}  // namespace

std::unique_ptr<Strategy> makeBinaryStrategy(const Plan& plan,
                                             Fetcher& fetcher) {
  return std::make_unique<BinaryStrategy>(plan, fetcher);
}

}  // namespace upgrader
