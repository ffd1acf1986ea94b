// The image strategy with a registry and an engine in memory and its files
// in a temporary directory: which release it resolves, that nothing but
// the resolved digest is ever staged, that a refused release leaves
// nothing pulled behind, and that only images it pulled are removed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/filesystem.hpp>
#include <fstream>
#include <optional>

#include "common/file_util.hpp"
#include "fetch/http_client.hpp"
#include "strategy/image_strategy.hpp"
#include "strategy/pull_record.hpp"
#include "support/fake_container.hpp"
#include "support/fake_fetcher.hpp"
#include "support/minisign_tool.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using testing::FakeEngine;
using testing::FakeRegistry;
using testing::MinisignTool;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;
using testing::fakeDigest;
using testing::kTestImage;

std::string pullRef(char c) { return kTestImage + "@" + fakeDigest(c); }
std::string pinned(const std::string& tag, char c) {
  return kTestImage + ":" + tag + "@" + fakeDigest(c);
}

class AnImageStrategy : public ::testing::Test {
 protected:
  AnImageStrategy() {
    plan_.install.mode = InstallConfig::Mode::kContainer;
    plan_.container.image = kTestImage + ":@v";
    plan_.container.keepImages = 2;
    registry_.tags = {
        {"1", fakeDigest('1')}, {"2", fakeDigest('2')}, {"latest", fakeDigest('l')}};
    boost::filesystem::create_directories(dir_ / "state");
    pin(pinned("1", '1'));
    // Version 1 was there before the upgrader: the engine holds it, and
    // the upgrader did not pull it.
    engine_.held[pullRef('1')] = {"sha256:id1", {pullRef('1')}};
    make();
  }

  void make() {
    strategy_ = makeImageStrategy(plan_, registry_, engine_, fetcher_,
                                  {dir_ / "state/image.env",
                                   dir_ / "state/images.json",
                                   {dir_ / "auth.json"}});
  }
  void pin(const std::string& reference) {
    ASSERT_TRUE(writeFileAtomically(dir_ / "state/image.env",
                                    "UPGRADER_IMAGE=" + reference + "\n"));
  }
  std::string pinnedNow() {
    auto p = readPinnedImage(dir_ / "state/image.env");
    return p ? *p : "<" + p.error().message() + ">";
  }
  std::string record() {
    auto text = readFile(dir_ / "state/images.json");
    return text ? *text : "";
  }
  Result<Staged> upgrade() {
    auto offer = strategy_->resolve();
    if (!offer) return offer.error();
    return strategy_->acquire({});
  }
  ReleaseRef one() { return {"1", pinned("1", '1')}; }

  TempDir dir_;
  Plan plan_;
  FakeRegistry registry_;
  FakeFetcher fetcher_;  // serves the signed listing of digests
  FakeEngine engine_;
  std::unique_ptr<Strategy> strategy_;
};

TEST_F(AnImageStrategy, OffersTheNewestVersionTag) {
  auto offer = strategy_->resolve();
  ASSERT_TRUE(offer) << offer.error().message();
  EXPECT_EQ(offer->version, "2");
  EXPECT_TRUE(offer->ordered);
  EXPECT_EQ(*strategy_->currentId(), pinned("1", '1'));
  EXPECT_EQ(strategy_->recognise(pinned("1", '1')), "1");
  EXPECT_EQ(strategy_->recognise(kTestImage + ":1"), "1");  // written by hand
  EXPECT_EQ(strategy_->recognise("other.io/svc:1@" + fakeDigest('1')), "");
}

TEST_F(AnImageStrategy, OffersAPinnedVersion) {
  plan_.container.version = Version("1");
  auto offer = strategy_->resolve();
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->version, "1");
}

TEST_F(AnImageStrategy, FollowsTheDigestBehindAFixedTag) {
  plan_.container.image = kTestImage + ":latest";
  make();
  auto offer = strategy_->resolve();
  ASSERT_TRUE(offer) << offer.error().message();
  EXPECT_EQ(offer->version, fakeDigest('l'));
  EXPECT_FALSE(offer->ordered);  // digests have no order
  EXPECT_EQ(strategy_->recognise(pinned("latest", 'x')), fakeDigest('x'));
  auto staged = strategy_->acquire({});
  ASSERT_TRUE(staged) << staged.error().message();
  EXPECT_EQ(staged->release.id, pinned("latest", 'l'));
}

