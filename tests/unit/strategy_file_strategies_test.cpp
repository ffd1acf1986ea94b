// The binary and symlink strategies on a real (temporary) file system, with
// releases published in a directory and fetched from it by file:// (the
// real fetcher): what is at the path after each step, that repeated steps
// are harmless, that a refused release changes nothing, and that nothing
// is left behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <fstream>

#include "common/file_util.hpp"
#include "fetch/sha256.hpp"
#include "strategy/strategy.hpp"
#include "support/temp_dir.hpp"
#include "systemd/service_manager.hpp"

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

// A release source in a directory: publish() puts a release there, and the
// strategy fetches it by file:// with the version and checksum pinned.
class StrategyTest : public ::testing::Test {
 protected:
  StrategyTest() {
    fs::create_directories(dir_ / "src");
    fs::create_directories(dir_ / "install");
    plan_.source.url = "file://" + dir_ / "src/app-@v";
    plan_.source.allowedSchemes = {UrlScheme::kFile};
    plan_.source.pattern = "app-@v";
  }

  void make() {
    strategy_ = std::move(*makeStrategy(plan_, {*fetcher_, dir_ / "state"}));
  }

  // Publishes `text` as version `version` and pins the plan to it with the
  // checksum of `claimed` (the text itself unless a test lies).
  void publish(const std::string& version, const std::string& text,
               std::optional<std::string> claimed = std::nullopt) {
    write(dir_ / ("src/app-" + version), text, 0644);
    plan_.source.version = Version(version);
    plan_.source.checksum = hashOf(claimed.value_or(text));
  }

  Result<ReleaseRef> stage(const std::string& version, const std::string& text) {
    publish(version, text);
    if (auto offer = strategy_->resolve(); !offer) return offer.error();
    auto staged = strategy_->acquire({});
    if (!staged) return staged.error();
    return staged->release;
  }

  std::string install() { return dir_ / "install"; }

  TempDir dir_;
  Plan plan_;
  std::unique_ptr<Fetcher> fetcher_ = makeCurlFetcher();
  std::unique_ptr<Strategy> strategy_;
};

class ABinaryStrategy : public StrategyTest {
 protected:
  ABinaryStrategy() {
    plan_.install.mode = InstallConfig::Mode::kBinary;
    plan_.install.path = dir_ / "install/app";
    write(dir_ / "install/app", "version one", 0750);
    make();
  }
};

TEST_F(ABinaryStrategy, StagesWithTheCurrentModeAndSwapsKeepingTheOldOne) {
  auto current = strategy_->currentId();
  ASSERT_TRUE(current);
  EXPECT_EQ(*current, digest("version one"));
  auto staged = stage("2", "version two");
  ASSERT_TRUE(staged) << staged.error().message();
  EXPECT_EQ(staged->id, digest("version two"));
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "install/.app.upgrader-staged").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);

  ReleaseRef from{"1", *current};
  ASSERT_TRUE(strategy_->prepareSwap(from));
  ASSERT_TRUE(strategy_->swap(from, *staged));
  EXPECT_EQ(read(dir_ / "install/app"), "version two");
  // Until the commit the old release has a name of its own; PATH.old is
  // the operator's rollback point and is not touched.
  EXPECT_EQ(read(dir_ / "install/.app.upgrader-replaced"), "version one");
  EXPECT_THAT(entries(install()), ::testing::ElementsAre(".app.upgrader-replaced", "app"));
  // Repeated after a crash: nothing changes, nothing is left.
  ASSERT_TRUE(strategy_->swap(from, *staged));
  EXPECT_THAT(entries(install()), ::testing::ElementsAre(".app.upgrader-replaced", "app"));
  // Committed: the old release becomes the rollback point.
  ASSERT_TRUE(strategy_->prune(*staged, from));
  EXPECT_EQ(read(dir_ / "install/app.old"), "version one");
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app", "app.old"));
}

