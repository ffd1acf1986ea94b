// The health waiting logic with fake probes, a fake service manager and a
// manual clock: waiting moves the clock, so every time asserted here is
// exact and nothing waits for real.
#include "health/health_waiter.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/fake_service_manager.hpp"
#include "support/manual_clock.hpp"

namespace upgrader {
namespace {

using testing::activatingStatus;
using testing::activeStatus;
using testing::autoRestartStatus;
using testing::failedStatus;
using testing::FakeServiceManager;
using ::testing::HasSubstr;
using testing::inactiveStatus;
using namespace std::chrono_literals;

const UnitName kApp("app.service");
const UnitName kWorker("app-worker.service");

// Passes or fails as scripted, one entry per call; the last entry repeats.
class FakeProbe : public Probe {
 public:
  struct Shared {
    std::vector<Duration> timeouts;
  };

  FakeProbe(std::string name, std::vector<bool> script,
            std::shared_ptr<Shared> shared = std::make_shared<Shared>())
      : name_(std::move(name)),
        script_(std::move(script)),
        shared_(std::move(shared)) {}

  std::string name() const override { return name_; }

  Status check(Duration timeout) override {
    shared_->timeouts.push_back(timeout);
    std::size_t i = std::min(calls_, script_.size() - 1);
    ++calls_;
    if (script_[i]) return okStatus();
    return Error(name_ + ": failure " + std::to_string(calls_));
  }

 private:
  std::string name_;
  std::vector<bool> script_;
  std::shared_ptr<Shared> shared_;
  std::size_t calls_ = 0;
};

class CapturingEventLog : public EventLog {
 public:
  void setContext(const LogContext&) override {}
  void event(Event, std::string_view, std::string_view,
             std::string_view) override {}
  void progress(std::uint64_t, std::uint64_t) override {}
  void log(Severity, std::string_view message) override {
    lines.emplace_back(message);
  }
  std::vector<std::string> lines;
};

class AHealthWaiter : public ::testing::Test {
 protected:
  AHealthWaiter() {
    manager.setStatus(kApp, activeStatus());
    config.interval = 10ms;
    config.timeout = 30s;
    config.successes = 1;
  }

  // Adds a probe whose check calls are counted in probeCalls().
  void addProbe(std::vector<bool> script) {
    probes.push_back(std::make_unique<FakeProbe>(
        "GET http://probe" + std::to_string(probes.size()), std::move(script),
        shared));
  }
  std::size_t probeCalls() const { return shared->timeouts.size(); }

  Status wait(std::vector<UnitName> units = {kApp}) {
    auto start = clock.now();
    Status s = HealthWaiter(manager, log, clock).waitHealthy(probes, config, units);
    elapsed = clock.now() - start;
    return s;
  }

  testing::ManualClock clock;
  FakeServiceManager manager{clock};
  CapturingEventLog log;
  HealthConfig config;
  std::vector<std::unique_ptr<Probe>> probes;
  std::shared_ptr<FakeProbe::Shared> shared =
      std::make_shared<FakeProbe::Shared>();
  SteadyTime::duration elapsed{};
};

TEST_F(AHealthWaiter, SucceedsAfterTheConfiguredNumberOfConsecutiveSuccesses) {
  config.successes = 3;
  addProbe({true});
  Status s = wait();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(probeCalls(), 3u);
}

TEST_F(AHealthWaiter, RestartsTheCountAfterAFailure) {
  config.successes = 2;
  addProbe({true, false, true, true});
  Status s = wait();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(probeCalls(), 4u);
}

TEST_F(AHealthWaiter, NeedsEveryProbeToPassInTheSameRound) {
  config.successes = 2;
  addProbe({true});
  addProbe({true, false, true});
  Status s = wait();
  ASSERT_TRUE(s) << s.error().message();
  // Rounds: (ok, ok), (ok, fail), (ok, ok), (ok, ok).
  EXPECT_EQ(probeCalls(), 8u);
}

TEST_F(AHealthWaiter, WaitsAboutOneIntervalBetweenRounds) {
  config.successes = 5;
  config.interval = 20ms;
  addProbe({true});
  ASSERT_TRUE(wait());
  EXPECT_EQ(elapsed, 80ms);  // four waits between five rounds
}

TEST_F(AHealthWaiter, TimesOutWithTheLastFailure) {
  config.timeout = 100ms;
  addProbe({false});
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_THAT(
      s.error().message(),
      ::testing::MatchesRegex(
          "not healthy after 100ms: GET http://probe0: failure [0-9]+"));
  EXPECT_EQ(elapsed, 100ms);
}

// Fails fast at first, then hangs for whatever time it is given.
class SlowingProbe : public Probe {
 public:
  explicit SlowingProbe(Clock& clock) : clock_(clock) {}
  std::string name() const override { return "TCP db:5432"; }
  Status check(Duration timeout) override {
    if (calls_++ == 0) return Error("TCP db:5432: Connection refused");
    clock_.sleepUntil(clock_.now() + timeout);
    return Error("TCP db:5432: timed out");
  }

