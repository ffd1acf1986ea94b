// Mode=symlink: one directory per release under ReleasesDirectory=, and a
// `current` symlink at Path= naming the one in service.
//
// A release directory appears only by renaming a complete, fsynced staging
// directory, and the link is replaced by renaming a new link over it, so
// `current` always names a complete release, old or new. The previous
// release stays where it is: reverting is flipping the link back. A
// release in place is identified by the directory the link names.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/filesystem.hpp>
#include <cerrno>
#include <set>
#include <vector>

#include "common/file_util.hpp"
#include "fetch/archive.hpp"
#include "fetch/version.hpp"
#include "strategy/release_download.hpp"
#include "strategy/strategies.hpp"

namespace upgrader {

namespace fs = boost::filesystem;

namespace {

constexpr std::string_view kStagingSuffix = ".upgrader-staging";
constexpr std::string_view kRemovingSuffix = ".upgrader-removing";
constexpr std::string_view kReplacedSuffix = ".upgrader-replaced";

// Without exceptions: a vanished or unreadable entry is simply not one.
bool isDirectory(const std::string& path) {
  boost::system::error_code ec;
  return fs::is_directory(path, ec);
}

class SymlinkStrategy final : public Strategy {
 public:
  SymlinkStrategy(const Plan& plan, Fetcher& fetcher)
      : source_(plan.source),
        download_(plan.source, plan.trust, fetcher),
        link_(plan.install.path),
        releases_(plan.install.releasesDirectory),
        keep_(plan.install.keepReleases) {}

  std::string place() const override { return "'" + link_ + "'"; }

  Result<std::string> currentId() const override {
    char buf[4096];
    ssize_t n = ::readlink(link_.c_str(), buf, sizeof buf - 1);
    if (n < 0) return systemError("read symlink", link_, errno);
    std::string target(buf, static_cast<std::size_t>(n));
    if (target.empty() || target[0] != '/') {
      target = parentDirectory(link_) + "/" + target;
    }
    return fs::path(target).lexically_normal().string();
  }

  Result<Offer> resolve() override {
    auto release = download_.resolve();
    if (!release) return release.error();
    return Offer{release->version.str(), true};
  }

  // A release directory is named after its version.
  std::string recognise(const std::string& id) const override {
    std::string name = baseName(id);
    return isValidVersion(name) ? name : "";
  }

  Result<Staged> acquire(const ProgressFn& progress) override {
    // A release is checked once and flipped to later: whoever can write
    // these directories could change it in between.
    for (const auto& dir : {releases_, parentDirectory(link_)}) {
      if (auto st = checkOnlyTrustedCanWrite(dir); !st) {
        return st.error().withContext("Refusing to install into '" + dir + "'");
      }
    }
    // A rollback flips `current` back to where it points now: that must be
    // a release directory of ours, or the way back would lead elsewhere.
    if (auto current = currentId(); current) {
      if (auto own = ownRelease(*current); !own) {
        return own.error().withContext("Refusing to install: '" + link_ +
                                       "' points to '" + *current +
                                       "'; move that release into '" +
                                       releases_ + "' first");
      }
    }
    // Downloaded into the releases directory: the release directory is
    // then made by renames on one file system.
    auto fetched = download_.fetchVerified(releases_, progress);
    if (!fetched) return fetched.error();
    auto staged = stage(*fetched, download_.release());
    if (!staged) return staged.error();
    return Staged{*staged, download_.evidence(*fetched) + ", staged at '" +
                               staged->id + "'"};
  }

