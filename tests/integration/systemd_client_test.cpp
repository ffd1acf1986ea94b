// The D-Bus client against a real systemd (run inside the test bed by
// run_in_testbed.sh). Set-up uses systemctl; every assertion goes through
// the project's own client.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/system.hpp"
#include "systemd/service_manager.hpp"

namespace upgrader {
namespace {

using namespace std::chrono_literals;
using testing::installUnit;
using testing::sh;

std::string fixture(const std::string& name) {
  return std::string(TEST_FIXTURES_DIR) + "/" + name;
}

class ASystemdConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    auto connected = connectSystemd();
    ASSERT_TRUE(connected) << connected.error().message();
    manager_ = std::move(*connected);
  }
  std::unique_ptr<ServiceManager> manager_;
};

TEST_F(ASystemdConnection, StartsAServiceWaitsForTheJobAndStopsIt) {
  ASSERT_TRUE(installUnit("itest-start.service",
                          "[Service]\nType=exec\nExecStart=" +
                              fixture("test_service_v1") + " --port 18081\n"));
  UnitName unit("itest-start.service");

  ASSERT_TRUE(manager_->startUnit(unit, 30s));
  auto status = manager_->unitStatus(unit);
  ASSERT_TRUE(status) << status.error().message();
  EXPECT_EQ(status->activeState, "active");
  EXPECT_NE(status->mainPid, 0u);
  EXPECT_NE(status->activeEnterTimestampUs, 0u);
  EXPECT_EQ(sh("curl -fsS http://127.0.0.1:18081/healthz | grep -q '\"version\":\"1\"'"), 0);

  ASSERT_TRUE(manager_->stopUnit(unit, 30s));
  status = manager_->unitStatus(unit);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->activeState, "inactive");
}

TEST_F(ASystemdConnection, NamesAMissingUnitClearly) {
  UnitName unit("nonexistent.service");
  auto started = manager_->startUnit(unit, 10s);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message(), "unit 'nonexistent.service' not found");
  auto status = manager_->unitStatus(unit);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "unit 'nonexistent.service' not found");
}

TEST_F(ASystemdConnection, ReportsAFailedStartJobWithTheUnitsResult) {
  // Type=oneshot: the start job waits for the process, which fails.
  ASSERT_TRUE(installUnit("itest-fail.service",
                          "[Service]\nType=oneshot\nExecStart=/bin/false\n"));
  auto started = manager_->startUnit(UnitName("itest-fail.service"), 30s);
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message().find("result 'failed'"),
            std::string::npos)
      << started.error().message();
  EXPECT_NE(started.error().message().find("exit-code"), std::string::npos)
      << started.error().message();
}

TEST_F(ASystemdConnection, CancelsAJobThatOutlivesItsTimeout) {
  ASSERT_TRUE(installUnit(
      "itest-slow.service",
      "[Service]\nType=oneshot\nExecStart=/bin/sleep 30\n"));
  UnitName unit("itest-slow.service");
  auto t0 = std::chrono::steady_clock::now();
  auto started = manager_->startUnit(unit, 500ms);
  ASSERT_FALSE(started);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_NE(started.error().message().find("did not finish"),
            std::string::npos);
  // Cancelling a start job does not kill a process already started (that
  // is systemd's rule); a stop, as a rollback does next, ends it.
  ASSERT_TRUE(manager_->stopUnit(unit, 30s));
  auto status = manager_->unitStatus(unit);
  ASSERT_TRUE(status);
  // "failed" (result 'signal'): the stop killed the process it had left.
  EXPECT_FALSE(status->isActive());
  EXPECT_NE(status->activeState, "activating");
}

