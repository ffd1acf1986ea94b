// Hooks as transient services: what systemd is asked for, and how the way a
// hook ended becomes the error an operator reads (naming the command, how it
// ended, its unit, and ending with its last lines from the journal).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/fake_service_manager.hpp"
#include "systemd/transient_hook_runner.hpp"

namespace upgrader {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace upgrader::testing;

constexpr const char* kInvocation = "0123456789abcdef0123456789abcdef";
constexpr std::uint64_t kStarted = 1796000000000000;  // µs, CLOCK_REALTIME

class FakeJournal : public JournalReader {
 public:
  std::string lines;
  std::string failure;
  std::vector<std::string> asked;
  Result<std::string> lastLines(const UnitName& unit, const std::string& id,
                                std::uint64_t since, std::size_t,
                                std::size_t) override {
    asked.push_back(unit.str() + " " + id + " " + std::to_string(since));
    if (!failure.empty()) return Error(failure);
    return lines;
  }
};

TransientOutcome ended(std::int32_t code, std::int32_t status,
                       std::string result, std::string job = "failed") {
  TransientOutcome o;
  o.execMainCode = code;
  o.execMainStatus = status;
  o.result = std::move(result);
  o.jobResult = std::move(job);
  o.invocationId = kInvocation;
  o.linesSinceUsec = kStarted;
  return o;
}

class AHook : public ::testing::Test {
 protected:
  std::unique_ptr<HookRunner> runner(std::optional<UnitName> caller = {}) {
    return makeTransientHookRunner(units_, journal_, InstanceName("demo"), 812,
                                   std::move(caller));
  }
  Hook migrate(std::string script = "upgradedb --all") {
    return {"Migrate",
            std::move(script),
            {{"UPGRADER_INSTANCE", "demo"}},
            std::chrono::seconds(30)};
  }

  FakeServiceManager units_;
  FakeJournal journal_;
};

TEST_F(AHook, RunsAsATransientServiceNamedAfterWhatItIs) {
  ASSERT_TRUE(runner()->run(migrate()));
  ASSERT_EQ(units_.transients().size(), 1u);
  // transients() returns a copy: keep the element, not a reference into it.
  const TransientService s = units_.transients()[0];
  EXPECT_EQ(s.name.str(), "upgrader-hook-demo-migrate-812-1.service");
  EXPECT_THAT(s.argv, ElementsAre("/bin/sh", "-c", "upgradedb --all"));
  EXPECT_THAT(s.environment, ElementsAre("UPGRADER_INSTANCE=demo"));
  EXPECT_EQ(s.timeout, std::chrono::seconds(30));
  EXPECT_THAT(s.description, HasSubstr("Migrate= hook of demo"));
  EXPECT_FALSE(s.bindsTo.has_value());
  // Its output is only read when there is a failure to explain.
  EXPECT_TRUE(journal_.asked.empty());
}

TEST_F(AHook, GetsAUnitOfItsOwnEachTimeItRuns) {
  auto hooks = runner();
  ASSERT_TRUE(hooks->run(migrate()));
  ASSERT_TRUE(
      hooks->run({"PostUpgrade", "notify", {}, std::chrono::seconds(5)}));
  ASSERT_EQ(units_.transients().size(), 2u);
  EXPECT_EQ(units_.transients()[0].name.str(),
            "upgrader-hook-demo-migrate-812-1.service");
  EXPECT_EQ(units_.transients()[1].name.str(),
            "upgrader-hook-demo-postupgrade-812-2.service");
}

TEST_F(AHook, ThatFailsIsNamedWithItsStatusItsUnitAndItsLastLines) {
  units_.queueTransient(ended(1, 7, "exit-code"));
  journal_.lines = "migrating table a\nerror: disk full";
  Status st = runner()->run(migrate("echo x; exit 7"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "command 'echo x; exit 7' exited with status 7 "
            "(upgrader-hook-demo-migrate-812-1.service): migrating table a\n"
            "error: disk full");
  // Its invocation's lines, none from before it started.
  EXPECT_THAT(
      journal_.asked,
      ElementsAre("upgrader-hook-demo-migrate-812-1.service " +
                  std::string(kInvocation) + " " + std::to_string(kStarted)));
}

TEST_F(AHook, ThatTimesOutSaysAfterHowLong) {
  units_.queueTransient(ended(2, 15, "timeout"));
  Status st = runner()->run(migrate());
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(),
              HasSubstr("command 'upgradedb --all' timed out after 30s "
                        "(upgrader-hook-demo-migrate-812-1.service)"));
}

TEST_F(AHook, ThatExitsOnTheTimeoutsSigtermStillTimedOut) {
  // A shell that traps TERM and exits 143: systemd's result is what counts.
  units_.queueTransient(ended(1, 143, "timeout", "failed"));
  Status st = runner()->run(migrate());
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("timed out after 30s"));
}

