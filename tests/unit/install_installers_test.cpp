// The install strategies on a real (temporary) file system: what is at the
// path after each step, that repeated steps are harmless, and that nothing
// is left behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <fstream>

#include "common/file_util.hpp"
#include "fetch/sha256.hpp"
#include "install/installer.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
namespace fs = boost::filesystem;

void write(const std::string& path, const std::string& text, mode_t mode = 0755) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
}

std::string read(const std::string& path) {
  auto text = readFile(path);
  return text ? *text : "<missing>";
}

Sha256Digest hashOf(const std::string& text) {
  Sha256 h;
  h.update(text.data(), text.size());
  return h.finish();
}

std::string digest(const std::string& text) { return hashOf(text).hex(); }

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A download as the fetcher leaves it: a file in the download directory.
FetchedFile download(const std::string& dir, const std::string& text) {
  std::string path = dir + "/.app-2.abcdef.partial";
  write(path, text, 0600);
  return FetchedFile{path, hashOf(text), text.size()};
}

Release release(const std::string& version) {
  Release r;
  r.version = Version(version);
  r.url = "https://example.invalid/app-" + version;
  r.fileName = "app-" + version;
  return r;
}

class ABinaryInstaller : public ::testing::Test {
 protected:
  ABinaryInstaller() {
    plan_.source.url = "https://example.invalid/app-@v";
    plan_.source.pattern = "app-@v";
    plan_.install.mode = InstallConfig::Mode::kBinary;
    plan_.install.path = dir_ / "app";
    write(dir_ / "app", "version one", 0750);
    installer_ = makeInstaller(plan_);
  }
  TempDir dir_;
  Plan plan_;
  std::unique_ptr<Installer> installer_;
};

TEST_F(ABinaryInstaller, StagesWithTheCurrentModeAndSwapsKeepingTheOldOne) {
  auto current = installer_->currentId();
  ASSERT_TRUE(current);
  EXPECT_EQ(*current, digest("version one"));
  auto staged = installer_->stage(download(dir_.path(), "version two"), release("2"));
  ASSERT_TRUE(staged) << staged.error().message();
  EXPECT_EQ(staged->id, digest("version two"));
  struct stat st {};
  ASSERT_EQ(::stat(installer_->stagedPath(*staged).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);

  ReleaseRef from{"1", *current};
  ASSERT_TRUE(installer_->swap(from, *staged));
  EXPECT_EQ(read(dir_ / "app"), "version two");
  EXPECT_EQ(read(dir_ / "app.old"), "version one");
  EXPECT_THAT(entries(dir_.path()), ::testing::ElementsAre("app", "app.old"));
  // Repeated after a crash: nothing changes, nothing is left.
  ASSERT_TRUE(installer_->swap(from, *staged));
  EXPECT_EQ(read(dir_ / "app.old"), "version one");
  EXPECT_THAT(entries(dir_.path()), ::testing::ElementsAre("app", "app.old"));
}

TEST_F(ABinaryInstaller, RevertsToTheOldOneAndRepeatsHarmlessly) {
  ReleaseRef from{"1", *installer_->currentId()};
  auto staged = installer_->stage(download(dir_.path(), "version two"), release("2"));
  ASSERT_TRUE(staged);
  ASSERT_TRUE(installer_->swap(from, *staged));
  ASSERT_TRUE(installer_->revert(from, false));
  EXPECT_EQ(read(dir_ / "app"), "version one");
  ASSERT_TRUE(installer_->revert(from, false));
  EXPECT_EQ(read(dir_ / "app"), "version one");
  EXPECT_THAT(entries(dir_.path()), ::testing::ElementsAre("app", "app.old"));
}

TEST_F(ABinaryInstaller, RefusesToOverwriteAFileItDoesNotKnow) {
  ReleaseRef from{"1", *installer_->currentId()};
  auto staged = installer_->stage(download(dir_.path(), "version two"), release("2"));
  ASSERT_TRUE(staged);
  write(dir_ / "app", "changed behind our back");
  auto st = installer_->swap(from, *staged);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("refusing to overwrite"));
  EXPECT_EQ(read(dir_ / "app"), "changed behind our back");
}

TEST_F(ABinaryInstaller, SaysSoWhenTheReleaseToRestoreIsGone) {
  ReleaseRef from{"1", digest("something else")};
  auto st = installer_->revert(from, false);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("cannot restore 1"));
  EXPECT_EQ(read(dir_ / "app"), "version one");
}

TEST_F(ABinaryInstaller, DiscardRemovesWhatACrashLeft) {
  auto staged = installer_->stage(download(dir_.path(), "version two"), release("2"));
  ASSERT_TRUE(staged);
  write(dir_ / ".app.upgrader-tmp-0123456789abcdef", "half a link");
  write(dir_ / ".app-3.zyxwvu.partial", "half a download");
  write(dir_ / ".other-1.zyxwvu.partial", "another service's download");
  ASSERT_TRUE(installer_->discard(*staged));
  EXPECT_THAT(entries(dir_.path()),
              ::testing::ElementsAre(".other-1.zyxwvu.partial", "app"));
}

