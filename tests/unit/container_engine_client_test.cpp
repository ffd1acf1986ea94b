// The engine client against scripted Engine API answers, in the two
// dialects seen from the real engines: Docker reports a failed pull by
// status, Podman in the stream after HTTP 200.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "container/engine_client.hpp"
#include "support/fake_http_client.hpp"
#include "support/fake_service_manager.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using ::testing::ElementsAre;
using testing::FakeHttpClient;
using testing::FakeServiceManager;
using ::testing::HasSubstr;

const std::string kApi = "http://localhost/v1.41";
const std::string kRef =
    "127.0.0.1:5000/"
    "svc@sha256:"
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kPullUrl =
    kApi +
    "/images/"
    "create?fromImage=127.0.0.1%3A5000%2Fsvc%40sha256%"
    "3A0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class AnEngineClient : public ::testing::Test {
 protected:
  AnEngineClient() {
    units_.setStatus(UnitName("podman.socket"), testing::inactiveStatus());
  }
  std::unique_ptr<ContainerEngine> engine() {
    return makeEngineClient(http_, units_,
                            {"podman", socket_, UnitName("podman.socket")});
  }
  // Something listening on the socket path, as an engine would.
  int listen() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, 4), 0);
    return fd;
  }
  testing::TempDir dir_;
  std::string socket_ = dir_ / "podman.sock";
  FakeHttpClient http_;
  FakeServiceManager units_;
};

TEST_F(AnEngineClient, PullsByDigestOverTheSocket) {
  http_.answer("POST", kPullUrl, 200,
               "{\"status\":\"Pulling fs layer\"}\n{\"status\":\"Download "
               "complete\"}\n");
  Status st = engine()->pull(kRef, std::nullopt, "127.0.0.1:5000",
                             std::chrono::minutes(2));
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(http_.requests[0].unixSocket, socket_);
  EXPECT_EQ(http_.requests[0].timeout, std::chrono::minutes(2));
  EXPECT_EQ(http_.headerOf(0, "X-Registry-Auth"), "");
}

TEST_F(AnEngineClient, ReadsAFailedPullFromTheStreamAsPodmanReportsIt) {
  http_.answer("POST", kPullUrl, 200,
               "{\"status\":\"Trying to pull\"}\n"
               "{\"errorDetail\":{\"message\":\"manifest "
               "unknown\"},\"error\":\"manifest unknown\"}\n");
  Status st = engine()->pull(kRef, std::nullopt, "127.0.0.1:5000",
                             std::chrono::minutes(1));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "podman (" + socket_ + ") could not pull '" +
                                      kRef + "': 'manifest unknown'");
}

TEST_F(AnEngineClient, ReadsAFailedPullFromTheStatusAsDockerReportsIt) {
  http_.answer("POST", kPullUrl, 404,
               R"({"message":"manifest for 127.0.0.1:5000/svc not found"})");
  Status st = engine()->pull(kRef, std::nullopt, "127.0.0.1:5000",
                             std::chrono::minutes(1));
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(),
              HasSubstr("manifest for 127.0.0.1:5000/svc not found"));
}

TEST_F(AnEngineClient, SendsCredentialsAsPaddedBase64UrlJson) {
  http_.answer("POST", kPullUrl, 200, "");
  // A password whose base64 has '+' and '/' in the standard alphabet.
  Credentials c{"ci", "p>?w~"};
  ASSERT_TRUE(
      engine()->pull(kRef, c, "127.0.0.1:5000", std::chrono::minutes(1)));
  std::string header = http_.headerOf(0, "X-Registry-Auth");
  EXPECT_EQ(header.find_first_of("+/"), std::string::npos);
  ASSERT_FALSE(header.empty());
  std::string standard = header;
  for (char& ch : standard) {
    if (ch == '-') ch = '+';
    if (ch == '_') ch = '/';
  }
  auto decoded = base64Decode(standard);
  ASSERT_TRUE(decoded);
  auto j = nlohmann::json::parse(*decoded);
  EXPECT_EQ(j["username"], "ci");
  EXPECT_EQ(j["password"], "p>?w~");
  EXPECT_EQ(j["serveraddress"], "127.0.0.1:5000");
}

TEST_F(AnEngineClient, StartsTheSocketUnitOnceWhenNothingAnswers) {
  http_.unreachable("GET", kApi + "/images/" + kRef + "/json");
  http_.answer("GET", kApi + "/images/" + kRef + "/json", 404,
               R"({"message":"no such image"})");
  auto image = engine()->inspect(kRef);
  ASSERT_TRUE(image) << image.error().message();
  EXPECT_FALSE(*image);
  EXPECT_THAT(units_.jobs(), ElementsAre("start podman.socket"));
}