TEST_F(AHook, ThatTheUpgraderHadToStopItselfTimedOut) {
  TransientOutcome o = ended(2, 9, "signal", "canceled");
  o.stoppedByCaller = true;
  units_.queueTransient(o);
  Status st = runner()->run(migrate());
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("timed out after 30s"));
}

TEST_F(AHook, KilledByASignalSaysWhichOne) {
  units_.queueTransient(ended(2, 9, "signal"));
  Status st = runner()->run(migrate());
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("killed by signal 9"));
}

TEST_F(AHook, ThatNeverRanSaysWhatSystemdReported) {
  units_.queueTransient(ended(0, 0, "resources"));
  Status st = runner()->run(migrate());
  ASSERT_FALSE(st);
  EXPECT_THAT(
      st.error().message(),
      HasSubstr("did not run (upgrader-hook-demo-migrate-812-1.service): "
                "unit result 'resources'"));
}

TEST_F(AHook, ThatSystemdRefusesToCreateNamesTheCommand) {
  units_.refuseTransient("systemd refused the request: Access denied");
  Status st = runner()->run(migrate());
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(),
              HasSubstr("command 'upgradedb --all' could not be started as a "
                        "transient service: systemd refused the request"));
}

TEST_F(AHook, WhoseOutputCannotBeReadStillFailsWithItsStatus) {
  units_.queueTransient(ended(1, 3, "exit-code"));
  journal_.failure = "cannot open the journal: Permission denied";
  Status st = runner()->run(migrate());
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("exited with status 3"));
  EXPECT_THAT(st.error().message(), HasSubstr("Permission denied"));
}

TEST_F(AHook, IsBoundToTheCallersUnitWhileThatRuns) {
  units_.setStatus(UnitName("upgrade@demo.service"), activatingStatus());
  ASSERT_TRUE(runner(UnitName("upgrade@demo.service"))->run(migrate()));
  ASSERT_TRUE(units_.transients()[0].bindsTo.has_value());
  EXPECT_EQ(units_.transients()[0].bindsTo->str(), "upgrade@demo.service");
}

TEST_F(AHook, IsNotBoundToAUnitSystemdDoesNotRun) {
  // An upgrader nsenter'd into another system, or in a scope systemd no
  // longer has: binding to it would fail every hook.
  ASSERT_TRUE(runner(UnitName("session-7.scope"))->run(migrate()));
  EXPECT_FALSE(units_.transients()[0].bindsTo.has_value());
}

TEST(HookUnits, AreToldApartByInstance) {
  InstanceName demo("demo");
  EXPECT_TRUE(isHookUnitOf(demo, "upgrader-hook-demo-migrate-812-1.service"));
  EXPECT_TRUE(
      isHookUnitOf(demo, "upgrader-hook-demo-postrollback-1-12.service"));
  EXPECT_FALSE(
      isHookUnitOf(demo, "upgrader-hook-demo-x-migrate-812-1.service"));
  EXPECT_FALSE(isHookUnitOf(demo, "upgrader-hook-demo-migrate-812.service"));
  EXPECT_FALSE(isHookUnitOf(demo, "upgrader-hook-demo-rm-812-1.service"));
  EXPECT_FALSE(isHookUnitOf(demo, "upgrader-hook-demo-migrate-812-1.scope"));
  EXPECT_TRUE(isHookUnitOf(InstanceName("demo-x"),
                           "upgrader-hook-demo-x-migrate-812-1.service"));
}

TEST(HookUnits, FitInAUnitNameWhateverTheInstance) {
  InstanceName longest(std::string(255, 'a'));
  UnitName name = hookUnitName(longest, "PostRollback", 4194304, 99);
  EXPECT_LE(name.str().size(), 255u);
  EXPECT_TRUE(isHookUnitOf(longest, name.str()));
}

TEST_F(AHook, LeftByAKilledRunIsStoppedButNotThoseOfOtherInstances) {
  units_.setStatus(UnitName("upgrader-hook-demo-migrate-77-1.service"),
                   activeStatus());
  units_.setStatus(UnitName("upgrader-hook-demo-x-migrate-78-1.service"),
                   activeStatus());
  units_.setStatus(UnitName("upgrader-hook-demo-prestop-77-2.service"),
                   inactiveStatus());
  ASSERT_TRUE(runner()->stopLeftovers());
  EXPECT_THAT(units_.jobs(),
              ElementsAre("stop upgrader-hook-demo-migrate-77-1.service"));
}

}  // namespace
}  // namespace upgrader
