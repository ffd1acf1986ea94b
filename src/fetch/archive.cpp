#include "fetch/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/filesystem.hpp>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "common/file_util.hpp"
#include "fetch/fetcher.hpp"

namespace upgrader {

namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = other.release();
    }
    return *this;
  }
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string archiveError(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

Result<ArchivePtr> openArchive(const std::string& path) {
  ArchivePtr a(archive_read_new());
  if (!a) return Error("Failed to open archive '" + path + "': out of memory");
  // Only the formats a release comes in. support_format_all would also
  // accept mtree, whose entries can name files on *this* machine to be read
  // as content, and raw/other exotic formats nobody ships releases in.
  archive_read_support_format_tar(a.get());
  archive_read_support_format_zip(a.get());
  for (auto add :
       {archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
        archive_read_support_filter_xz, archive_read_support_filter_lzma,
        archive_read_support_filter_zstd, archive_read_support_filter_lz4}) {
    add(a.get());  // ARCHIVE_WARN: would run an external program; fine
  }
  if (archive_read_open_filename(a.get(), path.c_str(), 64 * 1024) !=
      ARCHIVE_OK) {
    return Error("Failed to open archive '" + path +
                 "': " + archiveError(a.get()));
  }
  return a;
}

std::string_view stripDotSlash(std::string_view name) {
  while (name.substr(0, 2) == "./") name.remove_prefix(2);
  return name;
}

// A member name as compared: "./bin/" names the same entry as "bin".
std::string_view memberName(std::string_view name) {
  name = stripDotSlash(name);
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  return name;
}

std::string joinPath(const std::vector<std::string>& parts, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n && i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out;
}

// What an archive may still unpack to: a few KiB of compressed or sparse
// input can expand to more than the file system holds.
struct Budget {
  std::uint64_t bytes;
  std::uint64_t entries = 100000;
};

// What an extraction into `dir` may write: MaxUnpackedSize=, or less
// where the file system has less room (free space less a margin, see
// freeSpaceIn()): a release never fills the file system the service keeps
// its own data on. `why` ends "it unpacks to more than ...".
struct Limit {
  std::uint64_t bytes;
  std::string why;
};

Limit unpackLimit(const std::string& dir, std::uint64_t maxBytes) {
  Limit limit{maxBytes, "it unpacks to more than " + std::to_string(maxBytes) +
                            " bytes (MaxUnpackedSize=)"};
  auto space = freeSpaceIn(dir);
  if (space && space->usable < maxBytes) {
    limit = {space->usable,
             "it unpacks to more than fits: " + describe(*space)};
  }
  return limit;
}

Error tooLarge(const std::string& archivePath, const Limit& limit) {
  return Error("Refusing to extract '" + archivePath + "': " + limit.why);
}

// Copies the current entry's data to `fd`, within `budget`. Sparse holes
// come back as zeros from archive_read_data(), so the file is complete,
// not sparse, and holes count against the budget as what they become.
Status copyData(archive* a, archive_entry* entry, int fd, const std::string& path,
                const std::string& archivePath, Budget& budget,
                const Limit& limit) {
  // An announced size beyond the budget is refused before any byte.
  if (archive_entry_size_is_set(entry) != 0 && archive_entry_size(entry) > 0 &&
      static_cast<std::uint64_t>(archive_entry_size(entry)) > budget.bytes) {
    return tooLarge(archivePath, limit);
  }
  std::array<char, 128 * 1024> buf;
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) {
      return Error("Failed to read archive '" + archivePath +
                   "': " + archiveError(a));
    }
    if (n == 0) return okStatus();
    if (static_cast<std::uint64_t>(n) > budget.bytes) {
      return tooLarge(archivePath, limit);
    }
    budget.bytes -= static_cast<std::uint64_t>(n);
    std::size_t done = 0;
    while (done < static_cast<std::size_t>(n)) {
      ssize_t w =
          ::write(fd, buf.data() + done, static_cast<std::size_t>(n) - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        return systemError("write", path, errno);
      }
      done += static_cast<std::size_t>(w);
    }
  }
}

const char* typeName(mode_t type) {
  switch (type) {
    case AE_IFCHR:
      return "a character device";
    case AE_IFBLK:
      return "a block device";
    case AE_IFIFO:
      return "a FIFO";
    case AE_IFSOCK:
      return "a socket";
    default:
      return "of an unsupported type";
  }
}

// Writes the entries of one archive below a directory fd. Every path is
// created relative to a directory fd opened with O_NOFOLLOW, component by
// component, so no entry can be written through a symlink an earlier entry
// planted, whatever the names say.
class TreeWriter {
 public:
  TreeWriter(int rootFd, std::string destDir, std::string archivePath,
             std::vector<std::string> subtree, Limit limit)
      : rootFd_(rootFd),
        destDir_(std::move(destDir)),
        archivePath_(std::move(archivePath)),
        subtree_(std::move(subtree)),
        budget_{limit.bytes},
        limit_(std::move(limit)) {}

