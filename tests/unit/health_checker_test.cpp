// The assembled HealthChecker: real probes built from a HealthConfig, a
// fake service manager, the real command runner.
#include "health/health_checker.hpp"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "exec/command_runner.hpp"
#include "health/exec_probe.hpp"
#include "health/probe.hpp"
#include "support/fake_service_manager.hpp"
#include "support/loopback.hpp"

namespace upgrader {
namespace {

using testing::activeStatus;
using testing::FakeServiceManager;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const UnitName kAppUnit("app.service");

class NullEventLog : public EventLog {
 public:
  void setContext(const LogContext&) override {}
  void event(Event, std::string_view, std::string_view,
             std::string_view) override {}
  void progress(std::uint64_t, std::uint64_t) override {}
  void log(Severity, std::string_view) override {}
};

class AHealthChecker : public ::testing::Test {
 protected:
  AHealthChecker() {
    manager.setStatus(kAppUnit, activeStatus());
    config.interval = 10ms;
    config.timeout = 5s;
  }

  Status wait() {
    return makeHealthChecker(manager, *runner, *http, log, systemClock())
        ->waitHealthy(config, {kAppUnit});
  }

  FakeServiceManager manager;
  std::unique_ptr<CommandRunner> runner = makeProcessRunner();
  std::unique_ptr<HttpClient> http = makeCurlHttpClient();
  NullEventLog log;
  HealthConfig config;
};

TEST_F(AHealthChecker, BuildsOneProbePerConfiguredCheck) {
  config.httpUrls = {"http://127.0.0.1:1/a", "https://example.org/b"};
  config.tcp = {TcpEndpoint{"127.0.0.1", 5432}};
  config.exec = {"true"};
  auto probes = makeProbes(config, *runner, *http);
  ASSERT_EQ(probes.size(), 4u);
  EXPECT_EQ(probes[0]->name(), "GET http://127.0.0.1:1/a");
  EXPECT_EQ(probes[1]->name(), "GET https://example.org/b");
  EXPECT_EQ(probes[2]->name(), "TCP 127.0.0.1:5432");
  EXPECT_EQ(probes[3]->name(), "exec 'true'");
}

TEST_F(AHealthChecker, IsHealthyWhenTheCommandsPass) {
  config.exec = {"true", "test 1 -eq 1"};
  config.successes = 2;
  Status s = wait();
  EXPECT_TRUE(s) << s.error().message();
}

TEST_F(AHealthChecker, IsHealthyWithoutChecksWhenTheUnitIsActive) {
  Status s = wait();
  EXPECT_TRUE(s) << s.error().message();
}

TEST_F(AHealthChecker, TimesOutWithTheFailingCommandsOutput) {
  config.exec = {"echo not ready; exit 1"};
  // Room for the command's first run on a loaded machine (the sanitized
  // build beside the integration tests took over 100 ms to spawn it once):
  // the checker gives a run only what is left of the timeout.
  config.timeout = 1s;
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "not healthy after 1s: command 'echo not ready; exit 1' exited "
            "with status 1: not ready");
}

TEST_F(AHealthChecker, FailsForARefusedTcpEndpointAtTheTimeout) {
  int port = testing::unusedLoopbackPort();
  ASSERT_NE(port, 0);
  std::string endpoint = "127.0.0.1:" + std::to_string(port);
  config.tcp = {TcpEndpoint{"127.0.0.1", static_cast<std::uint16_t>(port)}};
  config.timeout = 50ms;
  Status s = wait();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "not healthy after 50ms: TCP connect to " +
                                     endpoint + ": Connection refused");
}

TEST(AnExecProbe, PassesTheRunnersResultThrough) {
  auto runner = makeProcessRunner();
  ExecProbe ok("true", *runner);
  EXPECT_TRUE(ok.check(5s));
  ExecProbe failing("exit 7", *runner);
  Status s = failing.check(5s);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "command 'exit 7' exited with status 7");
}

}  // namespace
}  // namespace upgrader
