// The upgrade transaction with every side effect faked: the order of the
// steps, what is recorded before each, and every failure branch.
#include "upgrade/transaction.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/fake_service_manager.hpp"
#include "support/manual_clock.hpp"
#include "support/transaction_fakes.hpp"

namespace upgrader {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace upgrader::testing;

class AnUpgrade : public ::testing::Test {
 protected:
  AnUpgrade() {
    plan_.instance = InstanceName("demo");
    plan_.target.units = {UnitName("front.service"), UnitName("db.service")};
    for (const auto& u : plan_.target.units) units_.setStatus(u, activeStatus());
    // What upgrader recorded when it installed version 1.
    store_.state.installed = ReleaseRef{"1", "id-1"};
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
  void expectUntouched(const Outcome& out) {
    EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged) << out.message;
    EXPECT_TRUE(units_.jobs().empty());
    EXPECT_EQ(strategy_.current, "id-1");
    EXPECT_FALSE(store_.state.transaction.has_value());
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

TEST_F(AnUpgrade, StopsSwapsStartsChecksAndCommits) {
  Outcome out = apply();
  ASSERT_EQ(out.code, OutcomeCode::kDone) << out.message;
  EXPECT_EQ(strategy_.current, "id-2");
  EXPECT_EQ(strategy_.old, "id-1");
  // Stopped in order, started in reverse.
  EXPECT_THAT(units_.jobs(), ElementsAre("stop front.service", "stop db.service",
                                         "start db.service", "start front.service"));
  EXPECT_EQ(store_.state.installed, (ReleaseRef{"2", "id-2"}));
  EXPECT_EQ(store_.state.previous, (ReleaseRef{"1", "id-1"}));
  EXPECT_EQ(store_.state.last->result, "upgraded");
  EXPECT_FALSE(store_.state.transaction.has_value());
  EXPECT_THAT(log_.events, ElementsAre("started", "verified", "stopped", "swapped",
                                       "started-new", "healthy", "committed"));
}

TEST_F(AnUpgrade, RestartsAUnitItsSocketStartedBeforeTheSwap) {
  // The socket started front.service on the old release while we swapped;
  // our start job then finds it active and does nothing.
  UnitStatus early = activeStatus();
  early.activeEnterTimestampUs = 1;  // long before the swap
  units_.setStatusAfterStart(UnitName("front.service"), early);
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  EXPECT_THAT(units_.jobs(), ElementsAre("stop front.service", "stop db.service",
                                         "start db.service", "start front.service",
                                         "restart front.service"));
}

TEST_F(AnUpgrade, RecordsEachStepBeforeTakingIt) {
  plan_.hooks.migrate = {"migrate-db"};
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  // Nothing is saved between the stop and the start but what recovery
  // needs (the migration): each save there is downtime.
  EXPECT_THAT(store_.steps, ElementsAre("staged", "stopping", "migrating", "checking", "-"));
}

TEST_F(AnUpgrade, DoesNothingWhenAlreadyAtTheTargetVersion) {
  store_.state.installed = ReleaseRef{"2", "id-1"};
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kNothingToDo);
  EXPECT_THAT(strategy_.calls, ::testing::Not(::testing::Contains("acquire 2")));
  EXPECT_TRUE(units_.jobs().empty());
}

TEST_F(AnUpgrade, KeepsARunThatHadNothingToDoAsTheLastResult) {
  store_.state.installed = ReleaseRef{"2", "id-1"};
  clock_.advance(std::chrono::hours(25));
  ASSERT_EQ(apply().code, OutcomeCode::kNothingToDo);
  ASSERT_TRUE(store_.state.last.has_value());
  EXPECT_EQ(store_.state.last->result, "nothing-to-do");
  EXPECT_EQ(store_.state.last->time, "2026-11-02T01:00:00Z");  // the Clock's, not the wall's
  EXPECT_THAT(store_.state.last->message, HasSubstr("already at version 2"));
}

TEST_F(AnUpgrade, ARefusedFirstRunWritesNoState) {
  store_.state = InstanceState{};  // the upgrader never ran for it
  strategy_.acquireFailure = "checksum mismatch";
  ASSERT_EQ(apply().code, OutcomeCode::kFailedUnchanged);
  EXPECT_EQ(store_.saves, 0);
}

TEST_F(AnUpgrade, KeepsARefusedRunAsTheLastResult) {
  strategy_.acquireFailure = "checksum mismatch";
  ASSERT_EQ(apply().code, OutcomeCode::kFailedUnchanged);
  EXPECT_EQ(store_.state.last->result, "failed-unchanged");
  EXPECT_EQ(store_.state.last->message, "checksum mismatch");
  EXPECT_EQ(store_.state.installed, (ReleaseRef{"1", "id-1"}));
}

TEST_F(AnUpgrade, RecognisesAnUnrecordedReleaseAlreadyAtTheTarget) {
  store_.state.installed.reset();
  strategy_.current = "id-unrecorded";
  strategy_.recognised["id-unrecorded"] = "2";
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kNothingToDo);
  EXPECT_EQ(store_.state.installed->version, "2");
}

TEST_F(AnUpgrade, SkipsAQuarantinedVersion) {
  store_.state.quarantined.push_back({"2", "t", "unhealthy"});
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kNothingToDo);
  EXPECT_THAT(out.message, HasSubstr("quarantined"));
  EXPECT_TRUE(units_.jobs().empty());
}