TEST_F(ABinaryStrategy, RevertsToTheOldOneAndRepeatsHarmlessly) {
  ReleaseRef from{"1", *strategy_->currentId()};
  auto staged = stage("2", "version two");
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->swap(from, *staged));
  ASSERT_TRUE(strategy_->revert(from));
  EXPECT_EQ(read(dir_ / "install/app"), "version one");
  ASSERT_TRUE(strategy_->revert(from));
  EXPECT_EQ(read(dir_ / "install/app"), "version one");
  // There was no rollback point before the attempt, and there is none after.
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app"));
}

ino_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(ABinaryStrategy, AFailedAttemptLeavesTheRollbackPointAsItWas) {
  write(dir_ / "install/app.old", "version zero");
  const ino_t zero = inodeOf(dir_ / "install/app.old");
  ReleaseRef from{"1", *strategy_->currentId()};
  auto staged = stage("2", "version two");
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->prepareSwap(from));
  ASSERT_TRUE(strategy_->swap(from, *staged));
  EXPECT_EQ(read(dir_ / "install/app.old"), "version zero");
  ASSERT_TRUE(strategy_->canRevert(from));
  ASSERT_TRUE(strategy_->revert(from));
  ASSERT_TRUE(strategy_->discard(*staged, Discard::kRelease));
  EXPECT_EQ(read(dir_ / "install/app"), "version one");
  EXPECT_EQ(read(dir_ / "install/app.old"), "version zero");
  EXPECT_EQ(inodeOf(dir_ / "install/app.old"), zero);
  EXPECT_NE(inodeOf(dir_ / "install/app"), zero);  // two names, two files
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app", "app.old"));
}

TEST_F(ABinaryStrategy, AnAttemptGivenUpBeforeItsSwapLeavesNoSecondName) {
  write(dir_ / "install/app.old", "version zero");
  ReleaseRef from{"1", *strategy_->currentId()};
  auto staged = stage("2", "version two");
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->prepareSwap(from));
  ASSERT_TRUE(strategy_->discard(*staged, Discard::kRelease));
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app", "app.old"));
  EXPECT_EQ(read(dir_ / "install/app.old"), "version zero");
}

TEST_F(ABinaryStrategy, FinishesACommitKilledBeforeTheOldReleaseBecameTheRollbackPoint) {
  write(dir_ / "install/app.old", "version zero");
  ReleaseRef from{"1", *strategy_->currentId()};
  auto staged = stage("2", "version two");
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->swap(from, *staged));
  make();  // killed after the commit's save; the next run cleans up
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_EQ(read(dir_ / "install/app"), "version two");
  EXPECT_EQ(read(dir_ / "install/app.old"), "version one");
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app", "app.old"));
}

TEST_F(ABinaryStrategy, NeverOverwritesARollbackPointACommitLeftToSettle) {
  ReleaseRef one{"1", *strategy_->currentId()};
  auto two = stage("2", "version two");
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->swap(one, *two));  // committed, not settled
  auto three = stage("3", "version three");
  ASSERT_TRUE(three);
  ASSERT_TRUE(strategy_->prepareSwap(*two));
  EXPECT_EQ(read(dir_ / "install/app.old"), "version one");
  EXPECT_EQ(read(dir_ / "install/.app.upgrader-replaced"), "version two");
}

TEST_F(ABinaryStrategy, RefusesToOverwriteAFileItDoesNotKnow) {
  ReleaseRef from{"1", *strategy_->currentId()};
  auto staged = stage("2", "version two");
  ASSERT_TRUE(staged);
  write(dir_ / "install/app", "changed behind our back");
  auto st = strategy_->swap(from, *staged);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("refusing to overwrite"));
  EXPECT_EQ(read(dir_ / "install/app"), "changed behind our back");
}

TEST_F(ABinaryStrategy, SaysSoWhenTheReleaseToRestoreIsGone) {
  ReleaseRef from{"1", digest("something else")};
  auto st = strategy_->revert(from);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("cannot restore 1"));
  EXPECT_EQ(read(dir_ / "install/app"), "version one");
}

