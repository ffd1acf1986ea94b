// Fetching ahead (`upgrader fetch`) with every side effect faked: what a
// fetch leaves staged and records, how apply takes it over instead of
// acquiring again, and that a fetched release that is superseded,
// refused or no longer as verified leaves nothing behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/fake_service_manager.hpp"
#include "support/manual_clock.hpp"
#include "support/transaction_fakes.hpp"
#include "upgrade/transaction.hpp"

namespace upgrader {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace upgrader::testing;

class AFetchAhead : public ::testing::Test {
 protected:
  AFetchAhead() {
    plan_.instance = InstanceName("demo");
    plan_.target.units = {UnitName("demo.service")};
    units_.setStatus(UnitName("demo.service"), activeStatus());
    store_.state.installed = ReleaseRef{"1", "id-1"};
  }

  Outcome fetch() {
    UpgradeTransaction t(plan_, effects());
    return t.fetch();
  }
  Outcome apply(ApplyOptions options = {}) {
    UpgradeTransaction t(plan_, effects());
    return t.apply(options);
  }
  Outcome rollback() {
    UpgradeTransaction t(plan_, effects());
    return t.rollback();
  }
  Effects effects() {
    return Effects{units_, strategy_, health_, commands_, hooks_, store_, log_, clock_};
  }
  // What a fetch of version 2 leaves: the release staged, and recorded.
  void fetched2() {
    ASSERT_EQ(fetch().code, OutcomeCode::kDone);
    ASSERT_TRUE(store_.state.fetched.has_value());
    strategy_.calls.clear();
  }

  Plan plan_;
  ManualClock clock_;
  FakeServiceManager units_{clock_};
  FakeStrategy strategy_;
  FakeHealth health_;
  FakeCommands commands_;
  FakeHooks hooks_;
  MemoryStateStore store_;
  RecordingEventLog log_;
};

TEST_F(AFetchAhead, StagesAndRecordsTheReleaseWithoutTouchingAUnit) {
  Outcome out = fetch();
  ASSERT_EQ(out.code, OutcomeCode::kDone) << out.message;
  EXPECT_THAT(out.message, HasSubstr("fetched 2"));
  EXPECT_EQ(out.fromVersion, "1");
  EXPECT_EQ(out.toVersion, "2");
  EXPECT_TRUE(units_.jobs().empty());
  EXPECT_EQ(strategy_.current, "id-1");
  EXPECT_EQ(strategy_.staged, "id-2");
  ASSERT_TRUE(store_.state.fetched.has_value());
  EXPECT_EQ(store_.state.fetched->release, (ReleaseRef{"2", "id-2"}));
  EXPECT_EQ(store_.state.fetched->evidence, "verified by the fake");
  EXPECT_EQ(store_.state.fetched->time, "2026-11-01T00:00:00Z");
  EXPECT_FALSE(store_.state.transaction.has_value());
  EXPECT_EQ(store_.state.highestVerified, "2");
  // Informative only: a fetch is not an upgrade's result.
  EXPECT_FALSE(store_.state.last.has_value());
}

TEST_F(AFetchAhead, ApplyTakesTheFetchedReleaseOverInsteadOfAcquiringIt) {
  fetched2();
  Outcome out = apply();
  ASSERT_EQ(out.code, OutcomeCode::kDone) << out.message;
  EXPECT_EQ(strategy_.current, "id-2");
  EXPECT_THAT(strategy_.calls, Contains("adopt 2"));
  EXPECT_THAT(strategy_.calls, Not(Contains("acquire 2")));
  // The clean-up before it kept the fetched release.
  EXPECT_EQ(strategy_.calls.front(), "clean leftovers but 2");
  EXPECT_FALSE(store_.state.fetched.has_value());
  EXPECT_EQ(store_.state.last->result, "upgraded");
  EXPECT_THAT(log_.lines, Contains(HasSubstr("fetched ahead at 2026-11-01T00:00:00Z")));
}

TEST_F(AFetchAhead, TheTransactionsFirstSaveNoLongerRecordsItAsFetched) {
  fetched2();
  store_.failSaveNumber = store_.saves + 2;  // the save at 'stopping'
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged);
  // Taken over by the transaction and dropped with it: not recorded as
  // fetched, not left staged.
  EXPECT_FALSE(store_.state.fetched.has_value());
  EXPECT_THAT(strategy_.calls, Contains("discard 2"));
  EXPECT_TRUE(units_.jobs().empty());
}