TEST_F(AnUpgrade, LeavesAnUnrecordedVersionUnknownWhenTheStrategyCannotTell) {
  store_.state.installed.reset();
  strategy_.current = "id-unrecorded";
  Outcome out = apply();
  EXPECT_EQ(out.fromVersion, "");
  ASSERT_EQ(out.code, OutcomeCode::kDone);
}

TEST_F(AnUpgrade, DoesNotTrustARecordedVersionOfAReleaseReplacedBehindItsBack) {
  store_.state.installed = ReleaseRef{"2", "id-other"};
  strategy_.recognised["id-1"] = "1";
  Outcome out = apply();
  ASSERT_EQ(out.code, OutcomeCode::kDone) << out.message;
  EXPECT_EQ(out.fromVersion, "1");
}

TEST_F(AnUpgrade, NeedsAnOperatorWhenTheOldVersionDoesNotStartEither) {
  units_.failStart(UnitName("db.service"));
  EXPECT_EQ(apply().code, OutcomeCode::kRollbackFailed);
}

TEST_F(AnUpgrade, RefusesADowngradeUnlessAllowed) {
  store_.state.installed = ReleaseRef{"3", "id-1"};
  Outcome out = apply();
  expectUntouched(out);
  EXPECT_THAT(out.message, HasSubstr("refusing to downgrade from 3 to 2"));
  EXPECT_EQ(apply({false, true}).code, OutcomeCode::kDone);
}

TEST_F(AnUpgrade, RefusesAnOlderReleaseThanOneVerifiedBefore) {
  // Installed is 1 (after a rollback, say), but 3 was verified once: a
  // server offering 2 now may be replaying an old release.
  store_.state.highestVerified = "3";
  Outcome out = apply();
  expectUntouched(out);
  EXPECT_THAT(out.message,
              HasSubstr("refusing to install 2: version 3 was verified for "
                        "this instance before"));
  EXPECT_EQ(apply({false, true}).code, OutcomeCode::kDone);
  EXPECT_EQ(store_.state.highestVerified, "3");  // never lowered
}

TEST_F(AnUpgrade, RemembersTheNewestVersionItVerifiedBeforeChangingAnything) {
  store_.state.highestVerified = "1";
  units_.failStart(UnitName("front.service"));  // 2 fails and is rolled back
  apply();
  EXPECT_EQ(store_.state.highestVerified, "2");
  ASSERT_FALSE(store_.steps.empty());
  EXPECT_EQ(store_.steps.front(), "staged");
  EXPECT_EQ(store_.highestVerified.front(), "2");
}

TEST_F(AnUpgrade, ADryRunRemembersNothing) {
  Outcome out = apply({true, false});
  EXPECT_EQ(out.code, OutcomeCode::kDone);
  EXPECT_EQ(store_.state.highestVerified, "");
}

TEST_F(AnUpgrade, LeavesTheServiceAloneWhenNoReleaseCanBeResolved) {
  strategy_.fail = {"resolve"};
  Outcome out = apply();
  expectUntouched(out);
  EXPECT_THAT(out.message, HasSubstr("no release listed"));
}