  // A release directory appears under its own name only when complete
  // (stage()); in directories only root can write, it is what was verified
  // when it was fetched, and it must be the release the listing, fetched
  // and verified again just now, offers.
  Result<Staged> adopt(const ReleaseRef& fetched) override {
    for (const auto& dir : {releases_, parentDirectory(link_)}) {
      if (auto st = checkOnlyTrustedCanWrite(dir); !st) {
        return st.error().withContext("Refusing to install into '" + dir + "'");
      }
    }
    auto own = ownRelease(fetched.id);
    if (!own) return own.error();
    const std::string& version = download_.release().version.str();
    if (*own != releaseDir(version) || fetched.version != version) {
      return Error("the release fetched ahead (" + fetched.version +
                   ") is not the one offered now (" + version + ")");
    }
    if (!isDirectory(*own)) {
      return Error("release " + version + " fetched ahead is no longer at '" +
                   *own + "'");
    }
    auto current = currentId();
    if (current && *current == *own) {
      return Error("release " + version + " fetched ahead is in service");
    }
    return Staged{{version, *own}, "release directory '" + *own + "'"};
  }

  Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) override {
    if (auto own = ownRelease(previous.id); !own) return own.error();
    if (!isDirectory(previous.id)) {
      return Error("the previous release " + previous.version +
                   " is no longer at '" + previous.id + "'");
    }
    return previous;
  }

  // The release directory is already in place; the flip is all there is.
  Status prepareSwap(const ReleaseRef&) override { return okStatus(); }

  Status swap(const ReleaseRef&, const ReleaseRef& to) override {
    if (auto own = ownRelease(to.id); !own) return own.error();
    if (!isDirectory(to.id)) {
      return Error("the staged release '" + to.id + "' is missing");
    }
    auto current = currentId();
    if (current && *current == to.id) return okStatus();
    return symlinkAtomically(to.id, link_);
  }

  Status canRevert(const ReleaseRef& from) const override {
    // From the state file: `current` is only ever pointed at a release
    // directory of ours, whatever the file says.
    if (auto own = ownRelease(from.id); !own) return own.error();
    if (!isDirectory(from.id)) {
      return Error("cannot restore " + from.version + ": '" + from.id +
                   "' is gone");
    }
    return okStatus();
  }

  // The release taken out keeps its directory; discard() or pruning
  // decides when it goes.
  Status revert(const ReleaseRef& from) override {
    auto current = currentId();
    if (current && *current == from.id) return okStatus();
    if (auto st = canRevert(from); !st) return st;
    return symlinkAtomically(from.id, link_);
  }

  // A release directory goes only when it failed and is not in service;
  // a rollback point keeps its directory (pruning decides when it goes).
  Status discard(const ReleaseRef& to, Discard what) override {
    if (auto st = removeStaleTempFiles(link_); !st) return st;
    if (auto st = removeStagingDirectories(); !st) return st;
    if (auto st = download_.removeStalePartialDownloads(releases_); !st) {
      return st;
    }
    // A directory this attempt set aside goes back, whatever `what` says:
    // the release staged over it goes with that. Unless that is a release
    // fetched ahead: it stays, and the copy it replaced goes.
    std::string fetched =
        what == Discard::kLeftovers && !to.id.empty() ? baseName(to.id) : "";
    if (auto st = settleSetAside(fetched); !st) return st;
    if (what != Discard::kRelease || to.id.empty()) return okStatus();
    auto current = currentId();
    if (current && *current == to.id) return okStatus();
    // The id comes from the state file: only a directory of ours goes, and
    // it is removed by the name this strategy gives it, never by the path
    // as written there.
    auto own = ownRelease(to.id);
    if (!own) return own.error().withContext("refusing to remove '" + to.id + "'");
    if (restored_.contains(*own)) return okStatus();
    return removeRelease(*own);
  }

  Status quiesce(const ReleaseRef&) override { return okStatus(); }