TEST_F(AnImageStrategy, RefusesADigestOtherThanThePinnedOneBeforePulling) {
  plan_.container.version = Version("2");
  plan_.container.digest = fakeDigest('9');
  auto offer = strategy_->resolve();
  ASSERT_FALSE(offer);
  EXPECT_EQ(offer.error().message(), "digest mismatch for '" + kTestImage +
                                         ":2': the registry serves " +
                                         fakeDigest('2') + ", Digest= pins " +
                                         fakeDigest('9') + "; nothing was pulled");
  EXPECT_TRUE(engine_.calls.empty());
}

TEST_F(AnImageStrategy, RefusesTagsThatAreEquallyNew) {
  registry_.tags = {{"1.2", fakeDigest('a')}, {"1.02", fakeDigest('b')}};
  auto offer = strategy_->resolve();
  ASSERT_FALSE(offer);
  EXPECT_THAT(offer.error().message(), HasSubstr("are equally new"));
}

TEST_F(AnImageStrategy, SaysWhenNoTagFitsThePattern) {
  plan_.container.image = kTestImage + ":@v-full";
  make();
  auto offer = strategy_->resolve();
  ASSERT_FALSE(offer);
  EXPECT_EQ(
      offer.error().message(),
      "no tag of '" + kTestImage +
          "' matches '@v-full' with a release number (digits and dots) for @v");
}

TEST_F(AnImageStrategy, NeverOffersAPreReleaseOrAnotherVariant) {
  // NocoBase's and nginx's tags: the version order ranks a '-' suffix
  // above the release, so only release numbers count.
  plan_.container.image = kTestImage + ":@v-full";
  registry_.tags = {{"1.7.14-full", fakeDigest('a')},
                    {"1.8.0-beta.3-full", fakeDigest('b')},
                    {"latest-full", fakeDigest('c')}};
  make();
  auto offer = strategy_->resolve();
  ASSERT_TRUE(offer) << offer.error().message();
  EXPECT_EQ(offer->version, "1.7.14");
  registry_.tags["1.8.0-full"] = fakeDigest('d');
  EXPECT_EQ(strategy_->resolve()->version, "1.8.0");
  plan_.container.image = kTestImage + ":@v";
  registry_.tags = {{"1.27.3", fakeDigest('a')},
                    {"1.27.3-alpine", fakeDigest('b')},
                    {"1.27.3-perl", fakeDigest('c')}};
  make();
  EXPECT_EQ(strategy_->resolve()->version, "1.27.3");
}

TEST_F(AnImageStrategy, InstallsAPinnedPreReleaseWhenAskedTo) {
  plan_.container.image = kTestImage + ":@v-full";
  plan_.container.version = Version("1.8.0-beta.3");
  registry_.tags = {{"1.8.0-beta.3-full", fakeDigest('b')}};
  make();
  auto offer = strategy_->resolve();
  ASSERT_TRUE(offer) << offer.error().message();
  EXPECT_EQ(offer->version, "1.8.0-beta.3");
}

TEST_F(AnImageStrategy, PullsByDigestVerifiesAndStagesThePinnedReference) {
  auto staged = upgrade();
  ASSERT_TRUE(staged) << staged.error().message();
  EXPECT_EQ(staged->release, (ReleaseRef{"2", pinned("2", '2')}));
  EXPECT_THAT(staged->evidence,
              HasSubstr("image digest " + fakeDigest('2') +
                        ", unsigned (AllowUnsigned=yes), pulled by podman"));
  EXPECT_THAT(engine_.calls,
              ElementsAre("inspect " + pullRef('2'), "pull " + pullRef('2'),
                          "inspect " + pullRef('2')));
  auto stagedFile = readPinnedImage(dir_ / "state/.image.env.upgrader-staged");
  ASSERT_TRUE(stagedFile);
  EXPECT_EQ(*stagedFile, pinned("2", '2'));
  EXPECT_EQ(pinnedNow(), pinned("1", '1'));  // nothing in place changed
  // Not the upgrader's for good until a commit pins it.
  EXPECT_THAT(record(), HasSubstr("\"state\": \"pulling\""));
}