TEST_F(AnUpgrade, LeavesTheServiceAloneWhenTheReleaseIsRefused) {
  strategy_.acquireFailure =
      "checksum mismatch for 'https://releases.example/demo-2'";
  Outcome out = apply();
  expectUntouched(out);
  EXPECT_THAT(out.message, HasSubstr("checksum mismatch"));
  EXPECT_THAT(strategy_.calls, ElementsAre("clean leftovers", "resolve", "acquire 2"));
}

TEST_F(AnUpgrade, LeavesTheServiceAloneWhenWhatIsInPlaceCannotBeTold) {
  strategy_.fail = {"currentId"};
  Outcome out = apply();
  expectUntouched(out);
  EXPECT_THAT(out.message, HasSubstr("Cannot tell which release is in '/usr/bin/demo'"));
}

TEST_F(AnUpgrade, LeavesTheServiceAloneWhenPreflightFails) {
  plan_.install.preflight = "@path --version";
  commands_.failing = {"--version"};
  Outcome out = apply();
  expectUntouched(out);
  EXPECT_EQ(commands_.ran.front(), "/staged/2 --version");
  EXPECT_EQ(commands_.envs.front().at("UPGRADER_TO_VERSION"), "2");
  EXPECT_THAT(strategy_.calls,
              ElementsAre("clean leftovers", "resolve", "acquire 2", "discard 2"));
}

TEST_F(AnUpgrade, LeavesTheServiceAloneWhenPreStopFails) {
  plan_.hooks.preStop = {"backup"};
  hooks_.failing = {"backup"};
  Outcome out = apply();
  expectUntouched(out);
  EXPECT_THAT(out.message, HasSubstr("PreStop= hook failed"));
}

TEST_F(AnUpgrade, LeavesTheServiceAloneWhenAUnitIsUnknown) {
  plan_.target.units.push_back(UnitName("typo.service"));
  Outcome out = apply();
  expectUntouched(out);
  EXPECT_THAT(out.message, HasSubstr("unit 'typo.service' not found"));
}

TEST_F(AnUpgrade, PreparesTheSwapAheadOfIt) {
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  EXPECT_THAT(strategy_.calls, ::testing::IsSupersetOf({"prepare 1", "swap 1->2"}));
  auto prepare = std::find(strategy_.calls.begin(), strategy_.calls.end(), "prepare 1");
  auto swap = std::find(strategy_.calls.begin(), strategy_.calls.end(), "swap 1->2");
  EXPECT_LT(prepare, swap);
}

TEST_F(AnUpgrade, LeavesTheServiceAloneWhenPreparingTheSwapFails) {
  strategy_.fail = {"prepareSwap"};
  expectUntouched(apply());
}

TEST_F(AnUpgrade, LeavesTheServiceAloneWhenTheStateCannotBeRecorded) {
  store_.failSaveNumber = 1;
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged);
  EXPECT_TRUE(units_.jobs().empty());
  EXPECT_THAT(out.message, HasSubstr("disk full"));
}

TEST_F(AnUpgrade, DryRunVerifiesAndStagesButTouchesNothing) {
  Outcome out = apply({true, false});
  EXPECT_EQ(out.code, OutcomeCode::kDone);
  EXPECT_THAT(out.message, HasSubstr("dry run"));
  EXPECT_TRUE(units_.jobs().empty());
  EXPECT_THAT(strategy_.calls, ElementsAre("resolve", "acquire 2", "discard 2"));
  EXPECT_EQ(store_.saves, 0);
}

TEST_F(AnUpgrade, DryRunWritesNothingEvenWhenItFindsTheTargetInPlace) {
  store_.state.installed.reset();
  strategy_.recognised["id-1"] = "2";
  Outcome out = apply({true, false});
  EXPECT_EQ(out.code, OutcomeCode::kNothingToDo);
  EXPECT_EQ(store_.saves, 0);
}

