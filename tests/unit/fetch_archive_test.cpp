#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <string>
#include <vector>

#include "common/file_util.hpp"
#include "fetch/archive.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using testing::entriesIn;
using testing::TempDir;

// One entry of a test archive: a regular file unless `type` says otherwise.
struct Entry {
  std::string name;
  std::string content;
  mode_t type = AE_IFREG;
  mode_t perm = 0644;
  std::string symlink;   // target, for AE_IFLNK
  std::string hardlink;  // earlier entry's name, for a hard link
};

Entry file(std::string name, std::string content, mode_t perm = 0644) {
  return {std::move(name), std::move(content), AE_IFREG, perm, "", ""};
}
Entry dir(std::string name, mode_t perm = 0755) {
  return {std::move(name), "", AE_IFDIR, perm, "", ""};
}
Entry symlink(std::string name, std::string target) {
  return {std::move(name), "", AE_IFLNK, 0777, std::move(target), ""};
}
Entry hardlink(std::string name, std::string target) {
  return {std::move(name), "", AE_IFREG, 0644, "", std::move(target)};
}
Entry special(std::string name, mode_t type) {
  return {std::move(name), "", type, 0644, "", ""};
}

enum class Format { kTar, kTarGz, kTarXz, kTarZst, kZip };

// Builds an archive with libarchive's write API, so the tests need no tar
// or zip binary and can write entries no well-behaved tool would.
void writeArchive(const std::string& path, const std::vector<Entry>& entries,
                  Format format = Format::kTar) {
  archive* a = archive_write_new();
  if (format == Format::kZip) {
    archive_write_set_format_zip(a);
  } else {
    archive_write_set_format_pax_restricted(a);
  }
  if (format == Format::kTarGz) archive_write_add_filter_gzip(a);
  if (format == Format::kTarXz) archive_write_add_filter_xz(a);
  if (format == Format::kTarZst) archive_write_add_filter_zstd(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK)
      << archive_error_string(a);
  for (const Entry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.perm);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.symlink.c_str());
    if (!e.hardlink.empty()) {
      archive_entry_set_hardlink(entry, e.hardlink.c_str());
    }
    if (e.type == AE_IFCHR || e.type == AE_IFBLK) {
      archive_entry_set_rdev(entry, makedev(1, 3));
    }
    archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
    ASSERT_EQ(archive_write_header(a, entry), ARCHIVE_OK)
        << e.name << ": " << archive_error_string(a);
    if (!e.content.empty()) {
      ASSERT_EQ(archive_write_data(a, e.content.data(), e.content.size()),
                static_cast<la_ssize_t>(e.content.size()));
    }
    archive_entry_free(entry);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

mode_t modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

std::string linkTarget(const std::string& path) {
  char buf[256] = {};
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n < 0 ? "" : std::string(buf, static_cast<std::size_t>(n));
}

std::string contentOf(const std::string& path) {
  auto text = readFile(path);
  return text ? *text : "<unreadable>";
}

// A limit no test archive reaches unless it means to.
constexpr std::uint64_t kNoLimit = 1ull << 40;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- extractMember ----------------------------------------------------

TEST(ExtractMember, WritesTheMembersContentWithMode0700) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {dir("./bin/"), file("./bin/app", "binary", 0755),
                               file("./README", "text")});
  ASSERT_TRUE(extractMember(tmp / "a.tar", "bin/app", tmp / "out", kNoLimit));
  EXPECT_EQ(contentOf(tmp / "out"), "binary");
  EXPECT_EQ(modeOf(tmp / "out") & 07777, 0700u);
}

TEST(ExtractMember, MatchesNamesWithOrWithoutDotSlash) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {file("bin/app", "x")});
  EXPECT_TRUE(extractMember(tmp / "a.tar", "./bin/app", tmp / "out", kNoLimit));
  EXPECT_EQ(contentOf(tmp / "out"), "x");
}

class ExtractMemberFormats : public ::testing::TestWithParam<Format> {};

TEST_P(ExtractMemberFormats, ReadsEachSupportedFormat) {
  TempDir tmp;
  std::string big(300 * 1024, 'z');  // more than one read buffer
  writeArchive(tmp / "a", {file("app", big)}, GetParam());
  ASSERT_TRUE(extractMember(tmp / "a", "app", tmp / "out", kNoLimit));
  EXPECT_EQ(contentOf(tmp / "out"), big);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, ExtractMemberFormats,
                         ::testing::Values(Format::kTar, Format::kTarGz,
                                           Format::kTarXz, Format::kTarZst,
                                           Format::kZip));