  Status run(archive* a) {
    for (;;) {
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(a, &entry);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) {
        return Error("Failed to read archive '" + archivePath_ +
                     "': " + archiveError(a));
      }
      if (Status s = extractEntry(a, entry); !s) return s;
    }
    return finish();
  }

  /// Makes every directory writable again so the tree can be removed.
  void unlockDirectories() {
    for (const auto& [path, mode] : dirs_) {
      // Best effort: the removal that follows says what it cannot remove.
      if (::fchmodat(rootFd_, path.c_str(), 0700, 0) != 0) continue;
    }
  }

 private:
  Error refuse(std::string_view name, const std::string& why) const {
    return Error("Refusing to extract '" + archivePath_ + "': entry '" +
                 std::string(name) + "' " + why);
  }

  // The components of an entry name, "./" and empty ones dropped. Checked
  // for every entry, extracted or not: an archive that tries to climb out
  // anywhere is not one to trust at all.
  Result<std::vector<std::string>> components(std::string_view name,
                                              std::string_view entryName) {
    if (!name.empty() && name.front() == '/') {
      return refuse(entryName, "has an absolute path");
    }
    std::vector<std::string> parts;
    while (!name.empty()) {
      auto slash = name.find('/');
      std::string_view part = name.substr(0, slash);
      name.remove_prefix(slash == std::string_view::npos ? name.size()
                                                         : slash + 1);
      if (part.empty() || part == ".") continue;
      if (part == "..") return refuse(entryName, "has a '..' component");
      parts.emplace_back(part);
    }
    return parts;
  }

  // The name relative to destDir, or nullopt if outside the subtree.
  std::optional<std::vector<std::string>> relativeToSubtree(
      const std::vector<std::string>& parts) const {
    if (parts.size() < subtree_.size() ||
        !std::equal(subtree_.begin(), subtree_.end(), parts.begin())) {
      return std::nullopt;
    }
    return std::vector<std::string>(parts.begin() + subtree_.size(),
                                    parts.end());
  }

  Status extractEntry(archive* a, archive_entry* entry) {
    const char* rawName = archive_entry_pathname(entry);
    if (rawName == nullptr) {
      return Error("Refusing to extract '" + archivePath_ +
                   "': an entry has a name that cannot be decoded");
    }
    std::string_view name = rawName;
    auto parts = components(name, name);
    if (!parts) return parts.error();
    const char* hardlink = archive_entry_hardlink(entry);
    std::optional<std::vector<std::string>> linkParts;
    if (hardlink != nullptr) {
      auto p = components(hardlink, name);
      if (!p) return p.error();
      linkParts = std::move(*p);
    }

    auto rel = relativeToSubtree(*parts);
    if (!rel) return okStatus();  // outside the subtree: skipped unread
    if (budget_.entries-- == 0) {
      return Error("Refusing to extract '" + archivePath_ +
                   "': it has more than 100000 entries");
    }
    mode_t type = archive_entry_filetype(entry);
    if (rel->empty()) {
      // The subtree's (or archive's) own directory entry: destDir is it.
      if (!subtree_.empty() && hardlink == nullptr && type != AE_IFDIR) {
        return refuse(name, "is the subtree but not a directory");
      }
      return okStatus();
    }
    mode_t perm = archive_entry_perm(entry);
    if ((perm & (S_ISUID | S_ISGID)) != 0) {
      return refuse(name, "has the setuid or setgid bit");
    }
    // Nothing a release installs is writable by anyone but its owner: a
    // group- or world-writable file run as root is anyone's to replace.
    perm &= 0755;
    std::string relPath = joinPath(*rel, rel->size());
    // Two entries for one name: which wins depends on the tool (tar keeps
    // the last); ambiguous content is refused, not guessed.
    if (type != AE_IFDIR && (files_.count(relPath) != 0 || dirs_.count(relPath) != 0 ||
                             links_.count(relPath) != 0)) {
      return refuse(name, "appears twice in the archive");
    }
    auto parent = openParent(*rel, name);
    if (!parent) return parent.error();
    const std::string& leaf = rel->back();
    std::string destPath = destDir_ + "/" + relPath;

    if (linkParts) {
      auto target = relativeToSubtree(*linkParts);
      std::string targetPath =
          target ? joinPath(*target, target->size()) : std::string();
      if (!target || files_.count(targetPath) == 0) {
        return refuse(name, "is a hard link to '" + std::string(hardlink) +
                                "', not a file extracted before it");
      }
      if (::linkat(rootFd_, targetPath.c_str(), parent->get(), leaf.c_str(),
                   0) < 0) {
        return systemError("link '" + destDir_ + "/" + targetPath + "' to",
                           destPath, errno);
      }
      files_.insert(relPath);
      return okStatus();
    }

    switch (type) {
      case AE_IFDIR: {
        if (::mkdirat(parent->get(), leaf.c_str(), 0700) < 0) {
          if (errno != EEXIST || dirs_.count(relPath) == 0) {
            return systemError("create directory", destPath, errno);
          }
        }
        // Applied at the end: a read-only directory would stop its own
        // entries from being written.
        dirs_[relPath] = perm & 0777;
        return okStatus();
      }
      case AE_IFREG: {
        UniqueFd fd(::openat(
            parent->get(), leaf.c_str(),
            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (fd.get() < 0) return systemError("create", destPath, errno);
        files_.insert(relPath);
        if (Status s = copyData(a, entry, fd.get(), destPath, archivePath_,
                                budget_, limit_);
            !s) {
          return s;
        }
        // fchmod, not the open() mode, so the umask does not change it.
        if (::fchmod(fd.get(), perm & 0777) < 0) {
          return systemError("set the mode of", destPath, errno);
        }
        if (::fsync(fd.get()) < 0) return systemError("fsync", destPath, errno);
        if (::close(fd.release()) < 0) {
          return systemError("close", destPath, errno);
        }
        return okStatus();
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(entry);
        if (target == nullptr || *target == '\0') {
          return refuse(name, "is a symlink without a target");
        }
        if (Status s = checkSymlinkTarget(name, target, rel->size() - 1); !s) {
          return s;
        }
        if (::symlinkat(target, parent->get(), leaf.c_str()) < 0) {
          return systemError("create symlink", destPath, errno);
        }
        links_.insert(relPath);
        return okStatus();
      }
      default:
        return refuse(name, std::string("is ") + typeName(type));
    }
  }

  // A relative target stays inside the tree if its ".." components all come
  // first and climb no higher than the link's own depth. A ".." after a
  // name is refused even when it looks harmless: that name may be another
  // symlink, and "s/.." then goes wherever s's parent is, not back here.
  // Names after the ".."s only descend, through real directories or
  // symlinks that passed this same check, so they stay inside too.
  Status checkSymlinkTarget(std::string_view name, std::string_view target,
                            std::size_t depth) const {
    const std::string quoted = "'" + std::string(target) + "'";
    if (target.front() == '/') {
      return refuse(name, "is a symlink to the absolute path " + quoted);
    }
    std::size_t ups = 0;
    bool sawName = false;
    while (!target.empty()) {
      auto slash = target.find('/');
      std::string_view part = target.substr(0, slash);
      target.remove_prefix(slash == std::string_view::npos ? target.size()
                                                           : slash + 1);
      if (part.empty() || part == ".") continue;
      if (part != "..") {
        sawName = true;
        continue;
      }
      if (sawName) {
        return refuse(name, "is a symlink to " + quoted +
                                ", which has '..' after a name");
      }
      if (++ups > depth) {
        return refuse(name, "is a symlink to " + quoted +
                                ", which leads outside the tree");
      }
    }
    return okStatus();
  }

  // Opens (creating as needed) the directory that will hold `rel`'s last
  // component, refusing to pass through a symlink or a non-directory.
  Result<UniqueFd> openParent(const std::vector<std::string>& rel,
                              std::string_view name) {
    UniqueFd fd(::fcntl(rootFd_, F_DUPFD_CLOEXEC, 0));
    if (fd.get() < 0) return systemError("duplicate fd of", destDir_, errno);
    for (std::size_t i = 0; i + 1 < rel.size(); ++i) {
      std::string prefix = joinPath(rel, i + 1);
      if (::mkdirat(fd.get(), rel[i].c_str(), 0700) == 0) {
        dirs_.emplace(prefix, 0755);  // implied by a deeper entry
      } else if (errno != EEXIST) {
        return systemError("create directory", destDir_ + "/" + prefix, errno);
      }
      UniqueFd next(::openat(fd.get(), rel[i].c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next.get() < 0) {
        if (errno == ELOOP || errno == ENOTDIR) {
          return refuse(name, "would be written through '" + prefix +
                                  "', which is not a directory");
        }
        return systemError("open directory", destDir_ + "/" + prefix, errno);
      }
      fd = std::move(next);
    }
    return fd;
  }

  // Deepest first (reverse order puts "a/b" before "a"), so a directory
  // that becomes read-only no longer needs to be entered afterwards. The
  // fsync makes both its entries and its mode durable.
  Status finish() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      std::string path = destDir_ + "/" + it->first;
      UniqueFd fd(::openat(rootFd_, it->first.c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0) return systemError("open directory", path, errno);
      if (::fchmod(fd.get(), it->second) < 0) {
        return systemError("set the mode of", path, errno);
      }
      if (::fsync(fd.get()) < 0) return systemError("fsync", path, errno);
    }
    if (::fsync(rootFd_) < 0) return systemError("fsync", destDir_, errno);
    return okStatus();
  }

  int rootFd_;
  std::string destDir_;
  std::string archivePath_;
  std::vector<std::string> subtree_;
  Budget budget_;
  Limit limit_;
  std::set<std::string> files_;         // regular files, for hard links
  std::set<std::string> links_;         // symlinks
  std::map<std::string, mode_t> dirs_;  // created directory -> final mode
};

Status emptyDirectory(const std::string& dir) {
  boost::system::error_code ec;
  for (boost::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    boost::filesystem::remove_all(it->path(), ec);
    if (ec) break;
  }
  if (ec) return Error("Failed to remove '" + dir + "/...': " + ec.message());
  return okStatus();
}

}  // namespace