TEST_F(AnEngineClient, DoesNotStartOrRetryWhenTheSocketAnswers) {
  // A pull that timed out is not a service that was not running: sending
  // it again would double PullTimeoutSec=.
  int fd = listen();
  http_.unreachable("POST", kPullUrl, "Timeout was reached");
  Status st = engine()->pull(kRef, std::nullopt, "127.0.0.1:5000",
                             std::chrono::seconds(1));
  ::close(fd);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("Timeout was reached"));
  EXPECT_TRUE(units_.jobs().empty());
  EXPECT_EQ(http_.requests.size(), 1u);
}

TEST_F(AnEngineClient, KillsAContainerAndWaitsForItToStop) {
  const std::string id(64, 'a');
  http_.answer("POST", kApi + "/containers/" + id + "/kill", 204, "");
  http_.answer("POST", kApi + "/containers/" + id + "/wait", 200,
               R"({"StatusCode":137})");
  EXPECT_TRUE(engine()->killContainer(id, std::chrono::seconds(5)));
  EXPECT_EQ(http_.requests[1].timeout, std::chrono::seconds(5));
  EXPECT_FALSE(
      engine()->killContainer("../../images/x", std::chrono::seconds(5)));
}

TEST_F(AnEngineClient, TakesAContainerRemovedWhileItWaitedAsKilled) {
  // Podman: a container run with --rm ends and is removed between the
  // kill and the wait, which then answers 500.
  const std::string id(64, 'b');
  http_.answer("POST", kApi + "/containers/" + id + "/kill", 204, "");
  http_.answer("POST", kApi + "/containers/" + id + "/wait", 500,
               R"({"cause":"no such container","message":"no container with name or ID found"})");
  http_.answer("GET", kApi + "/containers/" + id + "/json", 404,
               R"({"message":"no such container"})");
  EXPECT_TRUE(engine()->killContainer(id, std::chrono::seconds(5)));
}

TEST_F(AnEngineClient, SaysWhyAWaitFailedOnAContainerStillRunning) {
  const std::string id(64, 'c');
  http_.answer("POST", kApi + "/containers/" + id + "/kill", 204, "");
  for (int i = 0; i < 3; ++i) {
    http_.answer("POST", kApi + "/containers/" + id + "/wait", 500,
                 R"({"message":"the engine is confused"})");
    http_.answer("GET", kApi + "/containers/" + id + "/json", 200,
                 i == 0 ? R"({"Id":"x"})" : R"({"Id":"x","State":{"Running":true}})");
  }
  Status st = engine()->killContainer(id, std::chrono::seconds(5));
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("the engine is confused"));
  EXPECT_TRUE(http_.allAnswered());
}

TEST_F(AnEngineClient, TakesAContainerThatExitedAsKilledThoughItsWaitFailed) {
  const std::string id(64, 'd');
  http_.answer("POST", kApi + "/containers/" + id + "/kill", 204, "");
  http_.answer("POST", kApi + "/containers/" + id + "/wait", 500,
               R"({"message":"context canceled"})");
  http_.answer("GET", kApi + "/containers/" + id + "/json", 200,
               R"({"Id":"x","State":{"Status":"exited","Running":false}})");
  EXPECT_TRUE(engine()->killContainer(id, std::chrono::seconds(5)));
}

TEST_F(AnEngineClient, WaitsAgainForAContainerStillExitingWhenAWaitFailed) {
  const std::string id(64, 'e');
  http_.answer("POST", kApi + "/containers/" + id + "/kill", 204, "");
  http_.answer("POST", kApi + "/containers/" + id + "/wait", 500,
               R"({"message":"context canceled"})");
  http_.answer("GET", kApi + "/containers/" + id + "/json", 200,
               R"({"Id":"x","State":{"Status":"stopping","Running":true}})");
  http_.answer("POST", kApi + "/containers/" + id + "/wait", 200,
               R"({"StatusCode":137})");
  EXPECT_TRUE(engine()->killContainer(id, std::chrono::seconds(5)));
  EXPECT_TRUE(http_.allAnswered());
}

TEST_F(AnEngineClient, ListsTheRunningContainersOfAnImage) {
  http_.answer(
      "GET", kApi + "/containers/json", 200,
      R"([{"Id":"c1","ImageID":"sha256:new"},{"Id":"c2","ImageID":"sha256:old"},{"Id":7}])");
  auto ids = engine()->runningContainersOf("sha256:new");
  ASSERT_TRUE(ids) << ids.error().message();
  EXPECT_THAT(*ids, ElementsAre("c1"));
}