TEST(ExtractMember, FailsNamingTheMissingMemberAndWhatThereIs) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {file("app", "x"), file("README", "y")});
  auto s = extractMember(tmp / "a.tar", "bin/app", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(),
                       "no member 'bin/app' in '" + (tmp / "a.tar") + "'"))
      << s.error().message();
  EXPECT_TRUE(contains(s.error().message(), "app, README"));
  EXPECT_FALSE(pathExists(tmp / "out"));
}

TEST(ExtractMember, RefusesADirectoryMember) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {dir("bin/")});
  auto s = extractMember(tmp / "a.tar", "bin", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), "is not a regular file"));
  EXPECT_FALSE(pathExists(tmp / "out"));
}

TEST(ExtractMember, RefusesASymlinkMember) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {symlink("app", "/etc/shadow")});
  auto s = extractMember(tmp / "a.tar", "app", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), "is not a regular file"));
  EXPECT_FALSE(pathExists(tmp / "out"));
}

TEST(ExtractMember, RefusesAMemberThatAppearsTwice) {
  // tar(1) keeps the last copy, a first-match reader the first: what is
  // installed must not depend on the tool.
  TempDir tmp;
  writeArchive(tmp / "a.tar", {file("app", "first"), file("other", "o"),
                               file("./app", "second")});
  auto s = extractMember(tmp / "a.tar", "app", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), "'app' appears twice"))
      << s.error().message();
  EXPECT_FALSE(boost::filesystem::exists(tmp / "out"));
}

TEST(ExtractMember, StopsAMemberLargerThanItsLimit) {
  TempDir tmp;
  writeArchive(tmp / "a.tar.gz", {file("app", std::string(4 << 20, '\0'))},
               Format::kTarGz);
  auto s = extractMember(tmp / "a.tar.gz", "app", tmp / "out", 1 << 20);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), "unpacks to more than"))
      << s.error().message();
  EXPECT_FALSE(boost::filesystem::exists(tmp / "out"));
}

TEST(ExtractMember, LeavesAnExistingDestinationAlone) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {file("app", "new")});
  ASSERT_TRUE(writeFileAtomically(tmp / "out", "old"));
  auto s = extractMember(tmp / "a.tar", "app", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), "File exists"));
  EXPECT_EQ(contentOf(tmp / "out"), "old");
}

TEST(ExtractMember, RemovesTheDestinationWhenTheArchiveIsTruncated) {
  TempDir tmp;
  std::string big(1 << 20, 'q');
  writeArchive(tmp / "a.tar", {file("app", big)});
  ASSERT_EQ(::truncate((tmp / "a.tar").c_str(), 200 * 1024), 0);
  auto s = extractMember(tmp / "a.tar", "app", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), "Failed to read archive"))
      << s.error().message();
  EXPECT_FALSE(pathExists(tmp / "out"));
}

TEST(ExtractMember, FailsOnSomethingThatIsNotAnArchive) {
  TempDir tmp;
  ASSERT_TRUE(writeFileAtomically(tmp / "a.tar", std::string(4096, 'x')));
  auto s = extractMember(tmp / "a.tar", "app", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), tmp / "a.tar"));
  EXPECT_FALSE(pathExists(tmp / "out"));
}

// ---- extractTree ------------------------------------------------------

TEST(ExtractTree, ExtractsFilesDirectoriesAndSymlinksWithTheirModes) {
  TempDir tmp;
  writeArchive(
      tmp / "a.tar.gz",
      {dir("./"), dir("./bin/", 0750), file("./bin/app", "exe", 0755),
       file("./etc/app.conf", "conf", 0640), symlink("./bin/current", "app")},
      Format::kTarGz);
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar.gz", "", tmp / "out", kNoLimit);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(contentOf(tmp / "out/bin/app"), "exe");
  EXPECT_EQ(modeOf(tmp / "out/bin/app") & 07777, 0755u);
  EXPECT_EQ(modeOf(tmp / "out/bin") & 07777, 0750u);
  EXPECT_EQ(contentOf(tmp / "out/etc/app.conf"), "conf");
  EXPECT_EQ(modeOf(tmp / "out/etc/app.conf") & 07777, 0640u);
  EXPECT_EQ(modeOf(tmp / "out/etc") & 07777, 0755u);  // implied directory
  EXPECT_TRUE(S_ISLNK(modeOf(tmp / "out/bin/current")));
  EXPECT_EQ(linkTarget(tmp / "out/bin/current"), "app");
}

TEST(ExtractTree, ExtractsAZip) {
  TempDir tmp;
  writeArchive(tmp / "a.zip", {file("app-1.0/bin/app", "exe", 0755)},
               Format::kZip);
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.zip", "app-1.0", tmp / "out", kNoLimit);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(contentOf(tmp / "out/bin/app"), "exe");
}