Status extractMember(const std::string& archivePath, const std::string& member,
                     const std::string& destFile, std::uint64_t maxBytes) {
  auto a = openArchive(archivePath);
  if (!a) return a.error();
  std::string_view wanted = memberName(member);
  std::vector<std::string> someNames;  // for a helpful "not found"
  bool extracted = false;
  auto fail = [&](Status s) {
    if (extracted) ::unlink(destFile.c_str());
    return s;
  };
  for (;;) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(a->get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return fail(Error("Failed to read archive '" + archivePath +
                        "': " + archiveError(a->get())));
    }
    const char* rawName = archive_entry_pathname(entry);
    std::string_view name = memberName(rawName ? rawName : "");
    if (name != wanted) {
      if (someNames.size() < 10 && !name.empty()) someNames.emplace_back(name);
      continue;
    }
    // Read on to the end: a second entry of that name would make what is
    // installed depend on the tool (tar keeps the last), so it is refused.
    if (extracted) {
      return fail(Error("Refusing '" + archivePath + "': '" + member +
                        "' appears twice in it"));
    }
    if (archive_entry_filetype(entry) != AE_IFREG ||
        archive_entry_hardlink(entry) != nullptr) {
      return Error("'" + member + "' in '" + archivePath +
                   "' is not a regular file");
    }
    int fd = ::open(destFile.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
    if (fd < 0) return systemError("create", destFile, errno);
    const Limit limit = unpackLimit(parentDirectory(destFile), maxBytes);
    Budget budget{limit.bytes};
    Status s = copyData(a->get(), entry, fd, destFile, archivePath, budget, limit);
    if (s && ::fsync(fd) < 0) s = systemError("fsync", destFile, errno);
    if (::close(fd) < 0 && s) s = systemError("close", destFile, errno);
    if (!s) {
      ::unlink(destFile.c_str());
      return s;
    }
    extracted = true;
  }
  if (extracted) return okStatus();
  std::string listing;
  for (const auto& n : someNames) listing += (listing.empty() ? "" : ", ") + n;
  return Error("no member '" + member + "' in '" + archivePath + "'" +
               (listing.empty()
                    ? " (it is empty)"
                    : " (it has: " + listing +
                          (someNames.size() == 10 ? ", ..." : "") + ")"));
}