TEST_F(ABinaryStrategy, DiscardRemovesWhatACrashLeft) {
  auto staged = stage("2", "version two");
  ASSERT_TRUE(staged);
  write(dir_ / "install/.app.upgrader-tmp-0123456789abcdef", "half a link");
  write(dir_ / "install/.app.upgrader-staged.upgrader-tmp-0123456789abcdef", "half a copy");
  write(dir_ / "install/.app-3.zyxwvu.partial", "half a download");
  write(dir_ / "install/.other-1.zyxwvu.partial", "another service's download");
  ASSERT_TRUE(strategy_->discard(*staged, Discard::kRelease));
  EXPECT_THAT(entries(install()),
              ::testing::ElementsAre(".other-1.zyxwvu.partial", "app"));
}

TEST_F(ABinaryStrategy, RecognisesDownloadsOfAFileNameWithUnusualCharacters) {
  plan_.source.url = "https://example.invalid/app=@v";
  plan_.source.pattern = "app=@v";
  make();
  write(dir_ / "install/.app_3.zyxwvu.partial", "half a download");  // as the fetcher names it
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app"));
}

TEST_F(ABinaryStrategy, StagesACopyOfTheRollbackPointForARollbackOnRequest) {
  ReleaseRef one{"1", *strategy_->currentId()};
  auto two = stage("2", "version two");
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->swap(one, *two));
  ASSERT_TRUE(strategy_->prune(*two, one));
  auto back = strategy_->stagePrevious(one);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(strategy_->swap(*two, *back));
  ASSERT_TRUE(strategy_->prune(*back, *two));
  EXPECT_EQ(read(dir_ / "install/app"), "version one");
  EXPECT_EQ(read(dir_ / "install/app.old"), "version two");
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app", "app.old"));
}

TEST_F(ABinaryStrategy, AFailedRollbackOnRequestKeepsTheReleaseItWasGoingBackTo) {
  ReleaseRef one{"1", *strategy_->currentId()};
  auto two = stage("2", "version two");
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->swap(one, *two));
  ASSERT_TRUE(strategy_->prune(*two, one));
  auto back = strategy_->stagePrevious(one);
  ASSERT_TRUE(back);
  ASSERT_TRUE(strategy_->swap(*two, *back));
  // Version 1 turned out unhealthy: 2 comes back, 1 stays the rollback point.
  ASSERT_TRUE(strategy_->canRevert(*two));
  ASSERT_TRUE(strategy_->revert(*two));
  ASSERT_TRUE(strategy_->discard(*back, Discard::kKeepRelease));
  EXPECT_EQ(read(dir_ / "install/app"), "version two");
  EXPECT_EQ(read(dir_ / "install/app.old"), "version one");
  EXPECT_NE(inodeOf(dir_ / "install/app"), inodeOf(dir_ / "install/app.old"));
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app", "app.old"));
  // And the next rollback on request still has it.
  EXPECT_TRUE(strategy_->stagePrevious(one));
}

class ASymlinkStrategy : public StrategyTest {
 protected:
  ASymlinkStrategy() {
    plan_.install.mode = InstallConfig::Mode::kSymlink;
    plan_.install.path = dir_ / "install/current";
    plan_.install.releasesDirectory = dir_ / "install/releases";
    plan_.install.keepReleases = 2;
    fs::create_directories(dir_ / "install/releases/1");
    write(dir_ / "install/releases/1/app-1", "version one");
    ::symlink((dir_ / "install/releases/1").c_str(), (dir_ / "install/current").c_str());
    make();
  }
  Result<ReleaseRef> stage(const std::string& version) {
    return StrategyTest::stage(version, "version " + version);
  }
};