TEST_F(ASystemdConnection, NoticesACrashAsSoonAsSystemdDoes) {
  ASSERT_TRUE(installUnit("itest-crash.service",
                          "[Service]\nType=exec\nRestart=always\n"
                          "RestartSec=5s\nExecStart=" +
                              fixture("test_service_v3_crash_loop") +
                              " --port 18082\n"));
  UnitName unit("itest-crash.service");
  ASSERT_TRUE(manager_->startUnit(unit, 30s));
  auto before = manager_->unitStatus(unit);
  ASSERT_TRUE(before);
  ASSERT_TRUE(before->isActive());

  // The fixture exits about 1.5 s after start; waitForChange must return
  // then (auto-restart), not after its 20 s timeout.
  auto t0 = std::chrono::steady_clock::now();
  bool failed = false;
  while (!failed && std::chrono::steady_clock::now() - t0 < 20s) {
    auto s = manager_->waitForChange(unit, 20s);
    ASSERT_TRUE(s);
    failed = s->hasFailed();
  }
  EXPECT_TRUE(failed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  (void)manager_->stopUnit(unit, 30s);
}

TransientService oneshot(const std::string& name, const std::string& script,
                         std::chrono::microseconds timeout = 30s) {
  TransientService s;
  s.name = UnitName(name);
  s.description = "itest transient service";
  s.argv = {"/bin/sh", "-c", script};
  s.environment = {"ITEST_WORD=seen"};
  s.timeout = timeout;
  return s;
}

TEST_F(ASystemdConnection, RunsATransientServiceAndReadsItsResultBeforeItIsCollected) {
  // Exits at once: without its reference systemd would have collected the
  // unit, and its exit status with it, before we could ask.
  auto ended = manager_->runTransientService(oneshot(
      "itest-transient-1.service",
      "[ \"$ITEST_WORD\" = seen ] || exit 1; [ \"$$\" != '$' ] || exit 2; exit 7"));
  ASSERT_TRUE(ended) << ended.error().message();
  EXPECT_EQ(ended->execMainCode, 1);  // CLD_EXITED
  // 7: the environment arrived, and systemd left $$ to the shell.
  EXPECT_EQ(ended->execMainStatus, 7);
  EXPECT_EQ(ended->result, "exit-code");
  EXPECT_EQ(ended->invocationId.size(), 32u);
  // Collected once let go, although it failed.
  for (int i = 0; i < 100 && sh("systemctl status itest-transient-1.service >/dev/null 2>&1; "
                                "[ $? -eq 4 ]") != 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(sh("systemctl status itest-transient-1.service >/dev/null 2>&1; [ $? -eq 4 ]"), 0);
}

TEST_F(ASystemdConnection, StopsATransientServiceThatOutlivesItsTimeout) {
  auto t0 = std::chrono::steady_clock::now();
  auto ended = manager_->runTransientService(
      oneshot("itest-transient-2.service", "sleep 60", 1s));
  ASSERT_TRUE(ended) << ended.error().message();
  EXPECT_EQ(ended->result, "timeout");
  // The unit's start timeout fails the job; a job result "timeout" would
  // mean JobTimeoutSec=, which a hook does not set.
  EXPECT_EQ(ended->jobResult, "failed");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_NE(sh("pgrep -f 'slee[p] 60' >/dev/null"), 0);
}

TEST_F(ASystemdConnection, ListsTheLiveUnitsMatchingAPattern) {
  ASSERT_TRUE(installUnit("itest-live-a.service",
                          "[Service]\nExecStart=/bin/sleep 60\n"));
  ASSERT_TRUE(manager_->startUnit(UnitName("itest-live-a.service"), 30s));
  auto live = manager_->liveUnitsMatching("itest-live-*.service");
  ASSERT_TRUE(live) << live.error().message();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].str(), "itest-live-a.service");
  ASSERT_TRUE(manager_->stopUnit(UnitName("itest-live-a.service"), 30s));
  live = manager_->liveUnitsMatching("itest-live-*.service");
  ASSERT_TRUE(live);
  EXPECT_TRUE(live->empty());
}

}  // namespace
}  // namespace upgrader