TEST_F(AFetchAhead, ASecondFetchOfTheSameReleaseHasNothingToDo) {
  fetched2();
  Outcome out = fetch();
  EXPECT_EQ(out.code, OutcomeCode::kNothingToDo) << out.message;
  EXPECT_THAT(out.message, HasSubstr("2 was fetched at"));
  EXPECT_THAT(strategy_.calls, ElementsAre("clean leftovers but 2", "resolve", "adopt 2"));
  EXPECT_TRUE(store_.state.fetched.has_value());
}

TEST_F(AFetchAhead, ASupersededReleaseGoesBeforeTheNewerOneIsFetched) {
  fetched2();
  strategy_.offer = {"3", true};
  ASSERT_EQ(fetch().code, OutcomeCode::kDone);
  EXPECT_THAT(strategy_.calls,
              ElementsAre("clean leftovers but 2", "resolve", "discard 2", "acquire 3"));
  EXPECT_EQ(store_.state.fetched->release, (ReleaseRef{"3", "id-3"}));
}

TEST_F(AFetchAhead, ApplyOfANewerReleaseDropsTheFetchedOne) {
  fetched2();
  strategy_.offer = {"3", true};
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  EXPECT_THAT(strategy_.calls, Contains("discard 2"));
  EXPECT_THAT(strategy_.calls, Contains("acquire 3"));
  EXPECT_EQ(strategy_.current, "id-3");
  EXPECT_FALSE(store_.state.fetched.has_value());
}

TEST_F(AFetchAhead, AReleaseNoLongerAsVerifiedIsAcquiredAgain) {
  fetched2();
  strategy_.fail = {"adopt"};
  Outcome out = apply();
  ASSERT_EQ(out.code, OutcomeCode::kDone) << out.message;
  EXPECT_THAT(strategy_.calls, Contains("discard 2"));
  EXPECT_THAT(strategy_.calls, Contains("acquire 2"));
  EXPECT_THAT(log_.lines, Contains(HasSubstr("no longer as verified")));
}

TEST_F(AFetchAhead, ARefusedFetchLeavesNothingBehind) {
  strategy_.acquireFailure = "checksum mismatch for 'https://releases.example/demo-2'";
  Outcome out = fetch();
  EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged);
  EXPECT_THAT(out.message, HasSubstr("checksum mismatch"));
  EXPECT_FALSE(store_.state.fetched.has_value());
  EXPECT_EQ(store_.saves, 0);
  EXPECT_EQ(store_.state.highestVerified, "");
}

TEST_F(AFetchAhead, AFetchRefusedByPreflightLeavesNothingBehind) {
  plan_.install.preflight = "@path --version";
  commands_.failing = {"--version"};
  EXPECT_EQ(fetch().code, OutcomeCode::kFailedUnchanged);
  EXPECT_THAT(strategy_.calls, ElementsAre("clean leftovers", "resolve", "acquire 2", "discard 2"));
  EXPECT_FALSE(store_.state.fetched.has_value());
}

TEST_F(AFetchAhead, AFetchThatCannotRecordItDropsWhatItStaged) {
  store_.failSaveNumber = 1;
  EXPECT_EQ(fetch().code, OutcomeCode::kFailedUnchanged);
  EXPECT_THAT(strategy_.calls, Contains("discard 2"));
  EXPECT_TRUE(strategy_.staged.empty());
}

TEST_F(AFetchAhead, FetchesNothingWhenAlreadyCurrentAndDropsAStaleFetch) {
  fetched2();
  store_.state.installed = ReleaseRef{"2", "id-1"};  // 2 got installed otherwise
  Outcome out = fetch();
  EXPECT_EQ(out.code, OutcomeCode::kNothingToDo);
  EXPECT_THAT(strategy_.calls, Contains("discard 2"));
  EXPECT_FALSE(store_.state.fetched.has_value());
}

TEST_F(AFetchAhead, NeverFetchesAQuarantinedRelease) {
  store_.state.quarantined.push_back({"2", "2026-11-01T00:00:00Z", "unhealthy"});
  EXPECT_EQ(fetch().code, OutcomeCode::kNothingToDo);
  EXPECT_THAT(strategy_.calls, Not(Contains("acquire 2")));
}

TEST_F(AFetchAhead, RefusesADowngradeLikeApply) {
  strategy_.offer = {"0.9", true};
  Outcome out = fetch();
  EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged);
  EXPECT_THAT(out.message, HasSubstr("refusing to downgrade"));
  EXPECT_THAT(strategy_.calls, Not(Contains("acquire 0.9")));
}