TEST_F(AnImageStrategy, PassesTheRegistrysCredentialsToThePull) {
  std::ofstream(dir_ / "auth.json")
      << R"({"auths":{"127.0.0.1:5000":{"auth":")" + base64Encode("ci:pw") +
             R"("}}})";
  ASSERT_TRUE(upgrade());
  ASSERT_EQ(engine_.credentialsSeen.size(), 1u);
  ASSERT_TRUE(engine_.credentialsSeen[0]);
  EXPECT_EQ(engine_.credentialsSeen[0]->username, "ci");
}

TEST_F(AnImageStrategy, AFailedPullLeavesNothingBehind) {
  engine_.pullFailure = "connection refused";
  auto staged = upgrade();
  ASSERT_FALSE(staged);
  EXPECT_THAT(staged.error().message(), HasSubstr("connection refused"));
  EXPECT_FALSE(engine_.holds(pullRef('2')));
  EXPECT_THAT(record(), Not(HasSubstr(fakeDigest('2'))));
  EXPECT_FALSE(pathExists(dir_ / "state/.image.env.upgrader-staged"));
}

TEST_F(AnImageStrategy, RemovesAndRefusesAnImageThatDoesNotCarryTheDigest) {
  // An engine (or a registry lying to it) that ends up with other content.
  engine_.pullYields[pullRef('2')] = {"sha256:evil",
                                      {kTestImage + "@" + fakeDigest('e')}};
  auto staged = upgrade();
  ASSERT_FALSE(staged);
  EXPECT_EQ(staged.error().message(), "podman holds no image with digest " +
                                          fakeDigest('2') + " for '" + kTestImage +
                                          "' after the pull");
  EXPECT_FALSE(engine_.holds(pullRef('2')));
  EXPECT_THAT(record(), Not(HasSubstr(fakeDigest('2'))));
}

TEST_F(AnImageStrategy, NeverPullsNorRemovesAnImageTheEngineAlreadyHad) {
  engine_.held[pullRef('2')] = {"sha256:id2", {pullRef('2')}};
  auto staged = upgrade();
  ASSERT_TRUE(staged) << staged.error().message();
  EXPECT_THAT(staged->evidence, HasSubstr("already held by podman"));
  EXPECT_EQ(engine_.count("pull"), 0u);
  ASSERT_TRUE(strategy_->discard(staged->release,
                                 Discard::kRelease));  // the upgrade failed
  EXPECT_TRUE(engine_.holds(pullRef('2')));            // not ours to remove
}

TEST_F(AnImageStrategy, SwapsTheEnvironmentFileKeepingTheOldOneAndRevertsIt) {
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->prepareSwap(one()));
  ASSERT_TRUE(strategy_->swap(one(), staged->release));
  EXPECT_EQ(pinnedNow(), pinned("2", '2'));
  EXPECT_EQ(*readPinnedImage(dir_ / "state/.image.env.upgrader-replaced"), pinned("1", '1'));
  ASSERT_TRUE(strategy_->swap(one(), staged->release));  // again: harmless
  ASSERT_TRUE(strategy_->canRevert(one()));
  ASSERT_TRUE(strategy_->revert(one()));
  EXPECT_EQ(pinnedNow(), pinned("1", '1'));
  EXPECT_FALSE(pathExists(dir_ / "state/image.env.old"));  // none before, none after
}