TEST_F(ASymlinkStrategy, StagesADirectoryAndFlipsTheLink) {
  ReleaseRef one{"1", *strategy_->currentId()};
  EXPECT_EQ(one.id, dir_ / "install/releases/1");
  auto two = stage("2");
  ASSERT_TRUE(two) << two.error().message();
  EXPECT_EQ(two->id, dir_ / "install/releases/2");
  EXPECT_EQ(read(dir_ / "install/current/app-1"), "version one");  // untouched yet
  ASSERT_TRUE(strategy_->swap(one, *two));
  EXPECT_EQ(read(dir_ / "install/current/app-2"), "version 2");
  ASSERT_TRUE(strategy_->revert(one));
  EXPECT_EQ(read(dir_ / "install/current/app-1"), "version one");
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("current", "releases"));
}

TEST_F(ASymlinkStrategy, PrunesBeyondKeepReleasesButNeverTheInstalledOrPrevious) {
  ReleaseRef one{"1", *strategy_->currentId()};
  ReleaseRef last = one;
  for (std::string v : {"2", "3", "4"}) {
    auto next = stage(v);
    ASSERT_TRUE(next);
    ASSERT_TRUE(strategy_->swap(last, *next));
    last = *next;
  }
  ASSERT_TRUE(strategy_->prune(last, one));
  EXPECT_THAT(entries(dir_ / "install/releases"), ::testing::ElementsAre("1", "3", "4"));
}

TEST_F(ASymlinkStrategy, RefusesToStageTheReleaseInService) {
  auto again = StrategyTest::stage("1", "x");
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().message(), HasSubstr("in service"));
  EXPECT_EQ(read(dir_ / "install/current/app-1"), "version one");
  EXPECT_THAT(entries(dir_ / "install/releases"), ::testing::ElementsAre("1"));
}

TEST_F(ABinaryStrategy, RefusesAReleaseWhoseChecksumDiffersAndLeavesNothing) {
  publish("2", "version two, tampered with", "version two");
  ASSERT_TRUE(strategy_->resolve());
  auto staged = strategy_->acquire({});
  ASSERT_FALSE(staged);
  EXPECT_THAT(staged.error().message(), HasSubstr("checksum mismatch for 'file://"));
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app"));
  EXPECT_EQ(read(dir_ / "install/app"), "version one");
}

TEST_F(ABinaryStrategy, RecognisesAnUnrecordedExecutableByItsListedDigest) {
  write(dir_ / "src/app-1", "version one", 0644);
  write(dir_ / "src/app-2", "version two", 0644);
  write(dir_ / "src/SHA256SUMS",
        digest("version one") + "  app-1\n" + digest("version two") + "  app-2\n", 0644);
  plan_.source.checksumsUrl = "file://" + dir_ / "src/SHA256SUMS";
  auto offer = strategy_->resolve();
  ASSERT_TRUE(offer) << offer.error().message();
  EXPECT_EQ(offer->version, "2");
  EXPECT_TRUE(offer->ordered);
  EXPECT_EQ(strategy_->recognise(*strategy_->currentId()), "1");
  EXPECT_EQ(strategy_->recognise(digest("something else")), "");
}

TEST_F(ABinaryStrategy, TellsHooksAndPreflightWhereTheReleasesAre) {
  auto two = stage("2", "version two");
  ASSERT_TRUE(two);
  ReleaseRef one{"1", digest("version one")};
  const std::string staged = dir_ / "install/.app.upgrader-staged";
  Environment env = strategy_->hookEnvironment(one, *two);
  EXPECT_EQ(env.at("UPGRADER_PATH"), dir_ / "install/app");
  EXPECT_EQ(env.at("UPGRADER_STAGED_PATH"), staged);
  EXPECT_EQ(env.at("UPGRADER_OLD_PATH"), dir_ / "install/app.old");
  EXPECT_EQ(strategy_->preflightCommand("@path --version && @path -t", *two),
            staged + " --version && " + staged + " -t");
}

TEST_F(ASymlinkStrategy, RecognisesAReleaseDirectoryByItsName) {
  ASSERT_TRUE(strategy_->resolve() || true);
  EXPECT_EQ(strategy_->recognise(dir_ / "install/releases/1"), "1");
  EXPECT_EQ(strategy_->recognise(dir_ / "install/releases/not a version"), "");
}

