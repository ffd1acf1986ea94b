// Fuzz entry for archive extraction (fetch/archive.hpp). The input is the
// archive itself: libarchive recognises tar (plain or compressed) and zip
// by their bytes, as it does for a release, so one input path covers
// both; the seed corpus has each. Every input is extracted three ways:
// the whole tree, the subtree "pkg", and the member "app".
//
// Beyond not crashing, extraction must keep the header's promises, since
// a release archive is hostile input even after its checksum matched:
//   - nothing is written outside the destination: the destination sits
//     three directories deep in a private sandbox, and after every run each
//     of those levels must hold exactly what it held before;
//   - what is extracted is only files, directories and symlinks, no
//     setuid/setgid or group/world-writable bits, symlinks resolve inside
//     the tree, and the data stays within the limit;
//   - a refused archive leaves the destination empty (or, for a member, no
//     destination file).
//
// The sandbox is on a tmpfs (/dev/shm, or $UPGRADER_FUZZ_TMPDIR) so that
// millions of runs never touch a disk; it is removed at exit. It is made
// once and reused: each level's directory stays open and is read again
// (rewinddir) for the check, which costs no allocation, and the
// destination is emptied only when an extraction left something in it.
// Per input, that is what kept runs slow (about a third of the time went
// on opening directories), not the extraction.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "fetch/archive.hpp"
#include "fuzz_check.hpp"

namespace fs = boost::filesystem;
using upgrader::fuzz::check;

