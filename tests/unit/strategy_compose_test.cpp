// The compose strategy with its files in a temporary directory, and the
// compose tool, registry and engine in memory: the env file is staged with
// only its version line changed, every image the rendered release names is
// held before anything stops, a refused release keeps nothing it pulled,
// and the project check sees containers that exit or restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "common/file_util.hpp"
#include "compose/project_probe.hpp"
#include "strategy/compose_strategy.hpp"
#include "strategy/pull_record.hpp"
#include "support/fake_container.hpp"
#include "support/fake_fetcher.hpp"
#include "support/manual_clock.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;
using testing::FakeEngine;
using testing::FakeRegistry;
using testing::ManualClock;
using testing::TempDir;
using testing::fakeDigest;
using testing::kTestImage;

// Renders a project from the version its env file sets: web runs
// svc:VERSION, db runs a fixed image.
class FakeComposeTool : public ComposeTool {
 public:
  std::vector<ComposeInvocation> calls;
  std::string failure;
  std::string dbImage = "127.0.0.1:5000/db:16";

  Result<ComposeModel> render(const ComposeInvocation& in) override {
    calls.push_back(in);
    if (!failure.empty()) return Error(failure);
    auto version = readVersionVariable(in.envFile, "APP_VERSION");
    if (!version) return version.error();
    return ComposeModel{{{"db", dbImage}, {"web", kTestImage + ":" + *version}}};
  }
};

class AComposeStrategy : public ::testing::Test {
 protected:
  AComposeStrategy() {
    plan_.install.mode = InstallConfig::Mode::kCompose;
    plan_.install.path = dir_ / "release.env";
    plan_.compose.project = "app";
    plan_.compose.file = dir_ / "docker-compose.yml";
    plan_.compose.variable = "APP_VERSION";
    plan_.container.image = kTestImage + ":@v";
    plan_.trust.allowUnsigned = true;
    boost::filesystem::create_directories(dir_ / "app");
    registry_.tags = {{"1", fakeDigest('1')}, {"2", fakeDigest('2')}};
    EXPECT_TRUE(writeFileAtomically(
        plan_.install.path, "# ours\nAPP_VERSION=1\nPASSWORD='x y'\n", 0640));
    // What runs now: the engine holds it, the upgrader did not pull it.
    engine_.held[kTestImage + ":1"] = {"sha256:id1", {kTestImage + "@" + fakeDigest('1')}};
    engine_.held["127.0.0.1:5000/db:16"] = {"sha256:db", {}};
    // A pull by tag holds the manifest the registry names for it.
    engine_.pullYields[kTestImage + ":2"] = {"sha256:id2",
                                        {kTestImage + "@" + fakeDigest('2')}};
    auto files = makeEnvVersionStrategy(plan_, registry_, fetcher_);
    strategy_ = makeComposeStrategy(
        plan_, {std::move(files.strategy), std::move(files.vouched), tool_,
                engine_, record_, {}});
  }

  Result<Staged> upgrade() {
    auto offer = strategy_->resolve();
    if (!offer) return offer.error();
    return strategy_->acquire({});
  }
  std::string staged() const {
    return dir_ / ".release.env.upgrader-staged";
  }
  std::vector<std::string> recorded() {
    std::vector<std::string> out;
    if (auto r = loadPullRecord(record_)) {
      for (const auto& e : r->entries) out.push_back(e.reference + " " + e.state);
    }
    return out;
  }

  TempDir dir_;
  // In a directory of its own, as /var/lib/upgrader/NAME/ is: the record
  // of another instance is looked for beside it, in dir_ (beside dir_,
  // it would be another test's temporary directory in /tmp).
  std::string record_ = dir_ / "app/images.json";
  Plan plan_;
  FakeRegistry registry_;
  FakeFetcher fetcher_;
  FakeEngine engine_;
  FakeComposeTool tool_;
  std::unique_ptr<Strategy> strategy_;
};