TEST_F(AFetchAhead, LeavesAnInterruptedRunForApplyToFinish) {
  Transaction t;
  t.step = Step::kStopping;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  store_.state.transaction = t;
  Outcome out = fetch();
  EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged);
  EXPECT_THAT(out.message, HasSubstr("'upgrader apply demo' finishes it first"));
  EXPECT_TRUE(units_.jobs().empty());
  EXPECT_TRUE(strategy_.calls.empty());
}

TEST_F(AFetchAhead, ADryRunLooksAtTheFetchedReleaseAndLeavesIt) {
  fetched2();
  int saves = store_.saves;
  Outcome out = apply({true, false});
  EXPECT_EQ(out.code, OutcomeCode::kDone) << out.message;
  EXPECT_THAT(strategy_.calls, ElementsAre("resolve", "adopt 2"));
  EXPECT_EQ(strategy_.staged, "id-2");
  EXPECT_TRUE(store_.state.fetched.has_value());
  EXPECT_EQ(store_.saves, saves);
}

TEST_F(AFetchAhead, AFailedUpgradeOfTheFetchedReleaseRollsBackAndDropsIt) {
  fetched2();
  health_.script = {"unhealthy", ""};
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kRolledBack);
  EXPECT_EQ(strategy_.current, "id-1");
  EXPECT_TRUE(strategy_.staged.empty());
  EXPECT_FALSE(store_.state.fetched.has_value());
  EXPECT_TRUE(store_.state.isQuarantined("2"));
}

TEST_F(AFetchAhead, ARollbackOnRequestDropsTheFetchedRelease) {
  // 1 was upgraded from 0, and 2 is fetched.
  strategy_.old = "id-0";
  store_.state.previous = ReleaseRef{"0", "id-0"};
  fetched2();
  ASSERT_EQ(rollback().code, OutcomeCode::kDone);
  EXPECT_EQ(strategy_.current, "id-0");
  EXPECT_THAT(strategy_.calls, Contains("discard 2"));
  EXPECT_FALSE(store_.state.fetched.has_value());
}

TEST_F(AFetchAhead, CheckSaysTheAvailableReleaseIsFetched) {
  fetched2();
  UpgradeTransaction t(plan_, effects());
  Outcome out = t.check();
  EXPECT_EQ(out.code, OutcomeCode::kDone);
  EXPECT_THAT(out.message, HasSubstr("fetched at 2026-11-01T00:00:00Z"));
}

// For the metrics: the window from the first stop to the start after it.
// Every stop and start job takes kJob on the manual clock; nothing else
// the fakes do takes time.
constexpr Duration kJob = std::chrono::milliseconds(100);
class AnUnavailableWindow : public AFetchAhead {
 protected:
  AnUnavailableWindow() { units_.onJob([this] { clock_.advance(kJob); }); }
};

TEST_F(AnUnavailableWindow, RunsFromTheFirstStopToTheStartOfTheNewRelease) {
  UpgradeTransaction t(plan_, effects());
  ASSERT_EQ(t.apply({}).code, OutcomeCode::kDone);
  auto window = t.unavailable();
  ASSERT_TRUE(window.has_value());
  // The stop and the start; not the health check that follows.
  EXPECT_EQ(*window, 2 * kJob);
}

TEST_F(AnUnavailableWindow, IsNoneWhenNothingWasStopped) {
  UpgradeTransaction fetching(plan_, effects());
  ASSERT_EQ(fetching.fetch().code, OutcomeCode::kDone);
  EXPECT_FALSE(fetching.unavailable().has_value());
  strategy_.acquireFailure = "checksum mismatch";
  store_.state.fetched.reset();
  UpgradeTransaction refused(plan_, effects());
  ASSERT_EQ(refused.apply({}).code, OutcomeCode::kFailedUnchanged);
  EXPECT_FALSE(refused.unavailable().has_value());
}

TEST_F(AnUnavailableWindow, LastsUntilTheOldReleaseIsStartedAgainAfterARollback) {
  health_.script = {"unhealthy", ""};
  UpgradeTransaction t(plan_, effects());
  ASSERT_EQ(t.apply({}).code, OutcomeCode::kRolledBack);
  auto window = t.unavailable();
  ASSERT_TRUE(window.has_value());
  // Two stops and two starts: the window spans both.
  EXPECT_THAT(units_.jobs(), ElementsAre("stop demo.service", "start demo.service",
                                         "stop demo.service", "start demo.service"));
  EXPECT_GE(*window, 4 * kJob);
}

}  // namespace
}  // namespace upgrader