TEST_F(AnUpgrade, DryRunLeavesAnInterruptedRunForApplyToFinish) {
  Transaction t;
  t.step = Step::kStopping;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  store_.state.transaction = t;
  Outcome out = apply({true, false});
  EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged);
  EXPECT_THAT(out.message, HasSubstr("was interrupted"));
  EXPECT_TRUE(units_.jobs().empty());
  EXPECT_TRUE(strategy_.calls.empty());
  EXPECT_TRUE(store_.state.transaction.has_value());
}

TEST_F(AnUpgrade, RollsBackWithoutQuarantineWhenAStopFails) {
  units_.failStop(UnitName("db.service"));
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kRolledBack) << out.message;
  EXPECT_EQ(strategy_.current, "id-1");
  EXPECT_TRUE(store_.state.quarantined.empty());
  EXPECT_EQ(store_.state.last->result, "rolled-back");
}

TEST_F(AnUpgrade, RollsBackWhenTheSwapFails) {
  strategy_.fail = {"swap"};
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kRolledBack);
  EXPECT_THAT(out.message, HasSubstr("swap failed"));
  EXPECT_EQ(units_.jobs().back(), "start front.service");
}

TEST_F(AnUpgrade, RestoresDataWhenAMigrationFails) {
  plan_.hooks.migrate = {"upgradedb"};
  plan_.hooks.restore = {"restore-backup"};
  plan_.hooks.postRollback = {"notify"};
  hooks_.failing = {"upgradedb"};
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kRolledBack);
  EXPECT_THAT(hooks_.ran, ElementsAre("upgradedb", "restore-backup", "notify"));
  // What the migration left running stopped before the data was restored.
  auto quiesce = std::find(strategy_.calls.begin(), strategy_.calls.end(), "quiesce 2");
  auto revert = std::find(strategy_.calls.begin(), strategy_.calls.end(), "revert 1");
  ASSERT_NE(quiesce, strategy_.calls.end());
  EXPECT_LT(revert, quiesce);
  EXPECT_TRUE(store_.state.isQuarantined("2"));
  EXPECT_EQ(hooks_.envs[0].at("UPGRADER_FROM_VERSION"), "1");
  EXPECT_EQ(hooks_.envs[0].at("UPGRADER_TO_VERSION"), "2");
  // The strategy says where the releases are; the transaction adds who.
  EXPECT_EQ(hooks_.envs[0].at("UPGRADER_STAGED_PATH"), "/staged/2");
  EXPECT_EQ(hooks_.envs[0].at("UPGRADER_OLD_PATH"), "/old/1");
  EXPECT_EQ(hooks_.envs[0].at("UPGRADER_INSTANCE"), "demo");
}

TEST_F(AnUpgrade, QuarantinesAVersionThatDoesNotStart) {
  units_.failStart(UnitName("db.service"), "", std::nullopt, 1);
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kRolledBack) << out.message;
  EXPECT_TRUE(store_.state.isQuarantined("2"));
  EXPECT_EQ(strategy_.current, "id-1");
}

TEST_F(AnUpgrade, QuarantinesAnUnhealthyVersionAndBringsTheOldOneBack) {
  health_.script = {"GET /healthz: 500", ""};
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kRolledBack);
  EXPECT_THAT(out.message, HasSubstr("GET /healthz: 500"));
  EXPECT_EQ(strategy_.current, "id-1");
  EXPECT_EQ(health_.calls, 2);  // the new version, then the old one
  EXPECT_TRUE(store_.state.isQuarantined("2"));
  EXPECT_FALSE(store_.state.transaction.has_value());
  EXPECT_EQ(store_.state.installed->version, "1");
  EXPECT_THAT(log_.events, ::testing::Contains("rolled-back"));
}

TEST_F(AnUpgrade, GivesTheOldReleaseRollbackTimeoutToBeHealthyAgain) {
  plan_.health.timeout = std::chrono::seconds(10);
  plan_.health.rollbackTimeout = std::chrono::minutes(2);
  health_.script = {"GET /healthz: 500", ""};
  EXPECT_EQ(apply().code, OutcomeCode::kRolledBack);
  EXPECT_THAT(health_.timeouts,
              ElementsAre(Duration(std::chrono::seconds(10)),
                          Duration(std::chrono::minutes(2))));
}