TEST_F(AnEngineClient, ReadsTheContainersOfAComposeProject) {
  const std::string list =
      kApi + "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22com."
             "docker.compose.project%3Dapp%22%5D%7D";
  auto labels = [](const char* service, const char* oneoff,
                   const char* project = "app") {
    return std::string(R"({"com.docker.compose.project":")") + project +
           R"(","com.docker.compose.service":")" + service +
           R"(","com.docker.compose.oneoff":")" + oneoff + R"("})";
  };
  http_.answer("GET", list, 200,
               "[{\"Id\":\"aa\",\"Labels\":" + labels("web", "False") +
                   "},{\"Id\":\"bb\",\"Labels\":" + labels("db", "False") +
                   "},{\"Id\":\"cc\",\"Labels\":" + labels("web", "True") +
                   "},{\"Id\":\"dd\",\"Labels\":" +
                   labels("web", "False", "other") + "}]");
  http_.answer("GET", kApi + "/containers/aa/json", 200,
               R"({"State":{"Status":"running","Running":true},"RestartCount":2})");
  // Docker's restart backoff: Running, and Restarting.
  http_.answer("GET", kApi + "/containers/bb/json", 200,
               R"({"State":{"Status":"restarting","Running":true,"Restarting":true,"ExitCode":3},"RestartCount":5})");
  http_.answer("GET", kApi + "/containers/cc/json", 200,
               R"({"State":{"Status":"exited","Running":false,"ExitCode":0}})");
  auto containers = engine()->projectContainers("app");
  ASSERT_TRUE(containers) << containers.error().message();
  ASSERT_EQ(containers->size(), 3u);  // the filter is checked again
  EXPECT_EQ((*containers)[0].service, "web");
  EXPECT_TRUE((*containers)[0].running);
  EXPECT_EQ((*containers)[0].restartCount, 2u);
  EXPECT_FALSE((*containers)[1].running);
  EXPECT_EQ((*containers)[1].state, "restarting (3)");
  EXPECT_TRUE((*containers)[2].oneoff);
  EXPECT_EQ((*containers)[2].state, "exited (0)");
}

TEST_F(AnEngineClient, RefusesAContainerIdThatIsNotHex) {
  http_.answer("GET",
               kApi + "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22"
                      "com.docker.compose.project%3Dapp%22%5D%7D",
               200, R"([{"Id":"../../images/x","Labels":{}}])");
  auto containers = engine()->projectContainers("app");
  ASSERT_FALSE(containers);
  EXPECT_THAT(containers.error().message(), HasSubstr("not hex"));
}

TEST_F(AnEngineClient, SaysSoWhenTheSocketUnitCannotBeStarted) {
  units_.failStart(UnitName("podman.socket"));
  http_.unreachable("GET", kApi + "/images/" + kRef + "/json");
  auto image = engine()->inspect(kRef);
  ASSERT_FALSE(image);
  EXPECT_THAT(
      image.error().message(),
      HasSubstr("nothing answers, and starting 'podman.socket' failed"));
}

TEST_F(AnEngineClient, InspectsWhatTheEngineHolds) {
  http_.answer("GET", kApi + "/images/" + kRef + "/json", 200,
               R"({"Id":"sha256:feed","RepoTags":[],"RepoDigests":[")" + kRef +
                   R"("]})");
  auto image = engine()->inspect(kRef);
  ASSERT_TRUE(image) << image.error().message();
  ASSERT_TRUE(*image);
  EXPECT_EQ((*image)->id, "sha256:feed");
  EXPECT_THAT((*image)->repoDigests, ElementsAre(kRef));
}

TEST_F(AnEngineClient, RemovesWithoutForceAndSaysWhenAnImageIsInUse) {
  http_.answer("DELETE", kApi + "/images/" + kRef, 409,
               R"({"message":"image is in use by a container"})");
  Status st = engine()->remove(kRef);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("it is in use"));
  EXPECT_EQ(http_.requests[0].url.find("force"), std::string::npos);
  http_.answer("DELETE", kApi + "/images/" + kRef, 404, "");
  EXPECT_TRUE(engine()->remove(kRef));  // already gone is fine
}

TEST(EngineEndpointFor, KnowsEachEnginesSocketAndUnit) {
  ContainerConfig c;
  c.engine = ContainerConfig::Engine::kDocker;
  auto docker = engineEndpointFor(c);
  EXPECT_EQ(docker.socket, "/run/docker.sock");
  EXPECT_EQ(docker.socketUnit, UnitName("docker.socket"));
  c.engine = ContainerConfig::Engine::kPodman;
  c.socket = "/run/custom.sock";
  auto podman = engineEndpointFor(c);
  EXPECT_EQ(podman.name, "podman");
  EXPECT_EQ(podman.socket, "/run/custom.sock");
}

}  // namespace
}  // namespace upgrader