 private:
  Clock& clock_;
  int calls_ = 0;
};

TEST_F(AHealthWaiter, ReportsTheLastFullRoundNotOneCutShortByTheTimeout) {
  config.timeout = 60ms;
  probes.push_back(std::make_unique<SlowingProbe>(clock));
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "not healthy after 60ms: TCP db:5432: Connection refused");
}

TEST_F(AHealthWaiter, NamesEveryFailingCheckOfTheLastRound) {
  config.timeout = 50ms;
  addProbe({false});
  addProbe({true});
  addProbe({false});
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), HasSubstr("GET http://probe0: failure"));
  EXPECT_THAT(s.error().message(), HasSubstr("; GET http://probe2: failure"));
}

TEST_F(AHealthWaiter, GivesNoCheckMoreTimeThanIsLeft) {
  config.timeout = 100ms;
  addProbe({false});
  ASSERT_FALSE(wait());
  ASSERT_FALSE(shared->timeouts.empty());
  for (Duration t : shared->timeouts) EXPECT_LE(t, 100ms);
}

TEST_F(AHealthWaiter, SaysHowFarItGotWhenTheChecksRecoveredTooLate) {
  config.timeout = 60ms;
  config.interval = 10ms;
  config.successes = 1000;
  addProbe({false, true});
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(),
              ::testing::MatchesRegex("not healthy after 60ms: checks passed "
                                      "[0-9]+ of 1000 times in a row; last "
                                      "failure: GET http://probe0: failure 1"));
}

TEST_F(AHealthWaiter, FailsAtOnceWhenAUnitCrashes) {
  config.successes = 1000;  // never healthy on its own
  addProbe({true});
  manager.queueChange(kApp, failedStatus("exit-code", 3), 50ms);
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "unit 'app.service' failed (result 'exit-code', main process "
            "exited with status 3)");
  // Noticed while waiting between rounds, when it happened: not at the
  // 30 s timeout.
  EXPECT_EQ(elapsed, 50ms);
}

TEST_F(AHealthWaiter, NoticesACrashDuringALongIntervalWithoutWaitingItOut) {
  config.interval = 20s;
  config.successes = 2;
  addProbe({true});
  manager.queueChange(kApp, autoRestartStatus("signal"), 50ms);
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "unit 'app.service' crashed and waits to be restarted (result "
            "'signal', main process exited with status 1)");
  EXPECT_EQ(elapsed, 50ms);  // not the 20 s interval
  EXPECT_EQ(probeCalls(), 1u);
}

TEST_F(AHealthWaiter, FailsWhenSystemdRestartedTheUnitInTheMeantime) {
  manager.setStatus(kApp, activeStatus(/*nRestarts=*/2));
  config.successes = 1000;
  addProbe({true});
  manager.queueChange(kApp, activeStatus(3), 30ms);
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "unit 'app.service' was restarted by systemd (NRestarts 2 -> 3, "
            "result 'success')");
  EXPECT_EQ(elapsed, 30ms);
}

