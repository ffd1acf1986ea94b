// The D-Bus client against a real systemd (run inside the test bed by
// run_in_testbed.sh). Set-up uses systemctl; every assertion goes through
// the project's own client.
#include <gtest/gtest.h>

#include <chrono>

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

}  // namespace
}  // namespace upgrader