TEST_F(ABinaryInstaller, RecognisesDownloadsOfAFileNameWithUnusualCharacters) {
  plan_.source.url = "https://example.invalid/app=@v";
  plan_.source.pattern = "app=@v";
  installer_ = makeInstaller(plan_);
  write(dir_ / ".app_3.zyxwvu.partial", "half a download");  // as the fetcher names it
  ASSERT_TRUE(installer_->discard({}));
  EXPECT_THAT(entries(dir_.path()), ::testing::ElementsAre("app"));
}

TEST_F(ABinaryInstaller, StagesACopyOfTheRollbackPointForARollbackOnRequest) {
  ReleaseRef one{"1", *installer_->currentId()};
  auto two = installer_->stage(download(dir_.path(), "version two"), release("2"));
  ASSERT_TRUE(two);
  ASSERT_TRUE(installer_->swap(one, *two));
  auto back = installer_->stagePrevious(one);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(installer_->swap(*two, *back));
  EXPECT_EQ(read(dir_ / "app"), "version one");
  EXPECT_EQ(read(dir_ / "app.old"), "version two");
}

TEST_F(ABinaryInstaller, AFailedRollbackOnRequestKeepsTheReleaseItWasGoingBackTo) {
  ReleaseRef one{"1", *installer_->currentId()};
  auto two = installer_->stage(download(dir_.path(), "version two"), release("2"));
  ASSERT_TRUE(two);
  ASSERT_TRUE(installer_->swap(one, *two));
  auto back = installer_->stagePrevious(one);
  ASSERT_TRUE(back);
  ASSERT_TRUE(installer_->swap(*two, *back));
  // Version 1 turned out unhealthy: 2 comes back, 1 stays the rollback point.
  ASSERT_TRUE(installer_->canRevert(*two));
  ASSERT_TRUE(installer_->revert(*two, true));
  EXPECT_EQ(read(dir_ / "app"), "version two");
  EXPECT_EQ(read(dir_ / "app.old"), "version one");
  EXPECT_THAT(entries(dir_.path()), ::testing::ElementsAre("app", "app.old"));
}

TEST_F(ABinaryInstaller, NeverKeepsAFailedUpgradeWhereAnOperatorWouldRestoreFrom) {
  ReleaseRef one{"1", *installer_->currentId()};
  auto two = installer_->stage(download(dir_.path(), "version two"), release("2"));
  ASSERT_TRUE(two);
  ASSERT_TRUE(installer_->swap(one, *two));
  ASSERT_TRUE(installer_->revert(one, false));
  EXPECT_EQ(read(dir_ / "app"), "version one");
  EXPECT_EQ(read(dir_ / "app.old"), "version one");
}

class ASymlinkInstaller : public ::testing::Test {
 protected:
  ASymlinkInstaller() {
    plan_.source.url = "https://example.invalid/app-@v";
    plan_.source.pattern = "app-@v";
    plan_.install.mode = InstallConfig::Mode::kSymlink;
    plan_.install.path = dir_ / "current";
    plan_.install.releasesDirectory = dir_ / "releases";
    plan_.install.keepReleases = 2;
    fs::create_directories(dir_ / "releases/1");
    write(dir_ / "releases/1/app-1", "version one");
    ::symlink((dir_ / "releases/1").c_str(), (dir_ / "current").c_str());
    installer_ = makeInstaller(plan_);
  }
  Result<ReleaseRef> stage(const std::string& version) {
    return installer_->stage(download(dir_ / "releases", "version " + version),
                             release(version));
  }
  TempDir dir_;
  Plan plan_;
  std::unique_ptr<Installer> installer_;
};

TEST_F(ASymlinkInstaller, StagesADirectoryAndFlipsTheLink) {
  ReleaseRef one{"1", *installer_->currentId()};
  EXPECT_EQ(one.id, dir_ / "releases/1");
  auto two = stage("2");
  ASSERT_TRUE(two) << two.error().message();
  EXPECT_EQ(two->id, dir_ / "releases/2");
  EXPECT_EQ(read(dir_ / "current/app-1"), "version one");  // untouched yet
  ASSERT_TRUE(installer_->swap(one, *two));
  EXPECT_EQ(read(dir_ / "current/app-2"), "version 2");
  ASSERT_TRUE(installer_->revert(one, false));
  EXPECT_EQ(read(dir_ / "current/app-1"), "version one");
  EXPECT_THAT(entries(dir_.path()), ::testing::ElementsAre("current", "releases"));
}

TEST_F(ASymlinkInstaller, PrunesBeyondKeepReleasesButNeverTheInstalledOrPrevious) {
  ReleaseRef one{"1", *installer_->currentId()};
  ReleaseRef last = one;
  for (std::string v : {"2", "3", "4"}) {
    auto next = stage(v);
    ASSERT_TRUE(next);
    ASSERT_TRUE(installer_->swap(last, *next));
    last = *next;
  }
  ASSERT_TRUE(installer_->prune(last, one));
  EXPECT_THAT(entries(dir_ / "releases"), ::testing::ElementsAre("1", "3", "4"));
}

TEST_F(ASymlinkInstaller, RefusesToStageTheReleaseInService) {
  auto again = installer_->stage(download(dir_ / "releases", "x"), release("1"));
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().message(), HasSubstr("in service"));
  EXPECT_EQ(read(dir_ / "current/app-1"), "version one");
  EXPECT_THAT(entries(dir_ / "releases"), ::testing::ElementsAre("1"));
}

}  // namespace
}  // namespace upgrader