  Status prune(const ReleaseRef& installed,
               const ReleaseRef& previous) override {
    if (auto st = removeStagingDirectories(); !st) return st;
    if (auto st = settleSetAside(); !st) return st;
    std::vector<std::string> versions;
    boost::system::error_code ec;
    for (fs::directory_iterator it(releases_, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.' || !isDirectory(it->path().string())) {
        continue;
      }
      versions.push_back(name);
    }
    if (ec) return Error("Failed to list '" + releases_ + "': " + ec.message());
    // Newest first; the newest KeepReleases= stay, and so do the releases
    // in service and the rollback point, whatever their age.
    std::sort(
        versions.begin(), versions.end(),
        [](const auto& a, const auto& b) { return compareVersions(a, b) > 0; });
    for (std::size_t i = keep_; i < versions.size(); ++i) {
      std::string dir = releaseDir(versions[i]);
      if (dir == installed.id || dir == previous.id) continue;
      if (auto st = removeRelease(dir); !st) return st;
    }
    return okStatus();
  }

  Environment hookEnvironment(const ReleaseRef& from,
                              const ReleaseRef& to) const override {
    return {{"UPGRADER_PATH", link_},
            {"UPGRADER_STAGED_PATH", to.id},
            {"UPGRADER_OLD_PATH", from.id}};
  }

  std::string preflightCommand(const std::string& configured,
                               const ReleaseRef& staged) const override {
    return replacePlaceholder(configured, "@path", staged.id);
  }

 private:
  // Turns a verified download into the release directory
  // ReleasesDirectory=/VERSION: extracted (or the file placed) in a staging
  // directory, fsynced, then renamed into place. Consumes `fetched`; on
  // failure nothing staged is left behind.
  Result<ReleaseRef> stage(const FetchedFile& fetched, const Release& release) {
    const std::string& version = release.version.str();
    std::string staging =
        releases_ + "/." + version + std::string(kStagingSuffix);
    std::string final = releaseDir(version);
    auto fail = [&](const Error& e) -> Error {
      (void)removeIfExists(fetched.path);
      (void)removeTreeIfExists(staging);
      return e.withContext("Failed to stage release " + version + " from '" +
                           release.url + "' in '" + staging + "'");
    };
    auto current = currentId();
    if (current && *current == final) {
      return fail(Error("it is the release in service"));
    }
    if (auto st = removeTreeIfExists(staging); !st) return fail(st.error());
    // chmod too: mkdir's mode is cut by the umask (027 on hardened hosts),
    // and the service's User= must be able to enter its release.
    if (::mkdir(staging.c_str(), 0755) != 0) {
      return fail(systemError("create directory", staging, errno));
    }
    if (::chmod(staging.c_str(), 0755) != 0) {
      return fail(systemError("chmod", staging, errno));
    }
    if (isArchiveRelease(source_)) {
      if (auto st = extractTree(fetched.path, source_.member, staging,
                                source_.maxUnpackedSize);
          !st) {
        return fail(st.error());
      }
      (void)removeIfExists(fetched.path);
    } else {
      std::string file = staging + "/" + release.fileName;
      if (::rename(fetched.path.c_str(), file.c_str()) != 0) {
        return fail(systemError("rename", fetched.path, errno));
      }
      if (::chmod(file.c_str(), 0755) != 0) {
        return fail(systemError("chmod", file, errno));
      }
    }
    if (auto st = fsyncDirectory(staging); !st) return fail(st.error());
    // A directory of that version not in service (a release KeepReleases=
    // kept, or the rollback point when going back to its version) is not
    // replaced but set aside, whole, under ".VERSION.upgrader-replaced":
    // an attempt that does not commit puts it back as it was (discard),
    // the commit drops it (prune). Between the two renames the version has
    // no directory, and nothing in service names it.
    if (isDirectory(final)) {
      std::string aside = setAsideName(version);
      if (isDirectory(aside)) {
        return fail(Error("'" + aside + "' still holds release " + version +
                          " as an earlier run set it aside"));
      }
      if (auto st = renameDurably(final, aside); !st) return fail(st.error());
    } else if (auto st = removeIfExists(final); !st) {
      return fail(st.error());
    }
    if (auto st = renameDurably(staging, final); !st) {
      Error e = fail(st.error());
      (void)settleSetAside();
      return e;
    }
    return ReleaseRef{version, final};
  }

  std::string setAsideName(const std::string& version) const {
    return releases_ + "/." + version + std::string(kReplacedSuffix);
  }