TEST_F(AComposeStrategy, StagesTheEnvFileWithOnlyItsVersionChanged) {
  auto s = upgrade();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->release.version, "2");
  EXPECT_EQ(s->release.id, "2");
  EXPECT_EQ(*readFile(staged()), "# ours\nAPP_VERSION=2\nPASSWORD='x y'\n");
  struct stat st {};
  ASSERT_EQ(::stat(staged().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);  // it may hold passwords
  EXPECT_EQ(*strategy_->currentId(), "1");
  EXPECT_EQ(strategy_->recognise("2"), "2");
}

TEST_F(AComposeStrategy, HoldsEveryImageTheStagedReleaseNamesBeforeAnythingStops) {
  auto s = upgrade();
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ(tool_.calls.size(), 1u);
  EXPECT_EQ(tool_.calls[0].envFile, staged());
  EXPECT_EQ(tool_.calls[0].project, "app");
  // Pulled exactly as compose names it, so that `up` pulls nothing.
  EXPECT_EQ(engine_.count("pull " + kTestImage + ":2"), 1u);
  EXPECT_EQ(engine_.count("pull 127.0.0.1:5000/db"), 0u);  // already held
  // Held already: recorded as used, never removed by this instance, and
  // no other instance removes it under this one.
  EXPECT_THAT(recorded(), ::testing::UnorderedElementsAre("127.0.0.1:5000/db:16 using",
                                                          kTestImage + ":2 pulling"));
  EXPECT_THAT(s->evidence, HasSubstr("1 pulled, 1 already held"));
}

TEST_F(AComposeStrategy, RefusesTheNamedImageWithADigestOtherThanTheRegistrys) {
  engine_.pullYields[kTestImage + ":2"] = {"sha256:idx", {kTestImage + "@" + fakeDigest('x')}};
  auto s = upgrade();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(),
              HasSubstr("holds no image with digest " + fakeDigest('2')));
  EXPECT_FALSE(engine_.holds(kTestImage + ":2"));
  EXPECT_TRUE(recorded().empty());
  EXPECT_FALSE(pathExists(staged()));
}

TEST_F(AComposeStrategy, AMissingImageChangesNothingAndKeepsNothingPulled) {
  tool_.dbImage = "127.0.0.1:5000/db:17";
  engine_.pullFailure = "manifest unknown";
  auto s = upgrade();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), HasSubstr("service 'db'"));
  EXPECT_THAT(s.error().message(), HasSubstr("manifest unknown"));
  EXPECT_FALSE(pathExists(staged()));
  EXPECT_TRUE(recorded().empty());
  EXPECT_EQ(*readVersionVariable(plan_.install.path, "APP_VERSION"), "1");
}

TEST_F(AComposeStrategy, WithKeysRefusesAnImageNothingSignedVouchesFor) {
  auto offer = strategy_->resolve();
  ASSERT_TRUE(offer);
  plan_.trust.allowUnsigned = false;
  plan_.trust.keyFiles = {"/etc/upgrader/keys/vendor.pub"};
  auto s = strategy_->acquire({});
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), HasSubstr("service 'db'"));
  EXPECT_THAT(s.error().message(), HasSubstr("pin every other image by digest"));
  EXPECT_FALSE(pathExists(staged()));
}

TEST_F(AComposeStrategy, RefusesAnEnvFileThatSteersComposeItself) {
  ASSERT_TRUE(writeFileAtomically(plan_.install.path,
                                  "APP_VERSION=1\nDOCKER_HOST=unix:///x\n"));
  auto s = upgrade();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), HasSubstr("'DOCKER_HOST'"));
  EXPECT_TRUE(tool_.calls.empty());
  EXPECT_FALSE(pathExists(staged()));
}

TEST_F(AComposeStrategy, RefusesAnEnvFileWithoutExactlyOneVersionLine) {
  ASSERT_TRUE(writeFileAtomically(plan_.install.path,
                                  "APP_VERSION=1\nexport APP_VERSION=1\n"));
  auto s = upgrade();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), HasSubstr("sets APP_VERSION= 2 times"));
}