TEST_F(AnImageStrategy, AFailedAttemptKeepsTheRollbackPointAndItsImage) {
  auto two = upgrade();
  ASSERT_TRUE(two);
  ASSERT_TRUE(strategy_->prepareSwap(one()));
  ASSERT_TRUE(strategy_->swap(one(), two->release));
  ASSERT_TRUE(strategy_->prune(two->release, one()));  // 2 committed
  EXPECT_EQ(*readPinnedImage(dir_ / "state/image.env.old"), pinned("1", '1'));
  // 3 fails: 2 comes back, and 1 stays the rollback point, image and all.
  registry_.tags["3"] = fakeDigest('3');
  make();
  auto three = upgrade();
  ASSERT_TRUE(three) << three.error().message();
  ReleaseRef two_{"2", pinned("2", '2')};
  ASSERT_TRUE(strategy_->prepareSwap(two_));
  ASSERT_TRUE(strategy_->swap(two_, three->release));
  ASSERT_TRUE(strategy_->revert(two_));
  ASSERT_TRUE(strategy_->discard(three->release, Discard::kRelease));
  EXPECT_EQ(pinnedNow(), pinned("2", '2'));
  EXPECT_EQ(*readPinnedImage(dir_ / "state/image.env.old"), pinned("1", '1'));
  EXPECT_TRUE(engine_.holds(pullRef('1')));
  EXPECT_FALSE(engine_.holds(pullRef('3')));
  EXPECT_TRUE(strategy_->stagePrevious(one()));
}

TEST_F(AnImageStrategy, NeverRemovesAnImageAnotherInstanceRecords) {
  // Another instance on the same engine pulled 2 as well (or is pulling it).
  boost::filesystem::create_directories(dir_ / "other");
  ASSERT_TRUE(writeFileAtomically(
      dir_ / "other/images.json",
      R"({"images":[{"reference":")" + pullRef('2') + R"(","state":"pulling"}]})"));
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->swap(one(), staged->release));
  ASSERT_TRUE(strategy_->revert(one()));
  ASSERT_TRUE(strategy_->discard(staged->release, Discard::kRelease));  // 2 failed here
  EXPECT_TRUE(engine_.holds(pullRef('2')));  // the other instance's to keep
  // Still on record, to be removed once nothing else names it.
  EXPECT_THAT(record(), HasSubstr(fakeDigest('2')));
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_TRUE(engine_.holds(pullRef('2')));
  ASSERT_TRUE(removeIfExists(dir_ / "other/images.json"));
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_FALSE(engine_.holds(pullRef('2')));
  EXPECT_THAT(record(), Not(HasSubstr(fakeDigest('2'))));
}

TEST_F(AnImageStrategy, KeepsAnImageAComposeInstanceNamesByItsTagAlone) {
  // A compose project on the same engine runs svc:2, named by tag only.
  boost::filesystem::create_directories(dir_ / "compose");
  std::string tagOnly = kTestImage + ":2";
  ASSERT_TRUE(writeFileAtomically(
      dir_ / "compose/images.json",
      R"({"images":[{"reference":")" + tagOnly + R"(","state":"using"}]})"));
  engine_.held[tagOnly] = {"sha256:id2", {pullRef('2')}};
  engine_.held[pullRef('2')] = {"sha256:id2", {pullRef('2')}};
  engine_.held[pullRef('3')] = {"sha256:id3", {pullRef('3')}};
  EXPECT_TRUE(otherInstanceRecords(dir_ / "state/images.json", pullRef('2'), &engine_));
  EXPECT_FALSE(otherInstanceRecords(dir_ / "state/images.json", pullRef('3'), &engine_));
  // The same digest under another name is the same image, too.
  std::string byDigest = "other.example/mirror@" + fakeDigest('3');
  ASSERT_TRUE(writeFileAtomically(
      dir_ / "compose/images.json",
      R"({"images":[{"reference":")" + byDigest + R"(","state":"pulled"}]})"));
  EXPECT_TRUE(otherInstanceRecords(dir_ / "state/images.json", pullRef('3')));
}