TEST_F(AnUpgrade, GivesTheOldReleaseTimeoutWhenNoRollbackTimeoutIsSet) {
  plan_.health.timeout = std::chrono::seconds(10);
  health_.script = {"GET /healthz: 500", ""};
  EXPECT_EQ(apply().code, OutcomeCode::kRolledBack);
  EXPECT_THAT(health_.timeouts,
              ElementsAre(Duration(std::chrono::seconds(10)),
                          Duration(std::chrono::seconds(10))));
}

TEST_F(AnUpgrade, NeedsAnOperatorWhenTheOldVersionIsUnhealthyToo) {
  health_.script = {"new is sick", "old is sick"};
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kRollbackFailed);
  EXPECT_THAT(out.message, HasSubstr("old is sick"));
  EXPECT_THAT(out.message, HasSubstr("new is sick"));
  // Kept, so that the next run tries the rollback again.
  ASSERT_TRUE(store_.state.transaction.has_value());
  EXPECT_EQ(store_.state.transaction->step, Step::kRollingBack);
  EXPECT_EQ(store_.state.last->result, "rollback-failed");
}

TEST_F(AnUpgrade, NeedsAnOperatorWhenTheRevertFails) {
  health_.script = {"sick", ""};
  strategy_.fail = {"revert"};
  EXPECT_EQ(apply().code, OutcomeCode::kRollbackFailed);
}

TEST_F(AnUpgrade, RestoresNoDataWhileTheMigrationMayStillRun) {
  plan_.hooks.migrate = {"upgradedb"};
  plan_.hooks.restore = {"restore-backup"};
  hooks_.failing = {"upgradedb"};
  strategy_.fail = {"quiesce"};
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kRollbackFailed);
  EXPECT_THAT(out.message, HasSubstr("Restore= not run while the new release may still be migrating"));
  EXPECT_THAT(hooks_.ran, ElementsAre("upgradedb"));
  EXPECT_TRUE(store_.state.transaction.has_value());  // tried again next run
}

TEST_F(AnUpgrade, RecoversFromAStagedRunEvenIfItsLeftoversCannotGoYet) {
  Transaction t;
  t.step = Step::kStaged;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  store_.state.transaction = t;
  strategy_.fail = {"discard"};
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kDone) << out.message;
  EXPECT_EQ(strategy_.current, "id-2");
}

TEST_F(AnUpgrade, RunsHooksWithTheirKindAndTimeout) {
  plan_.hooks.preStop = {"backup"};
  plan_.hooks.migrate = {"upgradedb"};
  plan_.hooks.postUpgrade = {"notify"};
  plan_.hooks.timeout = std::chrono::seconds(42);
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  EXPECT_THAT(hooks_.ran, ElementsAre("backup", "upgradedb", "notify"));
  EXPECT_THAT(hooks_.kinds, ElementsAre("PreStop", "Migrate", "PostUpgrade"));
  EXPECT_EQ(hooks_.timeouts[1], std::chrono::seconds(42));
  // Preflight= is a check and runs in this process; hooks never do.
  EXPECT_TRUE(commands_.ran.empty());
  // Nothing was interrupted: no unit is asked about leftover hooks.
  EXPECT_EQ(hooks_.leftoverStops, 0);
}

TEST_F(AnUpgrade, StopsHooksAKilledRunLeftBeforeRestoringItsData) {
  plan_.hooks.migrate = {"upgradedb"};
  plan_.hooks.restore = {"restore-backup"};
  Transaction t;
  t.step = Step::kMigrating;
  t.migrated = true;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  strategy_.current = "id-2";
  strategy_.replaced = "id-1";
  store_.state.transaction = t;
  strategy_.offer = {"1", true};
  Outcome out = apply();
  EXPECT_EQ(hooks_.leftoverStops, 1);
  EXPECT_THAT(hooks_.ran, ::testing::Contains("restore-backup"));
  EXPECT_EQ(strategy_.current, "id-1");
  EXPECT_NE(out.code, OutcomeCode::kRollbackFailed) << out.message;
}

