#include "common/file_util.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/filesystem.hpp>
#include <fstream>

#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using testing::TempDir;

std::size_t entriesIn(const std::string& dir) {
  std::size_t n = 0;
  for (auto it = boost::filesystem::directory_iterator(dir);
       it != boost::filesystem::directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

TEST(WriteFileAtomically, ReplacesContentAndLeavesNoTempFile) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "f", "one"));
  ASSERT_TRUE(writeFileAtomically(dir / "f", "two", 0600));
  auto text = readFile(dir / "f");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "two");
  EXPECT_EQ(entriesIn(dir.path()), 1u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(WriteFileAtomically, FailsWithThePathWhenTheDirectoryIsMissing) {
  TempDir dir;
  auto s = writeFileAtomically(dir / "missing/f", "x");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(dir / "missing"), std::string::npos);
  EXPECT_NE(s.error().message().find("No such file or directory"),
            std::string::npos);
}

TEST(HardLinkAtomically, ReplacesTheLinkNameWithTheSameInode) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "a", "new"));
  ASSERT_TRUE(writeFileAtomically(dir / "b", "old"));
  ASSERT_TRUE(hardLinkAtomically(dir / "a", dir / "b"));
  EXPECT_EQ(*readFile(dir / "b"), "new");
  struct stat a {}, b {};
  ::stat((dir / "a").c_str(), &a);
  ::stat((dir / "b").c_str(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(entriesIn(dir.path()), 2u);
}

TEST(SymlinkAtomically, FlipsAnExistingLink) {
  TempDir dir;
  ASSERT_TRUE(symlinkAtomically("/one", dir / "current"));
  ASSERT_TRUE(symlinkAtomically("/two", dir / "current"));
  char buf[64] = {};
  ASSERT_GT(::readlink((dir / "current").c_str(), buf, sizeof buf - 1), 0);
  EXPECT_STREQ(buf, "/two");
  EXPECT_EQ(entriesIn(dir.path()), 1u);
}

TEST(RemoveIfExists, IsOkForAMissingFile) {
  TempDir dir;
  EXPECT_TRUE(removeIfExists(dir / "nothing"));
  EXPECT_TRUE(removeTreeIfExists(dir / "nothing"));
}

TEST(PathHelpers, SplitDirectoryAndBaseName) {
  EXPECT_EQ(parentDirectory("/usr/bin/x"), "/usr/bin");
  EXPECT_EQ(parentDirectory("/x"), "/");
  EXPECT_EQ(parentDirectory("x"), ".");
  EXPECT_EQ(baseName("/usr/bin/x"), "x");
}

TEST(ReadFile, RefusesAFifoAtOnceInsteadOfWaitingForAWriter) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  auto text = readFile(dir / "fifo");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message(), "'" + (dir / "fifo") + "' is not a regular file");
}

TEST(ReadFile, RefusesADeviceThatNeverEnds) {
  auto text = readFile("/dev/zero");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message(), "'/dev/zero' is not a regular file");
}

TEST(FreeSpace, KeepsAMarginOfAtMost64MiBFree) {
  auto space = freeSpaceIn("/tmp");
  ASSERT_TRUE(space) << space.error().message();
  EXPECT_LE(space->margin, 64ull << 20);
  EXPECT_EQ(space->usable, space->available > space->margin
                               ? space->available - space->margin
                               : 0);
  EXPECT_THAT(describe(*space), ::testing::StartsWith("the file system of '/tmp' has "));
}

TEST(FreeSpace, NamesTheDirectoryItCannotRead) {
  auto space = freeSpaceIn("/nonexistent/upgrader");
  ASSERT_FALSE(space);
  EXPECT_THAT(space.error().message(), ::testing::HasSubstr("'/nonexistent/upgrader'"));
}

TEST(StaleTempFiles, OfAHiddenFileHaveOneDotAndTheOldSpellingGoesToo) {
  TempDir dir;
  const std::string staged = dir / ".image.env.upgrader-staged";
  ASSERT_TRUE(writeFileAtomically(staged, "x"));
  std::ofstream(dir / ".image.env.upgrader-staged.upgrader-tmp-0123456789abcdef") << "new";
  std::ofstream(dir / "..image.env.upgrader-staged.upgrader-tmp-0123456789abcdef") << "old";
  ASSERT_TRUE(removeStaleTempFiles(staged));
  EXPECT_FALSE(pathExists(dir / ".image.env.upgrader-staged.upgrader-tmp-0123456789abcdef"));
  EXPECT_FALSE(pathExists(dir / "..image.env.upgrader-staged.upgrader-tmp-0123456789abcdef"));
  EXPECT_TRUE(pathExists(staged));
}

}  // namespace
}  // namespace upgrader