Status extractTree(const std::string& archivePath, const std::string& subtree,
                   const std::string& destDir, std::uint64_t maxBytes) {
  // Cleaning up after a refusal removes everything in destDir; that is only
  // safe if everything in it came from us.
  boost::system::error_code ec;
  if (!boost::filesystem::is_directory(destDir, ec) ||
      !boost::filesystem::is_empty(destDir, ec)) {
    return Error("Failed to extract '" + archivePath + "': '" + destDir +
                 "' is not an empty directory");
  }
  std::vector<std::string> subtreeParts;
  for (std::string_view rest = stripDotSlash(subtree); !rest.empty();) {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest.remove_prefix(slash == std::string_view::npos ? rest.size()
                                                       : slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return Error("Failed to extract '" + archivePath + "': subtree '" +
                   subtree + "' has a '..' component");
    }
    subtreeParts.emplace_back(part);
  }
  auto a = openArchive(archivePath);
  if (!a) return a.error();
  UniqueFd root(::open(destDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) return systemError("open directory", destDir, errno);

  TreeWriter writer(root.get(), destDir, archivePath, std::move(subtreeParts),
                    unpackLimit(destDir, maxBytes));
  Status status = writer.run(a->get());
  if (!status) {
    writer.unlockDirectories();
    if (Status cleaned = emptyDirectory(destDir); !cleaned) {
      return Error(status.error().message() + "; also " +
                   cleaned.error().message());
    }
  }
  return status;
}

}  // namespace upgrader