TEST_F(AnUpgrade, RecoversNothingWhileAKilledRunsHookMayStillRun) {
  plan_.hooks.restore = {"restore-backup"};
  Transaction t;
  t.step = Step::kMigrating;
  t.migrated = true;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  strategy_.current = "id-2";
  strategy_.replaced = "id-1";
  store_.state.transaction = t;
  hooks_.leftoversFailure = "cannot reach systemd";
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged);
  EXPECT_THAT(out.message, HasSubstr("its hooks may still run: cannot reach systemd"));
  EXPECT_TRUE(hooks_.ran.empty());
  EXPECT_TRUE(units_.jobs().empty());
  EXPECT_EQ(strategy_.current, "id-2");
  EXPECT_TRUE(store_.state.transaction.has_value());  // tried again next run
}

TEST_F(AnUpgrade, RestoresTheDataOfANewReleaseThatStartedWithoutMigrate) {
  // An application that migrates its data on its own first start.
  plan_.hooks.restore = {"restore-backup"};
  health_.script = {"2 is sick", ""};
  ASSERT_EQ(apply().code, OutcomeCode::kRolledBack);
  EXPECT_THAT(hooks_.ran, ElementsAre("restore-backup"));
  // Recorded before the start, so that a run killed during it restores too.
  EXPECT_THAT(store_.steps,
              ElementsAre("staged", "stopping", "stopping", "checking", "rolling-back", "-"));
}

TEST_F(AnUpgrade, StopsNothingOfTheNewReleaseWithoutARestoreToProtect) {
  // No Restore= and no Migrate=: a rollback after the start has no data
  // to put back, so it needs no quiesce (one more engine call that could
  // fail the rollback).
  health_.script = {"2 is sick", ""};
  ASSERT_EQ(apply().code, OutcomeCode::kRolledBack);
  EXPECT_THAT(strategy_.calls, ::testing::Not(::testing::Contains("quiesce 2")));
  EXPECT_FALSE(store_.state.transaction.has_value());
}

TEST_F(AnUpgrade, SavesNothingMoreBeforeTheStartWithoutARestore) {
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  EXPECT_THAT(store_.steps, ElementsAre("staged", "stopping", "checking", "-"));
}

TEST_F(AnUpgrade, DoesNotRestoreDataTheNewReleaseNeverTouched) {
  plan_.hooks.restore = {"restore-backup"};
  strategy_.fail = {"swap"};
  ASSERT_EQ(apply().code, OutcomeCode::kRolledBack);
  EXPECT_TRUE(hooks_.ran.empty());
}

TEST_F(AnUpgrade, RestoresAfterARunKilledWhileTheNewReleaseStarted) {
  plan_.hooks.restore = {"restore-backup"};
  Transaction t;
  t.step = Step::kStopping;
  t.newStarted = true;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  strategy_.current = "id-2";
  strategy_.replaced = "id-1";
  store_.state.transaction = t;
  strategy_.offer = {"1", true};
  Outcome out = apply();
  EXPECT_NE(out.code, OutcomeCode::kRollbackFailed) << out.message;
  EXPECT_THAT(hooks_.ran, ElementsAre("restore-backup"));
  EXPECT_EQ(strategy_.current, "id-1");
}

TEST_F(AnUpgrade, NeedsAnOperatorWhenRestoreFails) {
  plan_.hooks.migrate = {"upgradedb"};
  plan_.hooks.restore = {"restore-backup"};
  hooks_.failing = {"upgradedb", "restore-backup"};
  EXPECT_EQ(apply().code, OutcomeCode::kRollbackFailed);
}

TEST_F(AnUpgrade, DiscardsWhatAKilledRunStagedThenUpgrades) {
  Transaction t;
  t.step = Step::kStaged;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  store_.state.transaction = t;
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kDone);
  EXPECT_EQ(strategy_.calls.front(), "discard 2");
  EXPECT_EQ(strategy_.current, "id-2");
}

TEST_F(AnUpgrade, RollsBackARunKilledMidSwapThenTriesAgain) {
  // Killed after the swap: the new release is in place, units stopped.
  strategy_.current = "id-2";
  strategy_.replaced = "id-1";
  Transaction t;
  t.step = Step::kStopping;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  store_.state.transaction = t;
  Outcome out = apply();
  ASSERT_EQ(out.code, OutcomeCode::kDone) << out.message;
  EXPECT_EQ(strategy_.calls[0], "revert 1");
  EXPECT_FALSE(store_.state.isQuarantined("2"));  // a crash is not its fault
  EXPECT_EQ(store_.state.installed->version, "2");
}