TEST(ExtractTree, StripsTheSubtreeAndSkipsEverythingElse) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {dir("app-1.0/"), file("app-1.0/bin/app", "exe"),
                               file("other/file", "no"),
                               file("app-1.0x/file", "no"), file("top", "no")});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar", "./app-1.0/", tmp / "out", kNoLimit);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(entriesIn(tmp / "out"), std::vector<std::string>{"bin"});
  EXPECT_EQ(contentOf(tmp / "out/bin/app"), "exe");
}

TEST(ExtractTree, FillsReadOnlyDirectoriesBeforeMakingThemReadOnly) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {dir("share/", 0555), file("share/doc", "d")});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar", "", tmp / "out", kNoLimit);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(contentOf(tmp / "out/share/doc"), "d");
  EXPECT_EQ(modeOf(tmp / "out/share") & 07777, 0555u);
  ::chmod((tmp / "out/share").c_str(), 0755);  // so TempDir can clean up
}

TEST(ExtractTree, LinksHardLinksInsideTheTree) {
  TempDir tmp;
  writeArchive(tmp / "a.tar",
               {file("app/bin/a", "same"), hardlink("app/bin/b", "app/bin/a")});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar", "app", tmp / "out", kNoLimit);
  ASSERT_TRUE(s) << s.error().message();
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat((tmp / "out/bin/a").c_str(), &a), 0);
  ASSERT_EQ(::stat((tmp / "out/bin/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(contentOf(tmp / "out/bin/b"), "same");
}

TEST(ExtractTree, AllowsRelativeSymlinksThatStayInside) {
  TempDir tmp;
  writeArchive(tmp / "a.tar",
               {file("lib/libx.so.1", "lib"), symlink("bin/lib", "../lib"),
                symlink("a/b/top", "../../"), symlink("self", "."),
                symlink("lib/libx.so", "./libx.so.1")});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar", "", tmp / "out", kNoLimit);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(contentOf(tmp / "out/bin/lib/libx.so"), "lib");
  EXPECT_EQ(linkTarget(tmp / "out/a/b/top"), "../../");
}

TEST(ExtractTree, RefusesADestinationThatIsNotEmpty) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {file("app", "x")});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  ASSERT_TRUE(writeFileAtomically(tmp / "out/mine", "keep"));
  auto s = extractTree(tmp / "a.tar", "", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), "is not an empty directory"));
  EXPECT_EQ(entriesIn(tmp / "out"), std::vector<std::string>{"mine"});
  EXPECT_EQ(contentOf(tmp / "out/mine"), "keep");
}

TEST(ExtractTree, RefusesASubtreeThatIsAFile) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {file("app", "x")});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar", "app", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(
      contains(s.error().message(), "is the subtree but not a directory"));
  EXPECT_TRUE(entriesIn(tmp / "out").empty());
}

// Each refusal comes after good entries were already written, to show that
// those are removed again.
struct Refusal {
  std::string test;
  Entry bad;
  std::string subtree;
  std::string message;  // expected in the error, with the entry's name
};

void PrintTo(const Refusal& r, std::ostream* os) { *os << r.test; }

class ExtractTreeRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(ExtractTreeRefuses, NamesTheEntryAndLeavesNothingBehind) {
  const Refusal& r = GetParam();
  TempDir tmp;
  writeArchive(tmp / "a.tar",
               {dir("app/"), file("app/bin/first", "1"), dir("app/lib/"),
                file("app/lib/second", "2"), r.bad});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar", r.subtree, tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), "Refusing to extract '" +
                                                (tmp / "a.tar") + "': entry '" +
                                                r.bad.name + "' " + r.message))
      << s.error().message();
  EXPECT_TRUE(entriesIn(tmp / "out").empty());
  EXPECT_TRUE(pathExists(tmp / "out"));
  EXPECT_FALSE(pathExists(tmp / "escaped"));
}