TEST_F(AnImageStrategy, RecordsAnImageItFoundHeldAsUsedAndNeverRemovesIt) {
  engine_.held[pullRef('2')] = {"sha256:id2", {pullRef('2')}};
  auto staged = upgrade();
  ASSERT_TRUE(staged) << staged.error().message();
  EXPECT_THAT(record(), HasSubstr(R"("state": "using")"));
  ASSERT_TRUE(strategy_->discard(staged->release, Discard::kRelease));
  EXPECT_TRUE(engine_.holds(pullRef('2')));
  EXPECT_THAT(record(), Not(HasSubstr(fakeDigest('2'))));
}

TEST_F(AnImageStrategy, AnImageItUsesKeepsAnotherInstanceFromRemovingIt) {
  // This instance runs 2, which it found held; the other pulled it and
  // now prunes it.
  engine_.held[pullRef('2')] = {"sha256:id2", {pullRef('2')}};
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->swap(one(), staged->release));
  ASSERT_TRUE(strategy_->prune(staged->release, one()));
  boost::filesystem::create_directories(dir_ / "other");
  PullRecord theirs;
  theirs.entries.push_back({pullRef('2'), "pulled"});
  ASSERT_TRUE(savePullRecord(dir_ / "other/images.json", theirs));
  ASSERT_TRUE(releasePull(theirs, dir_ / "other/images.json", engine_, pullRef('2')));
  EXPECT_TRUE(engine_.holds(pullRef('2')));
  // Still on their record: theirs to remove once this instance is done.
  EXPECT_EQ(theirs.entries.size(), 1u);
}

TEST_F(AnImageStrategy, PullsNothingOnceTheRunsRegistryTimeHasPassed) {
  ASSERT_TRUE(strategy_->resolve());
  registry_.deadlinePassed = "gave up on the registry: RegistryTimeoutSec=1s has passed";
  auto staged = strategy_->acquire({});
  ASSERT_FALSE(staged);
  EXPECT_THAT(staged.error().message(), HasSubstr("RegistryTimeoutSec=1s has passed"));
  EXPECT_EQ(engine_.count("pull " + pullRef('2')), 0u);
  EXPECT_TRUE(record().empty() || record().find(fakeDigest('2')) == std::string::npos);
  EXPECT_FALSE(pathExists(dir_ / "state/.image.env.upgrader-staged"));
}

TEST_F(AnImageStrategy, RemovesTheImageOfAReleaseThatFailed) {
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->swap(one(), staged->release));
  ASSERT_TRUE(strategy_->revert(one()));
  ASSERT_TRUE(strategy_->discard(staged->release, Discard::kRelease));
  EXPECT_FALSE(engine_.holds(pullRef('2')));
  EXPECT_TRUE(engine_.holds(pullRef('1')));
  EXPECT_THAT(record(), Not(HasSubstr(fakeDigest('2'))));
}

TEST_F(AnImageStrategy, RemovesAPullARunKilledBeforeItsCommitLeft) {
  auto staged = upgrade();  // killed afterwards, in Preflight= say
  ASSERT_TRUE(staged);
  make();  // the next run
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_FALSE(engine_.holds(pullRef('2')));
  EXPECT_THAT(record(), Not(HasSubstr(fakeDigest('2'))));
}

TEST_F(AnImageStrategy, TakesAnImageForGoodOnceACommitPinsIt) {
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->swap(one(), staged->release));
  ASSERT_TRUE(strategy_->prune(staged->release, one()));
  EXPECT_THAT(record(), HasSubstr("\"state\": \"pulled\""));
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_TRUE(engine_.holds(pullRef('2')));
}

TEST_F(AnImageStrategy, KeepsGoingWhenAnImageCannotBeRemovedAndSaysSo) {
  ASSERT_TRUE(
      writeFileAtomically(dir_ / "state/images.json",
                          R"({"images":[{"reference":")" + pullRef('3') +
                              R"(","state":"pulling"},)"
                              R"({"reference":")" +
                              pullRef('4') + R"(","state":"pulling"}]})"));
  for (char c : {'3', '4'}) engine_.held[pullRef(c)] = {"id", {pullRef(c)}};
  engine_.inUse.insert(pullRef('3'));
  auto st = strategy_->discard({}, Discard::kLeftovers);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("in use"));
  EXPECT_FALSE(engine_.holds(pullRef('4')));       // the others still go
  EXPECT_THAT(record(), HasSubstr(pullRef('3')));  // tried again next time
  EXPECT_THAT(record(), Not(HasSubstr(pullRef('4'))));
}