TEST_F(AComposeStrategy, DiscardingAFailedReleaseRemovesOnlyWhatWasPulledForIt) {
  auto s = upgrade();
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE(strategy_->discard(s->release, Discard::kRelease));
  EXPECT_FALSE(engine_.holds(kTestImage + ":2"));
  EXPECT_TRUE(engine_.holds(kTestImage + ":1"));  // in place
  EXPECT_TRUE(engine_.holds("127.0.0.1:5000/db:16"));
  // db:16 is in place too: it stays recorded as used (so that no other
  // instance removes it), never as pulled.
  EXPECT_THAT(recorded(), ::testing::ElementsAre("127.0.0.1:5000/db:16 using"));
  EXPECT_FALSE(pathExists(staged()));
}

TEST_F(AComposeStrategy, ACommitKeepsTheImagesOfTheReleaseInPlace) {
  auto s = upgrade();
  ASSERT_TRUE(s);
  ReleaseRef one{"1", "1"};
  ASSERT_TRUE(strategy_->prepareSwap(one));
  ASSERT_TRUE(strategy_->swap(one, s->release));
  EXPECT_EQ(*strategy_->currentId(), "2");
  ASSERT_TRUE(strategy_->prune(s->release, one));
  EXPECT_TRUE(engine_.holds(kTestImage + ":2"));
  EXPECT_THAT(recorded(), ::testing::UnorderedElementsAre("127.0.0.1:5000/db:16 using",
                                                          kTestImage + ":2 pulled"));
  ASSERT_TRUE(strategy_->revert(one));
  EXPECT_EQ(*strategy_->currentId(), "1");
}

// The engine held svc:1 before this instance ran it: a claim ("using")
// that only a commit gives up, and never while the rollback point runs it.
TEST_F(AComposeStrategy, AFailedAttemptGivesUpNoClaim) {
  PullRecord before;
  before.entries = {{kTestImage + ":1", "using"}, {"127.0.0.1:5000/old:0", "using"}};
  ASSERT_TRUE(savePullRecord(record_, before));
  auto s = upgrade();
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE(strategy_->discard(s->release, Discard::kRelease));
  EXPECT_THAT(recorded(), ::testing::UnorderedElementsAre(
                              kTestImage + ":1 using", "127.0.0.1:5000/old:0 using",
                              "127.0.0.1:5000/db:16 using"));
}

TEST_F(AComposeStrategy, ACommitKeepsTheClaimsOfTheRollbackPointAndDropsTheRest) {
  PullRecord before;
  before.entries = {{kTestImage + ":1", "using"}, {"127.0.0.1:5000/old:0", "using"}};
  ASSERT_TRUE(savePullRecord(record_, before));
  engine_.held["127.0.0.1:5000/old:0"] = {"sha256:old", {}};
  auto s = upgrade();
  ASSERT_TRUE(s);
  ReleaseRef one{"1", "1"};
  ASSERT_TRUE(strategy_->prepareSwap(one));
  ASSERT_TRUE(strategy_->swap(one, s->release));
  ASSERT_TRUE(strategy_->prune(s->release, one));
  EXPECT_THAT(recorded(), ::testing::UnorderedElementsAre(
                              kTestImage + ":1 using", "127.0.0.1:5000/db:16 using",
                              kTestImage + ":2 pulled"));
  EXPECT_TRUE(engine_.holds("127.0.0.1:5000/old:0"));  // never pulled by it
}

TEST_F(AComposeStrategy, ACommitThatCannotReadItsRollbackPointGivesUpNoClaim) {
  PullRecord before;
  before.entries = {{"127.0.0.1:5000/old:0", "using"}};
  ASSERT_TRUE(savePullRecord(record_, before));
  auto s = upgrade();
  ASSERT_TRUE(s);
  ReleaseRef one{"1", "1"};
  ASSERT_TRUE(strategy_->swap(one, s->release));
  ASSERT_TRUE(removeIfExists(dir_ / ".release.env.upgrader-replaced"));
  (void)strategy_->prune(s->release, one);
  EXPECT_THAT(recorded(), ::testing::Contains("127.0.0.1:5000/old:0 using"));
}