TEST_F(AnUpgrade, FinishesAnInterruptedRollbackBeforeAnythingElse) {
  health_.script = {"", "sick"};  // the old one is fine, the retry of 2 is not
  strategy_.current = "id-2";
  strategy_.replaced = "id-1";
  Transaction t;
  t.step = Step::kRollingBack;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  t.failure = "unhealthy";
  store_.state.transaction = t;
  store_.state.quarantined.push_back({"2", "t", "unhealthy"});
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kNothingToDo);  // 2 stays quarantined
  EXPECT_EQ(strategy_.current, "id-1");
  EXPECT_FALSE(store_.state.transaction.has_value());
}

TEST_F(AnUpgrade, StopsAtARecoveryThatFails) {
  strategy_.fail = {"revert"};
  Transaction t;
  t.step = Step::kStopping;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  store_.state.transaction = t;
  EXPECT_EQ(apply().code, OutcomeCode::kRollbackFailed);
  EXPECT_THAT(strategy_.calls, ::testing::Not(::testing::Contains("resolve")));
}

TEST_F(AnUpgrade, RollbackOnRequestGoesBackAndKeepsTheNewerOneOut) {
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  Outcome out = rollback();
  ASSERT_EQ(out.code, OutcomeCode::kDone) << out.message;
  EXPECT_EQ(strategy_.current, "id-1");
  EXPECT_EQ(store_.state.installed->version, "1");
  EXPECT_EQ(store_.state.previous->version, "2");
  EXPECT_TRUE(store_.state.isQuarantined("2"));
  // The timer's next run does not bring 2 back.
  EXPECT_EQ(apply().code, OutcomeCode::kNothingToDo);
}

TEST_F(AnUpgrade, RollbackOnRequestQuarantinesInTheSameSaveAsItsCommit) {
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  int before = store_.saves;
  ASSERT_EQ(rollback().code, OutcomeCode::kDone);
  // staged, stopping, checking, commit: no save after the commit that the
  // quarantine could be lost with.
  EXPECT_EQ(store_.saves - before, 4);
  EXPECT_TRUE(store_.state.isQuarantined("2"));
}

TEST_F(AnUpgrade, RollbackOnRequestThatCannotCommitKeepsTheReleaseInService) {
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  store_.failSaveNumber = store_.saves + 4;  // the commit of the rollback
  Outcome out = rollback();
  EXPECT_EQ(out.code, OutcomeCode::kRolledBack) << out.message;
  EXPECT_EQ(strategy_.current, "id-2");
  EXPECT_EQ(store_.state.installed->version, "2");
  EXPECT_FALSE(store_.state.isQuarantined("2"));
}

TEST_F(AnUpgrade, MovesBetweenReleasesWithoutAnOrderWhateverTheirNames) {
  // Releases named by their digest (an image behind a fixed tag) have no
  // order: "older" means nothing, so nothing counts as a downgrade.
  store_.state.installed = ReleaseRef{"sha256:bbbb", "id-1"};
  strategy_.offer = Offer{"sha256:aaaa", false};
  Outcome out = apply();
  ASSERT_EQ(out.code, OutcomeCode::kDone) << out.message;
  UpgradeTransaction t(plan_, effects());
  store_.state.installed = ReleaseRef{"sha256:bbbb", strategy_.current};
  EXPECT_EQ(t.check().code, OutcomeCode::kDone);
}

TEST_F(AnUpgrade, TellsTheStartAfterTheSwapFromTheServiceManagersOwnClock) {
  // A unit that systemd reports active since before the swap was started
  // by its socket on the old release; one started after it is the new one.
  UnitStatus fresh = activeStatus();
  fresh.activeEnterTimestampUs = clock_.realtimeMicros() + 1;
  units_.setStatusAfterStart(UnitName("front.service"), fresh);
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  EXPECT_THAT(units_.jobs(), ::testing::Not(::testing::Contains("restart front.service")));
}

TEST_F(AnUpgrade, RollbackOnRequestMigratesNothing) {
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  plan_.hooks.migrate = {"upgradedb"};
  plan_.hooks.postUpgrade = {"post-upgrade"};
  plan_.hooks.postRollback = {"post-rollback"};
  ASSERT_EQ(rollback().code, OutcomeCode::kDone);
  EXPECT_THAT(hooks_.ran, ElementsAre("post-rollback"));
}