TEST_F(AnImageStrategy, KeepsTheImageAndTheFileOfARollbackPoint) {
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->discard(staged->release, Discard::kKeepRelease));
  EXPECT_TRUE(engine_.holds(pullRef('2')));
}

TEST_F(AnImageStrategy, ReadsAWronglyTypedPullRecordAsAnError) {
  ASSERT_TRUE(
      writeFileAtomically(dir_ / "state/images.json",
                          R"({"images":[{"reference":"x","state":7}]})"));
  auto st = strategy_->discard({}, Discard::kLeftovers);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(),
              HasSubstr("without a reference or a state"));
}

TEST_F(AnImageStrategy, KillsContainersAMigrationLeftRunningTheNewImage) {
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  std::string newImage = engine_.held[pullRef('2')].id;
  engine_.running = {{"aaa1", newImage}, {"bbb2", "sha256:id1"}};
  ASSERT_TRUE(strategy_->quiesce(staged->release));
  EXPECT_THAT(engine_.calls, Contains("kill aaa1"));
  EXPECT_THAT(engine_.calls, Not(Contains("kill bbb2")));  // not the new image
}

TEST_F(AnImageStrategy,
       RevertsWhenTheEngineDoesNotAnswerButNotWhenTheImageIsGone) {
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->swap(one(), staged->release));
  engine_.engineFailure = "Failed to reach the socket";
  EXPECT_TRUE(strategy_->canRevert(one()));
  engine_.engineFailure.clear();
  engine_.held.erase(pullRef('1'));
  EXPECT_FALSE(strategy_->canRevert(one()));
}

TEST_F(AnImageStrategy, StagesARollbackPointReadableLikeTheFileItReplaces) {
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->swap(one(), staged->release));
  ASSERT_TRUE(strategy_->prune(staged->release, one()));
  auto back = strategy_->stagePrevious(one());
  ASSERT_TRUE(back) << back.error().message();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "state/.image.env.upgrader-staged").c_str(), &st),
            0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(AnImageStrategy, RemovesAPullAKilledRunLeftButNotOneInPlace) {
  ASSERT_TRUE(
      writeFileAtomically(dir_ / "state/images.json",
                          R"({"images":[{"reference":")" + pullRef('3') +
                              R"(","state":"pulling"},)"
                              R"({"reference":")" +
                              pullRef('1') + R"(","state":"pulling"}]})"));
  engine_.held[pullRef('3')] = {"sha256:id3", {pullRef('3')}};
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_FALSE(engine_.holds(pullRef('3')));
  EXPECT_TRUE(engine_.holds(pullRef('1')));  // the unit runs it
  EXPECT_THAT(record(), HasSubstr(pullRef('1')));
  EXPECT_THAT(record(), Not(HasSubstr(pullRef('3'))));
}

TEST_F(AnImageStrategy, TouchesNoEngineWhenThereIsNothingToClean) {
  ASSERT_TRUE(strategy_->discard({}, Discard::kLeftovers));
  EXPECT_TRUE(engine_.calls.empty());
}

TEST_F(AnImageStrategy, PrunesOnlyItsOwnImagesBeyondKeepImages) {
  std::string entries;
  for (char c : {'3', '4', '5', '6'}) {
    engine_.held[pullRef(c)] = {"id", {pullRef(c)}};
    if (!entries.empty()) entries += ",";
    entries += R"({"reference":")" + pullRef(c) + R"(","state":"pulled"})";
  }
  ASSERT_TRUE(writeFileAtomically(dir_ / "state/images.json",
                                  R"({"images":[)" + entries + "]}"));
  // In service 4, rollback point 3: both stay whatever their age; with
  // KeepImages=2 nothing else does. Version 1 was never ours.
  ASSERT_TRUE(
      strategy_->prune({"4", pinned("4", '4')}, {"3", pinned("3", '3')}));
  EXPECT_TRUE(engine_.holds(pullRef('3')));
  EXPECT_TRUE(engine_.holds(pullRef('4')));
  EXPECT_FALSE(engine_.holds(pullRef('5')));
  EXPECT_FALSE(engine_.holds(pullRef('6')));
  EXPECT_TRUE(engine_.holds(pullRef('1')));
}