TEST_F(ASymlinkStrategy, TellsHooksAndPreflightWhereTheReleasesAre) {
  auto two = stage("2");
  ASSERT_TRUE(two) << two.error().message();
  ReleaseRef one{"1", dir_ / "install/releases/1"};
  Environment env = strategy_->hookEnvironment(one, *two);
  EXPECT_EQ(env.at("UPGRADER_PATH"), dir_ / "install/current");
  EXPECT_EQ(env.at("UPGRADER_STAGED_PATH"), dir_ / "install/releases/2");
  EXPECT_EQ(env.at("UPGRADER_OLD_PATH"), dir_ / "install/releases/1");
  EXPECT_EQ(strategy_->preflightCommand("test -x @path/app-2", *two),
            "test -x " + dir_ / "install/releases/2" + "/app-2");
}

TEST_F(ABinaryStrategy, KeepsTheReleaseARollbackOnRequestWasGoingBackToWhenStoppedMidway) {
  ReleaseRef one{"1", *strategy_->currentId()};
  auto two = stage("2", "version two");
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->swap(one, *two));
  ASSERT_TRUE(strategy_->prune(*two, one));
  // `upgrader rollback`: 1 is staged from PATH.old, the swap prepared while
  // the service still runs, and the run is abandoned there (killed, or
  // PreStop= failed).
  auto back = strategy_->stagePrevious(one);
  ASSERT_TRUE(back);
  ASSERT_TRUE(strategy_->prepareSwap(*two));
  EXPECT_EQ(read(dir_ / "install/app.old"), "version one");  // never touched
  ASSERT_TRUE(strategy_->discard(*back, Discard::kKeepRelease));
  EXPECT_EQ(read(dir_ / "install/app.old"), "version one");
  EXPECT_EQ(read(dir_ / "install/app"), "version two");
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app", "app.old"));
}

TEST_F(ASymlinkStrategy, RemovesOnlyAReleaseDirectoryOfItsOwn) {
  auto st = strategy_->discard({"x", dir_ / "install"}, Discard::kRelease);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("not a release directory in"));
  EXPECT_TRUE(fs::exists(dir_ / "install/releases/1"));
}

TEST_F(ASymlinkStrategy, NeverRemovesWhatAPathThroughALinkInTheReleasesDirectoryNames) {
  // "releases/shared/../victim" reads as releases/victim, but "shared" is
  // a link out of the releases directory: the kernel resolves it to the
  // victim's real place. The state file's path is not believed.
  fs::create_directories(dir_ / "outside/victim");
  write(dir_ / "outside/victim/data", "keep");
  fs::create_directories(dir_ / "outside/sub");
  ASSERT_EQ(::symlink((dir_ / "outside/sub").c_str(),
                      (dir_ / "install/releases/shared").c_str()),
            0);
  for (const std::string& id :
       {dir_ / "install/releases/shared/../victim",
        dir_ / "install/releases/1/..", dir_ / "install/releases/1/.",
        dir_ / "install/releases//1", dir_ / "install/releases/.."}) {
    auto st = strategy_->discard({"9", id}, Discard::kRelease);
    ASSERT_FALSE(st) << id;
    EXPECT_THAT(st.error().message(),
                HasSubstr("refusing to remove '" + id + "': '" + id +
                  "' is not a release directory in"));
  }
  EXPECT_EQ(read(dir_ / "outside/victim/data"), "keep");
  EXPECT_TRUE(fs::exists(dir_ / "install/releases/1/app-1"));
}