INSTANTIATE_TEST_SUITE_P(
    EveryUnsafeEntry, ExtractTreeRefuses,
    ::testing::Values(
        Refusal{"AbsolutePath", file("/etc/cron.d/x", "x"), "",
                "has an absolute path"},
        Refusal{"DotDotComponent", file("app/../../escaped", "x"), "app",
                "has a '..' component"},
        Refusal{"DotDotOutsideTheSubtree", file("other/../x", "x"), "app",
                "has a '..' component"},
        Refusal{"SymlinkToAnAbsolutePath", symlink("app/bin/sh", "/bin/sh"),
                "app", "is a symlink to the absolute path '/bin/sh'"},
        Refusal{"SymlinkLeadingOutsideTheTree",
                symlink("app/bin/up", "../../../escaped"), "",
                "is a symlink to '../../../escaped', which leads outside"},
        Refusal{"SymlinkLeadingOutsideTheSubtree",
                symlink("app/bin/up", "../../app/bin/first"), "app",
                "is a symlink to '../../app/bin/first', which leads outside"},
        Refusal{"SymlinkWithDotDotAfterAName", symlink("app/up", "lib/../.."),
                "app",
                "is a symlink to 'lib/../..', which has '..' after a name"},
        Refusal{"HardLinkLeadingOutsideTheSubtree",
                hardlink("app/bin/passwd", "etc/passwd"), "app",
                "is a hard link to 'etc/passwd'"},
        Refusal{"HardLinkWithDotDot",
                hardlink("app/bin/passwd", "app/../../etc/passwd"), "app",
                "has a '..' component"},
        Refusal{"HardLinkToAFileNotExtracted",
                hardlink("app/bin/later", "app/bin/missing"), "app",
                "is a hard link to 'app/bin/missing', not a file extracted"},
        Refusal{"CharacterDevice", special("app/dev/null", AE_IFCHR), "app",
                "is a character device"},
        Refusal{"BlockDevice", special("app/dev/sda", AE_IFBLK), "app",
                "is a block device"},
        Refusal{"Fifo", special("app/run/fifo", AE_IFIFO), "app", "is a FIFO"},
        Refusal{"SetuidFile", file("app/bin/su", "x", 04755), "app",
                "has the setuid or setgid bit"},
        Refusal{"SetgidDirectory", dir("app/shared/", 02775), "app",
                "has the setuid or setgid bit"}),
    [](const auto& info) { return info.param.test; });

TEST(ExtractTree, RefusesToWriteThroughASymlinkFromTheArchive) {
  TempDir tmp;
  writeArchive(tmp / "a.tar",
               {symlink("lib", "bin"), dir("bin/"), file("lib/x", "x")});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar", "", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(),
                       "entry 'lib/x' would be written through 'lib'"))
      << s.error().message();
  EXPECT_TRUE(entriesIn(tmp / "out").empty());
}

TEST(ExtractTree, RefusesAFileListedTwice) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {file("app", "1"), file("app", "2")});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar", "", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(), "'app' appears twice"))
      << s.error().message();
  EXPECT_TRUE(entriesIn(tmp / "out").empty());
}

TEST(ExtractTree, StopsAnArchiveThatUnpacksToMoreThanItsLimit) {
  // 8 MiB of zeros compress to a few KiB: the download bound says nothing
  // about what comes out.
  TempDir tmp;
  writeArchive(tmp / "a.tar.gz",
               {file("small", "x"), file("bomb", std::string(8 << 20, '\0'))},
               Format::kTarGz);
  ASSERT_LT(boost::filesystem::file_size(tmp / "a.tar.gz"), 64u * 1024);
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar.gz", "", tmp / "out", 1 << 20);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message(),
                       "it unpacks to more than 1048576 bytes (MaxUnpackedSize=)"))
      << s.error().message();
  EXPECT_TRUE(entriesIn(tmp / "out").empty());
}

TEST(ExtractTree, DropsGroupAndWorldWriteBits) {
  TempDir tmp;
  writeArchive(tmp / "a.tar", {dir("d/", 0777), file("d/app", "x", 0777),
                               file("conf", "y", 0666)});
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  ASSERT_TRUE(extractTree(tmp / "a.tar", "", tmp / "out", kNoLimit));
  EXPECT_EQ(modeOf(tmp / "out/d") & 07777, 0755u);
  EXPECT_EQ(modeOf(tmp / "out/d/app") & 07777, 0755u);
  EXPECT_EQ(modeOf(tmp / "out/conf") & 07777, 0644u);
}

TEST(ExtractTree, EmptiesTheDestinationWhenTheArchiveIsTruncated) {
  TempDir tmp;
  writeArchive(tmp / "a.tar",
               {file("small", "s"), file("big", std::string(1 << 20, 'b'))});
  ASSERT_EQ(::truncate((tmp / "a.tar").c_str(), 300 * 1024), 0);
  ASSERT_TRUE(boost::filesystem::create_directory(tmp / "out"));
  auto s = extractTree(tmp / "a.tar", "", tmp / "out", kNoLimit);
  ASSERT_FALSE(s);
  EXPECT_TRUE(entriesIn(tmp / "out").empty());
}

}  // namespace
}  // namespace upgrader