TEST_F(AnImageStrategy, KeepsAnImageInUseOnRecordForTheNextPrune) {
  engine_.held[pullRef('5')] = {"id", {pullRef('5')}};
  engine_.inUse.insert(pullRef('5'));
  ASSERT_TRUE(writeFileAtomically(dir_ / "state/images.json",
                                  R"({"images":[{"reference":")" +
                                      pullRef('5') +
                                      R"(","state":"pulled"}]})"));
  auto st = strategy_->prune({"4", pinned("4", '4')}, {"3", pinned("3", '3')});
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("in use"));
  EXPECT_THAT(record(), HasSubstr(pullRef('5')));
}

TEST_F(AnImageStrategy, WillNotRevertToAnImageTheEngineNoLongerHas) {
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  ASSERT_TRUE(strategy_->swap(one(), staged->release));
  engine_.held.erase(pullRef('1'));
  auto st = strategy_->canRevert(one());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "the image of 1 ('" + pullRef('1') + "') is no longer in podman");
}

TEST_F(AnImageStrategy, TellsHooksAndPreflightWhichImages) {
  auto staged = upgrade();
  ASSERT_TRUE(staged);
  Environment env = strategy_->hookEnvironment(one(), staged->release);
  EXPECT_EQ(env.at("UPGRADER_IMAGE"), pinned("2", '2'));
  EXPECT_EQ(env.at("UPGRADER_OLD_IMAGE"), pinned("1", '1'));
  EXPECT_EQ(env.at("UPGRADER_ENVIRONMENT_FILE"), dir_ / "state/image.env");
  EXPECT_EQ(strategy_->preflightCommand("podman run --rm @image --version",
                                        staged->release),
            "podman run --rm " + pinned("2", '2') + " --version");
}

TEST_F(AnImageStrategy, ExplainsHowToStartWhenNoImageIsPinnedYet) {
  ASSERT_TRUE(removeIfExists(dir_ / "state/image.env"));
  auto current = strategy_->currentId();
  ASSERT_FALSE(current);
  EXPECT_THAT(
      current.error().message(),
      HasSubstr("write UPGRADER_IMAGE=<the image the unit runs now> there"));
}

TEST(ReadPinnedImage, ReadsTheVariableQuotedOrNot) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(
      dir / "a.env", "# comment\n\n  UPGRADER_IMAGE=\"r.io/a:1\"\n"));
  EXPECT_EQ(*readPinnedImage(dir / "a.env"), "r.io/a:1");
  ASSERT_TRUE(writeFileAtomically(dir / "b.env", "; nothing\n"));
  EXPECT_THAT(readPinnedImage(dir / "b.env").error().message(),
              HasSubstr("has no UPGRADER_IMAGE= line"));
  ASSERT_TRUE(writeFileAtomically(dir / "c.env",
                                  "UPGRADER_IMAGE=r.io/a:1 --privileged\n"));
  EXPECT_THAT(
      readPinnedImage(dir / "c.env").error().message(),
      HasSubstr("line 1: UPGRADER_IMAGE= does not hold one image reference"));
  ASSERT_TRUE(writeFileAtomically(dir / "d.env",
                                  "UPGRADER_IMAGE=r.io/a/../b:1?x=#y\n"));
  EXPECT_FALSE(readPinnedImage(dir / "d.env"));
  ASSERT_TRUE(writeFileAtomically(
      dir / "e.env",
      "UPGRADER_IMAGE=r.io/a@sha256:" + std::string(64, 'e') + "\n"));
  EXPECT_TRUE(readPinnedImage(dir / "e.env"));
}