  // Every release directory stage() set aside is settled: dropped when its
  // version is in service (the attempt committed; prune, or a commit
  // killed before it pruned), put back under its own name otherwise (the
  // attempt failed or was killed; what was staged over it goes), or when
  // it is `fetchedVersion`, staged over it by a fetch that kept it.
  // Records what it put back, which discard() then does not remove.
  Status settleSetAside(const std::string& fetchedVersion = "") {
    std::vector<std::string> versions;
    boost::system::error_code ec;
    for (fs::directory_iterator it(releases_, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.size() <= kReplacedSuffix.size() + 1 || name[0] != '.' ||
          !name.ends_with(kReplacedSuffix)) {
        continue;
      }
      std::string version =
          name.substr(1, name.size() - 1 - kReplacedSuffix.size());
      if (isValidVersion(version)) versions.push_back(version);
    }
    if (ec) return Error("Failed to list '" + releases_ + "': " + ec.message());
    auto current = currentId();
    for (const auto& version : versions) {
      std::string final = releaseDir(version);
      std::string aside = setAsideName(version);
      if ((current && *current == final) || version == fetchedVersion) {
        if (auto st = removeRelease(aside); !st) return st;
        continue;
      }
      if (auto st = removeRelease(final); !st) return st;
      if (auto st = renameDurably(aside, final); !st) return st;
      restored_.insert(final);
    }
    return okStatus();
  }

  std::string releaseDir(const std::string& version) const {
    return fs::path(releases_ + "/" + version).lexically_normal().string();
  }

  // `id` (from the state file or the link) when it is exactly a release
  // directory of ours, ReleasesDirectory=/VERSION. Compared as written: a
  // lexically clean-looking "releases/link/../x" is somewhere else
  // entirely to the kernel when "link" is a symlink.
  Result<std::string> ownRelease(const std::string& id) const {
    std::string name = fs::path(id).lexically_normal().filename().string();
    if (!isValidVersion(name) || id != releaseDir(name)) {
      return Error("'" + id + "' is not a release directory in '" +
                   releases_ + "'");
    }
    return releaseDir(name);
  }

  // Removes a release directory so that no run killed half-way leaves a
  // half-deleted tree under the release's own name, where it would pass
  // for that release: it is renamed out of the way first (one atomic
  // step), and what is left of it is removed, by this run or the next.
  Status removeRelease(const std::string& dir) {
    if (!isDirectory(dir)) return removeIfExists(dir);
    std::string name = baseName(dir);
    if (name.starts_with('.')) name.erase(0, 1);  // a directory set aside
    std::string doomed = releases_ + "/." + name + std::string(kRemovingSuffix);
    if (auto st = removeTreeIfExists(doomed); !st) return st;
    if (auto st = renameDurably(dir, doomed); !st) return st;
    return removeTreeIfExists(doomed);
  }

  // Staging directories and releases half removed by a killed run.
  Status removeStagingDirectories() {
    boost::system::error_code ec;
    for (fs::directory_iterator it(releases_, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::string name = it->path().filename().string();
      bool leftover = name.ends_with(kStagingSuffix) ||
                      name.ends_with(kRemovingSuffix);
      if (name.size() > kStagingSuffix.size() && name[0] == '.' && leftover) {
        if (auto st = removeTreeIfExists(it->path().string()); !st) return st;
      }
    }
    if (ec) return Error("Failed to list '" + releases_ + "': " + ec.message());
    return okStatus();
  }

  const SourceConfig& source_;
  ReleaseDownload download_;
  std::string link_;
  std::string releases_;
  unsigned keep_;
  // Release directories settleSetAside() put back in this run.
  std::set<std::string> restored_;
};

}  // namespace

std::unique_ptr<Strategy> makeSymlinkStrategy(const Plan& plan,
                                              Fetcher& fetcher) {
  return std::make_unique<SymlinkStrategy>(plan, fetcher);
}

}  // namespace upgrader