TEST_F(ASymlinkStrategy, NeverPointsCurrentOutsideItsReleasesWhateverTheStateFileSays) {
  // A tampered state file names the release to go back to: the link is
  // never pointed at anything but a release directory of ours.
  fs::create_directories(dir_ / "outside/1");
  fs::create_directories(dir_ / "install/releases/shared");
  for (const std::string& id :
       {dir_ / "outside/1", dir_ / "install/releases/shared/../../../outside/1",
        dir_ / "install"}) {
    ReleaseRef elsewhere{"1", id};
    EXPECT_THAT(strategy_->canRevert(elsewhere).error().message(),
                HasSubstr("is not a release directory in")) << id;
    EXPECT_FALSE(strategy_->revert(elsewhere)) << id;
    EXPECT_FALSE(strategy_->stagePrevious(elsewhere)) << id;
    EXPECT_FALSE(strategy_->swap({"1", *strategy_->currentId()}, elsewhere))
        << id;
  }
  EXPECT_EQ(read(dir_ / "install/current/app-1"), "version one");
}

TEST_F(ASymlinkStrategy, RefusesToInstallWhileCurrentPointsOutsideItsReleases) {
  // A rollback could not go back there: said before anything is fetched.
  fs::create_directories(dir_ / "legacy/app");
  fs::remove(dir_ / "install/current");
  ASSERT_EQ(::symlink((dir_ / "legacy/app").c_str(),
                      (dir_ / "install/current").c_str()),
            0);
  auto staged = stage("2");
  ASSERT_FALSE(staged);
  EXPECT_THAT(staged.error().message(),
              HasSubstr("Refusing to install: '" + dir_ / "install/current" +
                        "' points to '" + dir_ / "legacy/app" +
                        "'; move that release into '" +
                        dir_ / "install/releases" + "' first"));
  EXPECT_FALSE(fs::exists(dir_ / "install/releases/2"));
}

TEST_F(ASymlinkStrategy, KeepsTheDirectoryOfARollbackPoint) {
  auto two = stage("2");
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->discard(*two, Discard::kKeepRelease));
  EXPECT_TRUE(fs::exists(dir_ / "install/releases/2"));
  ASSERT_TRUE(strategy_->discard(*two, Discard::kRelease));
  EXPECT_FALSE(fs::exists(dir_ / "install/releases/2"));
}

// A release KeepReleases= kept (or the rollback point), at the version an
// attempt installs again: set aside whole, never replaced in place.
class ASymlinkStrategyWithAKeptRelease : public ASymlinkStrategy {
 protected:
  ASymlinkStrategyWithAKeptRelease() {
    fs::create_directories(dir_ / "install/releases/2");
    write(dir_ / "install/releases/2/app-2", "version 2, as kept");
    write(dir_ / "install/releases/2/note", "the operator's");
  }
  void expectKeptAsItWas() {
    EXPECT_EQ(read(dir_ / "install/releases/2/app-2"), "version 2, as kept");
    EXPECT_EQ(read(dir_ / "install/releases/2/note"), "the operator's");
    EXPECT_THAT(entries(dir_ / "install/releases"), ::testing::ElementsAre("1", "2"));
  }
  ReleaseRef one{"1", dir_ / "install/releases/1"};
};

TEST_F(ASymlinkStrategyWithAKeptRelease, PutsItBackAfterAFailedAttemptAtItsVersion) {
  auto two = stage("2");
  ASSERT_TRUE(two) << two.error().message();
  EXPECT_EQ(read(dir_ / "install/releases/2/app-2"), "version 2");
  ASSERT_TRUE(strategy_->swap(one, *two));
  ASSERT_TRUE(strategy_->revert(one));
  ASSERT_TRUE(strategy_->discard(*two, Discard::kRelease));
  expectKeptAsItWas();
  EXPECT_EQ(read(dir_ / "install/current/app-1"), "version one");
}

TEST_F(ASymlinkStrategyWithAKeptRelease, PutsTheRollbackPointBackAfterAFailedDowngradeToIt) {
  auto two = stage("2");
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->discard(*two, Discard::kKeepRelease));
  expectKeptAsItWas();
}

TEST_F(ASymlinkStrategyWithAKeptRelease, DropsWhatItSetAsideOnlyAtTheCommit) {
  auto two = stage("2");
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->swap(one, *two));
  EXPECT_TRUE(fs::exists(dir_ / "install/releases/.2.upgrader-replaced"));
  ASSERT_TRUE(strategy_->prune(*two, one));
  EXPECT_THAT(entries(dir_ / "install/releases"), ::testing::ElementsAre("1", "2"));
  EXPECT_EQ(read(dir_ / "install/current/app-2"), "version 2");
}