TEST(ReadPinnedImage, RefusesAFileThatHoldsMoreThanTheImage) {
  // The file is swapped as a whole: a password kept in it would vanish
  // with the next upgrade.
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(
      dir / "env", "UPGRADER_IMAGE=r.io/a:1\nDB_PASSWORD=hunter2\n"));
  auto pinned = readPinnedImage(dir / "env");
  ASSERT_FALSE(pinned);
  EXPECT_THAT(
      pinned.error().message(),
      HasSubstr("line 2: assigns something other than UPGRADER_IMAGE="));
  EXPECT_THAT(pinned.error().message(), Not(HasSubstr("hunter2")));
  ASSERT_TRUE(writeFileAtomically(
      dir / "twice", "UPGRADER_IMAGE=r.io/a:1\nUPGRADER_IMAGE=r.io/a:2\n"));
  EXPECT_THAT(readPinnedImage(dir / "twice").error().message(),
              HasSubstr("a second time"));
}

// --- With [Trust] keys: the registry is trusted for availability only.

const std::string kDigestsUrl = "https://example.com/DIGESTS";

class AnImageStrategyWithKeys : public AnImageStrategy {
 protected:
  void SetUp() override {
    auto found = MinisignTool::find();
    if (!found) GTEST_SKIP() << MinisignTool::kMissing;
    tool_.emplace(*found, dir_.path());
    auto key = parseMinisignKey(tool_->generate("vendor"));
    ASSERT_TRUE(key) << key.error().message();
    plan_.trust.keys = {*key};
    plan_.container.digestsUrl = kDigestsUrl;
    make();
  }

  // Serves `listing` as DIGESTS, signed by key `signer`.
  void serve(const std::string& listing,
             const std::string& signer = "vendor") {
    fetcher_.texts[kDigestsUrl] = listing;
    fetcher_.texts[kDigestsUrl + ".minisig"] =
        tool_->signText(signer, "DIGESTS", listing);
  }

  static std::string line(char c, const std::string& tag) {
    return std::string(64, c) + "  " + tag + "\n";
  }

  std::string refusal() {
    auto staged = upgrade();
    EXPECT_FALSE(staged);
    return staged ? "" : staged.error().message();
  }

  std::optional<MinisignTool> tool_;
};

TEST_F(AnImageStrategyWithKeys, PullsTheDigestTheSignedListingNames) {
  serve(line('1', "1") + line('2', "2"));
  auto staged = upgrade();
  ASSERT_TRUE(staged) << staged.error().message();
  EXPECT_THAT(staged->evidence,
              HasSubstr("image digest " + fakeDigest('2') +
                        ", digest listing signed by key " +
                        plan_.trust.keys[0].idHex()));
  EXPECT_THAT(engine_.calls, Contains("pull " + pullRef('2')));
}

TEST_F(AnImageStrategyWithKeys, RefusesADigestTheListingDoesNotNameBeforePulling) {
  serve(line('f', "2"));
  EXPECT_EQ(refusal(), "digest mismatch for '" + kTestImage +
                           ":2': the registry serves " + fakeDigest('2') +
                           ", the signed listing '" + kDigestsUrl +
                           "' says " + fakeDigest('f') + "; nothing was pulled");
  EXPECT_TRUE(engine_.calls.empty());
}

TEST_F(AnImageStrategyWithKeys, RefusesATagTheListingDoesNotHave) {
  serve(line('1', "1"));
  EXPECT_EQ(refusal(), "tag '2' of '" + kTestImage + "' is not in the signed "
                       "listing '" + kDigestsUrl + "'; nothing was pulled");
  EXPECT_TRUE(engine_.calls.empty());
}

TEST_F(AnImageStrategyWithKeys, RefusesAListingSignedByAnotherKey) {
  tool_->generate("attacker");
  serve(line('2', "2"), "attacker");
  EXPECT_THAT(refusal(), HasSubstr("Refusing '" + kDigestsUrl +
                                   "': its signature '" + kDigestsUrl +
                                   ".minisig' does not verify"));
  EXPECT_TRUE(engine_.calls.empty());
}

}  // namespace
}  // namespace upgrader