TEST_F(AComposeStrategy, QuiesceKillsWhatStillRunsOfTheProject) {
  engine_.projects["app"] = {{"aaa", "web", true, true, 0, "running"},
                             {"bbb", "db", false, false, 0, "exited (0)"}};
  ASSERT_TRUE(strategy_->quiesce({"1", "1"}));
  EXPECT_EQ(engine_.count("kill aaa"), 1u);
  EXPECT_EQ(engine_.count("kill bbb"), 0u);
}

TEST_F(AComposeStrategy, TellsHooksHowToReachTheProject) {
  auto env = strategy_->hookEnvironment({"1", "1"}, {"2", "2"});
  EXPECT_EQ(env["UPGRADER_COMPOSE_PROJECT"], "app");
  EXPECT_EQ(env["UPGRADER_COMPOSE_FILE"], plan_.compose.file);
  EXPECT_EQ(env["UPGRADER_COMPOSE_ENV_FILE"], plan_.install.path);
}

// --- The project check.

class AProjectProbe : public ::testing::Test {
 protected:
  AProjectProbe() {
    EXPECT_TRUE(writeFileAtomically(dir_ / "release.env", "APP_VERSION=2\n"));
    engine_.projects["app"] = {{"aaa", "web", false, true, 0, "running"},
                               {"bbb", "db", false, true, 0, "running"},
                               {"ccc", "web", true, false, 0, "exited (0)"}};
  }
  std::unique_ptr<Probe> probe(Duration settle) {
    return makeProjectProbe(tool_, engine_,
                            {"app", dir_ / "dc.yml", dir_ / "release.env"},
                            settle, clock_);
  }
  TempDir dir_;
  FakeComposeTool tool_;
  FakeEngine engine_;
  ManualClock clock_;
};

TEST_F(AProjectProbe, PassesOnceEveryServiceRanUnchangedForTheSettleTime) {
  auto p = probe(std::chrono::seconds(3));
  EXPECT_THAT(p->check({}).error().message(), HasSubstr("is new"));
  clock_.advance(std::chrono::seconds(1));
  EXPECT_THAT(p->check({}).error().message(), HasSubstr("of SettleSec="));
  clock_.advance(std::chrono::seconds(2));
  EXPECT_TRUE(p->check({}));  // the exited one-off container is no service
  EXPECT_EQ(tool_.calls.size(), 1u);  // rendered once per wait
}

TEST_F(AProjectProbe, ARestartStartsTheSettleTimeAgain) {
  auto p = probe(std::chrono::seconds(3));
  (void)p->check({});
  clock_.advance(std::chrono::seconds(2));
  engine_.projects["app"][1].restartCount = 1;
  EXPECT_THAT(p->check({}).error().message(),
              HasSubstr("service 'db': container bbb restarted (1 restarts)"));
  clock_.advance(std::chrono::seconds(2));
  EXPECT_FALSE(p->check({}));
  clock_.advance(std::chrono::seconds(1));
  EXPECT_TRUE(p->check({}));
}

TEST_F(AProjectProbe, FailsForAServiceThatIsNotRunningOrHasNoContainer) {
  auto p = probe(Duration::zero());
  (void)p->check({});
  engine_.projects["app"][1].running = false;
  engine_.projects["app"][1].state = "exited (3)";
  EXPECT_THAT(p->check({}).error().message(),
              HasSubstr("project 'app': service 'db': container bbb is "
                        "exited (3)"));
  engine_.projects["app"].erase(engine_.projects["app"].begin() + 1);
  EXPECT_THAT(p->check({}).error().message(),
              HasSubstr("service 'db': has no container"));
}

}  // namespace
}  // namespace upgrader