namespace {

// Small, so a few KiB of compressed input cannot make a run slow.
constexpr std::uint64_t kMaxBytes = 64 * 1024;

std::string sandboxParent() {
  if (const char* dir = std::getenv("UPGRADER_FUZZ_TMPDIR")) return dir;
  if (::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  if (const char* dir = std::getenv("TMPDIR")) return dir;
  return "/tmp";
}

// A directory of the sandbox, kept open: what it holds is read again
// without allocating, and its path is checked to still name it (an
// extraction could have moved it away).
class Level {
 public:
  explicit Level(std::string path) : path_(std::move(path)) {
    dir_ = ::opendir(path_.c_str());
    check(dir_ != nullptr, "a sandbox directory can be opened");
    struct stat st{};
    check(::fstat(::dirfd(dir_), &st) == 0, "a sandbox directory can be read");
    ino_ = st.st_ino;
  }
  ~Level() { ::closedir(dir_); }
  Level(const Level&) = delete;
  Level& operator=(const Level&) = delete;

  /// Whether the path still names this directory; its mode in `mode`.
  bool isStill(mode_t* mode = nullptr) const {
    struct stat st{};
    if (::lstat(path_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_ino != ino_) {
      return false;
    }
    if (mode != nullptr) *mode = st.st_mode & 07777;
    return true;
  }

  /// The number of entries, and whether each is one of `expected`.
  std::size_t count(std::initializer_list<const char*> expected,
                    bool* allExpected) {
    std::size_t found = 0;
    *allExpected = true;
    ::rewinddir(dir_);
    while (const dirent* e = ::readdir(dir_)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      bool known = false;
      for (const char* n : expected) known = known || name == n;
      *allExpected = *allExpected && known;
      ++found;
    }
    return found;
  }

  /// Still this directory, holding exactly `names`.
  bool holdsExactly(std::initializer_list<const char*> names) {
    bool allExpected = false;
    return isStill() && count(names, &allExpected) == names.size() &&
           allExpected;
  }

 private:
  std::string path_;
  DIR* dir_ = nullptr;
  ino_t ino_ = 0;
};

struct Sandbox {
  std::string root;   // holds "input" and "l1"
  std::string input;  // the archive under test
  std::string l1, l2, dest;
  std::optional<Level> rootLevel, l1Level, l2Level, destLevel;
  bool destReusable = false;  // dest is an empty directory of mode 0700

  Sandbox() {
    std::string tmpl = sandboxParent() + "/upgrader-archive-fuzz-XXXXXX";
    check(::mkdtemp(tmpl.data()) != nullptr, "the sandbox can be created");
    root = tmpl;
    input = root + "/input";
    l1 = root + "/l1";
    l2 = l1 + "/l2";
    dest = l2 + "/dest";
    fs::create_directories(l2);
    { std::ofstream created(input, std::ios::binary); }
    rootLevel.emplace(root);
    l1Level.emplace(l1);
    l2Level.emplace(l2);
  }
  ~Sandbox() {
    rootLevel.reset();
    l1Level.reset();
    l2Level.reset();
    destLevel.reset();
    makeRemovable(root);
    boost::system::error_code ec;
    fs::remove_all(root, ec);
  }

  // Extraction may leave read-only directories, which a non-root user
  // could not empty.
  static void makeRemovable(const std::string& dir) {
    boost::system::error_code ec;
    if (fs::symlink_status(dir, ec).type() != fs::directory_file) return;
    ::chmod(dir.c_str(), 0700);
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (fs::symlink_status(it->path(), ec).type() == fs::directory_file) {
        ::chmod(it->path().c_str(), 0700);
      }
    }
  }

  // An empty destination of mode 0700, as a new one would be; made again
  // only if the last extraction did not leave it so.
  void freshDest() {
    if (destReusable) return;
    destLevel.reset();
    makeRemovable(dest);
    boost::system::error_code ec;
    fs::remove_all(dest, ec);
    check(!ec, "the previous destination can be removed");
    check(::mkdir(dest.c_str(), 0700) == 0, "the destination can be created");
    destLevel.emplace(dest);
    destReusable = true;
  }

  // What the destination holds after an extraction; notes whether it can
  // be used again as it is.
  std::size_t destEntries() {
    mode_t mode = 0;
    if (!destLevel->isStill(&mode)) {  // replaced: count what is there now
      destReusable = false;
      boost::system::error_code ec;
      std::size_t n = 0;
      for (fs::directory_iterator it(dest, ec), end; !ec && it != end;
           it.increment(ec)) {
        ++n;
      }
      check(!ec, "the destination can be read");
      return n;
    }
    bool unused = false;
    std::size_t n = destLevel->count({}, &unused);
    destReusable = n == 0 && mode == 0700;
    return n;
  }
};

void checkNothingOutside(Sandbox& box) {
  check(box.rootLevel->holdsExactly({"input", "l1"}),
        "nothing appears beside the destination's grandparent");
  check(box.l1Level->holdsExactly({"l2"}),
        "nothing appears beside the destination's parent");
  check(box.l2Level->holdsExactly({"dest"}),
        "nothing appears beside the destination");
}

bool isInside(const fs::path& path, const fs::path& dir) {
  auto p = path.begin();
  for (auto d = dir.begin(); d != dir.end(); ++d, ++p) {
    if (p == path.end() || *p != *d) return false;
  }
  return true;
}

void checkExtractedTree(const Sandbox& box) {
  const fs::path dest = fs::canonical(box.dest);
  std::set<std::pair<dev_t, ino_t>> seen;  // hard links count once
  std::uint64_t bytes = 0;
  boost::system::error_code ec;
  for (fs::recursive_directory_iterator it(box.dest, ec), end; !ec && it != end;
       it.increment(ec)) {
    struct stat st{};
    check(::lstat(it->path().c_str(), &st) == 0, "an extracted entry exists");
    check(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode),
          "only files, directories and symlinks are extracted");
    if (S_ISLNK(st.st_mode)) {
      fs::path target = fs::read_symlink(it->path());
      check(!target.empty() && target.is_relative(), "a symlink is relative");
      // Where the link really leads, through any other links on the way
      // (even when it dangles: the part that exists is resolved); a loop
      // leads nowhere, which is fine.
      boost::system::error_code linkEc;
      fs::path resolved =
          fs::weakly_canonical(it->path().parent_path() / target, linkEc);
      if (!linkEc) {
        check(isInside(resolved, dest), "a symlink leads inside the tree");
      }
      continue;
    }
    check((st.st_mode & (S_ISUID | S_ISGID)) == 0, "no setuid or setgid bit");
    check((st.st_mode & (S_IWGRP | S_IWOTH)) == 0,
          "no group or world write bit");
    // Checked, so it may be opened: a directory the archive made 0000
    // would stop the walk of a fuzzer that does not run as root.
    if (S_ISDIR(st.st_mode)) ::chmod(it->path().c_str(), 0700);
    if (S_ISREG(st.st_mode) && seen.insert({st.st_dev, st.st_ino}).second) {
      bytes += static_cast<std::uint64_t>(st.st_size);
    }
  }
  check(!ec, "the extracted tree can be walked");
  check(bytes <= kMaxBytes, "no more data than the limit is extracted");
}

void extractTree(Sandbox& box, const std::string& subtree) {
  box.freshDest();
  upgrader::Status s =
      upgrader::extractTree(box.input, subtree, box.dest, kMaxBytes);
  checkNothingOutside(box);
  if (s) {
    checkExtractedTree(box);
    box.destReusable = false;  // the walk may have changed modes
  } else {
    check(box.destEntries() == 0, "a refused archive leaves nothing behind");
  }
}

void extractMember(Sandbox& box) {
  box.freshDest();
  const std::string file = box.dest + "/app";
  upgrader::Status s =
      upgrader::extractMember(box.input, "app", file, kMaxBytes);
  checkNothingOutside(box);
  check(box.destEntries() == (s ? 1U : 0U),
        "a member is written to its destination file only, and only if "
        "it was extracted");
  if (s) {
    struct stat st{};
    check(::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode),
          "an extracted member is a regular file");
    check((st.st_mode & 07777) == 0700, "an extracted member has mode 0700");
    check(static_cast<std::uint64_t>(st.st_size) <= kMaxBytes,
          "an extracted member is within the limit");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static Sandbox box;
  {
    std::ofstream out(box.input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data),
              static_cast<std::streamsize>(size));
    check(static_cast<bool>(out.flush()), "the input can be written");
  }
  extractTree(box, "");
  extractTree(box, "pkg");
  extractMember(box);
  return 0;  // libFuzzer reserves other values
}