TEST_F(ASymlinkStrategyWithAKeptRelease, PutsItBackWhenARunWasKilledBetweenItsRenames) {
  fs::rename(dir_ / "install/releases/2", dir_ / "install/releases/.2.upgrader-replaced");
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  expectKeptAsItWas();
}

TEST_F(ASymlinkStrategyWithAKeptRelease, DropsItWhenACommitWasKilledBeforeItsPrune) {
  auto two = stage("2");
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->swap(one, *two));
  // A new process: nothing of the first one's memory.
  make();
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_THAT(entries(dir_ / "install/releases"), ::testing::ElementsAre("1", "2"));
  EXPECT_EQ(read(dir_ / "install/current/app-2"), "version 2");
}

TEST_F(ASymlinkStrategyWithAKeptRelease, PutsItBackAfterARecoveryInANewProcess) {
  auto two = stage("2");
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->swap(one, *two));
  make();
  ASSERT_TRUE(strategy_->revert(one));
  ASSERT_TRUE(strategy_->discard(*two, Discard::kRelease));
  expectKeptAsItWas();
}

TEST_F(ABinaryStrategy, RefusesADirectoryOthersCanWriteBeforeDownloading) {
  ASSERT_EQ(::chmod((dir_ / "install").c_str(), 0775), 0);
  publish("2", "version two");
  ASSERT_TRUE(strategy_->resolve());
  auto staged = strategy_->acquire({});
  ASSERT_FALSE(staged);
  EXPECT_THAT(staged.error().message(),
              HasSubstr("Refusing to install into '" + install() + "': '" + install() +
                        "' is writable by its group"));
  EXPECT_THAT(entries(install()), ::testing::ElementsAre("app"));
}

TEST_F(ABinaryStrategy, RefusesAPathThatIsASymlink) {
  write(dir_ / "install/real-app", "version one", 0755);
  ASSERT_TRUE(removeIfExists(dir_ / "install/app"));
  ASSERT_EQ(::symlink("real-app", (dir_ / "install/app").c_str()), 0);
  auto current = strategy_->currentId();
  ASSERT_FALSE(current);
  EXPECT_THAT(current.error().message(), HasSubstr("is a symbolic link"));
}

TEST_F(ASymlinkStrategy, RefusesAReleasesDirectoryOthersCanWrite) {
  ASSERT_EQ(::chmod((dir_ / "install/releases").c_str(), 0777), 0);
  auto two = stage("2");
  ASSERT_FALSE(two);
  EXPECT_THAT(two.error().message(), HasSubstr("is writable by everyone"));
}

TEST_F(ASymlinkStrategy, RemovesWhatAKilledRemovalLeftUnderItsTempName) {
  // A removal renames the release out of the way first: killed half-way,
  // it leaves ".3.upgrader-removing", never a partial "3".
  fs::create_directories(dir_ / "install/releases/.3.upgrader-removing/bin");
  write(dir_ / "install/releases/.3.upgrader-removing/bin/app", "half gone");
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_THAT(entries(dir_ / "install/releases"), ::testing::ElementsAre("1"));
}

TEST_F(ASymlinkStrategy, PrunesWithoutLeavingAnythingUnderATempName) {
  ReleaseRef one{"1", *strategy_->currentId()};
  ReleaseRef last = one;
  for (std::string v : {"2", "3"}) {
    auto next = stage(v);
    ASSERT_TRUE(next);
    ASSERT_TRUE(strategy_->swap(last, *next));
    last = *next;
  }
  ReleaseRef two{"2", dir_ / "install/releases/2"};
  ASSERT_TRUE(strategy_->prune(last, two));
  EXPECT_THAT(entries(dir_ / "install/releases"), ::testing::ElementsAre("2", "3"));
}

}  // namespace
}  // namespace upgrader