TEST_F(AnUpgrade, AFailedRollbackOnRequestKeepsTheReleaseItWasGoingBackTo) {
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  health_.script = {"1 is sick", ""};
  health_.calls = 0;
  Outcome out = rollback();
  EXPECT_EQ(out.code, OutcomeCode::kRolledBack) << out.message;
  EXPECT_EQ(strategy_.current, "id-2");
  EXPECT_EQ(strategy_.old, "id-1");  // still there for the next attempt
  EXPECT_THAT(strategy_.calls, ::testing::Contains("revert 2"));
  EXPECT_THAT(strategy_.calls, ::testing::Contains("discard 1 (kept)"));
  EXPECT_FALSE(store_.state.isQuarantined("1"));
}

TEST_F(AnUpgrade, QuarantinesAFailedVersionEvenWhenALaterRunFinishesTheRollback) {
  health_.script = {"2 is sick", "1 is sick too", ""};
  ASSERT_EQ(apply().code, OutcomeCode::kRollbackFailed);
  EXPECT_FALSE(store_.state.isQuarantined("2"));
  EXPECT_TRUE(store_.state.transaction->blameNew);
  // The next run finishes the rollback, and does not try 2 again.
  EXPECT_EQ(apply().code, OutcomeCode::kNothingToDo);
  EXPECT_TRUE(store_.state.isQuarantined("2"));
  EXPECT_EQ(strategy_.current, "id-1");
}

TEST_F(AnUpgrade, StopsNothingForARollbackThatCannotRestore) {
  strategy_.fail = {"revert"};
  Transaction t;
  t.step = Step::kRollingBack;
  t.from = {"1", "id-1"};
  t.to = {"2", "id-2"};
  store_.state.transaction = t;
  EXPECT_EQ(apply().code, OutcomeCode::kRollbackFailed);
  EXPECT_TRUE(units_.jobs().empty());
}

TEST_F(AnUpgrade, AFailedCommitLeavesTheOldReleaseRecorded) {
  store_.failSaveNumber = 4;  // staged, stopping, checking, commit
  Outcome out = apply();
  EXPECT_EQ(out.code, OutcomeCode::kRolledBack) << out.message;
  EXPECT_THAT(out.message, HasSubstr("Failed to commit"));
  EXPECT_EQ(store_.state.installed, (ReleaseRef{"1", "id-1"}));
  EXPECT_EQ(strategy_.current, "id-1");
}

TEST_F(AnUpgrade, NeverDiscardsAPreviousReleaseItUpgradesBackTo) {
  store_.state.installed = ReleaseRef{"3", "id-1"};
  store_.state.previous = ReleaseRef{"2", "id-2"};
  health_.script = {"sick", ""};
  EXPECT_EQ(apply({false, true}).code, OutcomeCode::kRolledBack);
  EXPECT_THAT(strategy_.calls, ::testing::Contains("discard 2 (kept)"));
}

TEST_F(AnUpgrade, RollbackOnRequestNeedsAPreviousRelease) {
  Outcome out = rollback();
  EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged);
  EXPECT_THAT(out.message, HasSubstr("no previous release"));
  EXPECT_TRUE(units_.jobs().empty());
}

TEST_F(AnUpgrade, RollbackOnRequestRefusesWhenThePathChangedBehindItsBack) {
  ASSERT_EQ(apply().code, OutcomeCode::kDone);
  strategy_.current = "id-x";
  Outcome out = rollback();
  EXPECT_EQ(out.code, OutcomeCode::kFailedUnchanged);
  EXPECT_THAT(out.message, HasSubstr("no longer holds"));
}

TEST_F(AnUpgrade, CheckTellsWhetherANewerReleaseIsAvailable) {
  UpgradeTransaction t(plan_, effects());
  EXPECT_EQ(t.check().code, OutcomeCode::kDone);
  store_.state.installed = ReleaseRef{"2", "id-1"};
  EXPECT_EQ(t.check().code, OutcomeCode::kNothingToDo);
  EXPECT_TRUE(units_.jobs().empty());
}

}  // namespace
}  // namespace upgrader