TEST_F(AHealthWaiter, FailsWhenAUnitStops) {
  config.successes = 1000;
  manager.queueChange(kApp, inactiveStatus(), 30ms);
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "unit 'app.service' is no longer running (inactive/dead, result "
            "'success')");
}

TEST_F(AHealthWaiter, FailsBeforeAnyCheckWhenAUnitHasAlreadyFailed) {
  manager.setStatus(kApp, failedStatus());
  addProbe({true});
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), HasSubstr("unit 'app.service' failed"));
  EXPECT_EQ(probeCalls(), 0u);
}

TEST_F(AHealthWaiter, WatchesEveryUnitNotOnlyTheFirst) {
  manager.setStatus(kWorker, activeStatus());
  config.successes = 1000;
  addProbe({true});
  manager.queueChange(kWorker, failedStatus("core-dump"), 40ms);
  Status s = wait({kApp, kWorker});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "unit 'app-worker.service' failed (result 'core-dump', main "
            "process exited with status 1)");
  // The second unit is read at each round (every 10 ms), not waited on.
  EXPECT_GE(elapsed, 40ms);
  EXPECT_LE(elapsed, 50ms);
}

TEST_F(AHealthWaiter, WaitsOnTheFirstUnitBetweenRounds) {
  config.successes = 3;
  addProbe({true});
  ASSERT_TRUE(wait({kApp}));
  for (const auto& call : manager.calls()) {
    if (call.kind == FakeServiceManager::CallKind::kWait) {
      EXPECT_EQ(call.unit, kApp);
      EXPECT_LE(call.timeout, 10ms);
    }
  }
  EXPECT_GE(manager.count(FakeServiceManager::CallKind::kWait), 2u);
}

TEST_F(AHealthWaiter, ReportsAUnitItCannotRead) {
  addProbe({true});
  Status s = wait({kApp, UnitName("missing.service")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "unit 'missing.service' not found");
}

TEST_F(AHealthWaiter, WithoutProbesIsHealthyOnceTheUnitsAreActive) {
  Status s = wait();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(elapsed, 0ms);
}

TEST_F(AHealthWaiter, WaitsForAnActivatingUnitToBecomeActive) {
  manager.setStatus(kApp, activatingStatus());
  manager.queueChange(kApp, activeStatus(), 50ms);
  addProbe({true});
  Status s = wait();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(elapsed, 50ms);
}

TEST_F(AHealthWaiter, TimesOutNamingAUnitThatNeverLeavesActivating) {
  manager.setStatus(kApp, activatingStatus());
  config.timeout = 50ms;
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "not healthy after 50ms: unit 'app.service' is still activating");
}

TEST_F(AHealthWaiter, WaitsOutTheSettlePeriodAfterTheFirstPassingRound) {
  config.settle = 150ms;
  addProbe({false, false, true});
  Status s = wait();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(elapsed, 150ms + 20ms);  // two failing rounds come first
  EXPECT_GT(probeCalls(), 3u);  // the checks go on while it settles
}

TEST_F(AHealthWaiter, FailsWhenAUnitRestartsWhileSettling) {
  config.settle = 10s;
  addProbe({true});
  manager.queueChange(kApp, activeStatus(1), 100ms);
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(),
              HasSubstr("unit 'app.service' was restarted by systemd"));
  EXPECT_EQ(elapsed, 100ms);  // not the 10 s of SettleSec=
}

TEST_F(AHealthWaiter, TimesOutWhenTheSettlePeriodOutlastsTheTimeout) {
  config.settle = 10s;
  config.timeout = 80ms;
  addProbe({true});
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(),
              ::testing::MatchesRegex("not healthy after 80ms: units stable "
                                      "for 80ms of the 10s of "
                                      "SettleSec="));
}

TEST_F(AHealthWaiter, TakesATimeoutOfCenturiesAsALongTimeNotAsPast) {
  config.timeout = std::chrono::hours(24 * 7 * 20000);
  config.successes = 2;
  addProbe({true});
  Status s = wait();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(elapsed, 10ms);  // one interval between two passing rounds
}

}  // namespace
}  // namespace upgrader
