// HttpProbe against a tiny HTTP server on 127.0.0.1 run by the test, and
// the JSON matching on its own.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "health/http_probe.hpp"
#include "support/loopback.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using Expectations = std::vector<HealthConfig::JsonExpectation>;

// The real client, as the health checker gives its probes.
const std::unique_ptr<HttpClient> http = makeCurlHttpClient();

// Serves one canned response to every connection, one at a time; with
// `hang` it accepts and never answers.
class CannedHttpServer {
 public:
  CannedHttpServer(int status, std::string body, bool hang = false)
      : status_(status), body_(std::move(body)), hang_(hang) {
    fd_ = testing::listenOnLoopback(port_);
    if (fd_ < 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    thread_ = std::thread([this] { serve(); });
  }

  ~CannedHttpServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }

  std::string url(const std::string& path = "/healthz") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::vector<std::string> requestLines() {
    std::lock_guard lock(mutex_);
    return requestLines_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::string request = readRequest(client);
      {
        std::lock_guard lock(mutex_);
        requestLines_.push_back(request.substr(0, request.find("\r\n")));
      }
      if (hang_) {
        while (!stop_) std::this_thread::sleep_for(10ms);
      } else {
        std::string response =
            "HTTP/1.1 " + std::to_string(status_) +
            " Canned\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" +
            body_;
        std::string_view rest(response);
        while (!rest.empty()) {
          ssize_t n = ::send(client, rest.data(), rest.size(), MSG_NOSIGNAL);
          if (n <= 0) break;
          rest.remove_prefix(static_cast<std::size_t>(n));
        }
      }
      ::close(client);
    }
  }

  std::string readRequest(int client) {
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos) {
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<std::size_t>(n));
    }
    return request;
  }

  int status_;
  std::string body_;
  bool hang_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requestLines_;
};


const char* const kHealthBody =
    R"({"status": "ok", "checks": {"db": true, "cache": "warm"},)"
    R"( "replicas": 1, "leader": null, "nodes": [{"state": "up"}]})";

TEST(AnHttpProbe, PassesOnTheExpectedStatus) {
  CannedHttpServer server(200, "fine, not JSON");
  HttpProbe probe(server.url(), 200, {}, *http);
  Status s = probe.check(5s);
  EXPECT_TRUE(s) << s.error().message();
  EXPECT_EQ(probe.name(), "GET " + server.url());
  ASSERT_EQ(server.requestLines().size(), 1u);
  EXPECT_EQ(server.requestLines()[0], "GET /healthz HTTP/1.1");
}

TEST(AnHttpProbe, FailsOnAnotherStatusNamingBoth) {
  CannedHttpServer server(503, "starting");
  HttpProbe probe(server.url(), 200, {}, *http);
  Status s = probe.check(5s);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "GET " + server.url() + ": HTTP 503, expected 200");
}

TEST(AnHttpProbe, AcceptsAConfiguredStatusOtherThan200) {
  CannedHttpServer server(204, "");
  HttpProbe probe(server.url(), 204, {}, *http);
  Status s = probe.check(5s);
  EXPECT_TRUE(s) << s.error().message();
}

TEST(AnHttpProbe, DoesNotFollowRedirects) {
  CannedHttpServer server(302, "");
  HttpProbe probe(server.url(), 200, {}, *http);
  Status s = probe.check(5s);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), HasSubstr("HTTP 302, expected 200"));
}

TEST(AnHttpProbe, MatchesJsonStringsNumbersBooleansNullAndNestedKeys) {
  CannedHttpServer server(200, kHealthBody);
  HttpProbe probe(server.url(), 200,
                  {{"status", "ok"},
                   {"checks.db", "true"},
                   {"checks.cache", "warm"},
                   {"replicas", "1"},
                   {"leader", "null"},
                   {"nodes.0.state", "up"}}, *http);
  Status s = probe.check(5s);
  EXPECT_TRUE(s) << s.error().message();
}

TEST(AnHttpProbe, ReportsAMismatchWithTheActualAndExpectedValue) {
  CannedHttpServer server(200, R"({"status": "starting"})");
  HttpProbe probe(server.url(), 200, {{"status", "ok"}}, *http);
  Status s = probe.check(5s);
  ASSERT_FALSE(s);
  EXPECT_EQ(
      s.error().message(),
      "GET " + server.url() + ": 'status' is \"starting\", expected \"ok\"");
}

TEST(AnHttpProbe, ComparesANestedBooleanAsItsJsonText) {
  CannedHttpServer server(200, kHealthBody);
  HttpProbe probe(server.url(), 200, {{"checks.db", "false"}}, *http);
  Status s = probe.check(5s);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(),
              HasSubstr("'checks.db' is true, expected \"false\""));
}

TEST(AnHttpProbe, NamesAMissingKey) {
  CannedHttpServer server(200, kHealthBody);
  HttpProbe probe(server.url(), 200, {{"checks.queue", "ok"}}, *http);
  Status s = probe.check(5s);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "GET " + server.url() + ": no key 'checks.queue' in the JSON body");
}

TEST(AnHttpProbe, FailsWhenExpectationsMeetABodyThatIsNotJson) {
  CannedHttpServer server(200, "<html>ok</html>");
  HttpProbe probe(server.url(), 200, {{"status", "ok"}}, *http);
  Status s = probe.check(5s);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "GET " + server.url() +
                                     ": response body is not JSON: "
                                     "'<html>ok</html>'");
}

TEST(AnHttpProbe, ChecksTheStatusBeforeTheBody) {
  CannedHttpServer server(500, R"({"status": "ok"})");
  HttpProbe probe(server.url(), 200, {{"status", "ok"}}, *http);
  Status s = probe.check(5s);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), HasSubstr("HTTP 500, expected 200"));
}

TEST(AnHttpProbe, ReportsARefusedConnectionWithTheUrl) {
  std::string url =
      "http://127.0.0.1:" + std::to_string(testing::unusedLoopbackPort()) + "/healthz";
  HttpProbe probe(url, 200, {}, *http);
  Status s = probe.check(5s);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), StartsWith("GET " + url + ": "));
  EXPECT_THAT(s.error().message(), HasSubstr("connect"));
}

TEST(AnHttpProbe, GivesUpAfterItsTimeout) {
  CannedHttpServer server(200, "", /*hang=*/true);
  HttpProbe probe(server.url(), 200, {}, *http);
  auto start = SteadyClock::now();
  Status s = probe.check(200ms);
  auto elapsed = SteadyClock::now() - start;
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), StartsWith("GET " + server.url() + ": "));
  EXPECT_THAT(s.error().message(), HasSubstr("imeout"));
  EXPECT_LT(elapsed, 2s);
}

TEST(AnHttpProbe, RefusesSchemesOtherThanHttpAndHttps) {
  HttpProbe probe("file:///etc/hostname", 200, {}, *http);
  Status s = probe.check(1s);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), StartsWith("GET file:///etc/hostname: "));
}

TEST(AJsonHealthProbeMatch, PassesWithoutExpectationsWhateverTheBody) {
  EXPECT_TRUE(matchJson("not json", {}));
}

TEST(AJsonHealthProbeMatch, DoesNotDescendIntoAString) {
  Status s = matchJson(R"({"status": "ok"})", {{"status.detail", "x"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "no key 'status.detail' in the JSON body");
}

TEST(AJsonHealthProbeMatch, ComparesANumberAsItsJsonText) {
  EXPECT_TRUE(matchJson(R"({"n": 1})", {{"n", "1"}}));
  Status s = matchJson(R"({"n": 1.5})", {{"n", "1"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "'n' is 1.5, expected \"1\"");
}

TEST(AJsonHealthProbeMatch, TellsAStringFromANonStringOnlyInTheMessage) {
  // The string "true" and the boolean true both read as the text true.
  EXPECT_TRUE(
      matchJson(R"({"a": "true", "b": true})", {{"a", "true"}, {"b", "true"}}));
}

// Found while writing the fuzz entry for matchJson: writing a value out
// recursed once per level, and 200 KB of nested arrays (the probe reads up
// to 1 MiB) overflowed the stack: SIGSEGV in the middle of an upgrade.
TEST(AJsonHealthProbeMatch, RefusesABodyNestedTooDeeplyInsteadOfCrashing) {
  const std::size_t depth = 100000;
  std::string body = R"({"status": )" + std::string(depth, '[') +
                     std::string(depth, ']') + "}";
  Status s = matchJson(body, {{"status", "ok"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "the JSON body nests deeper than 128 levels");
}

TEST(AJsonHealthProbeMatch, ComparesAValueNestedUpToTheLimit) {
  // The object and 127 arrays: 128 levels.
  std::string nested = std::string(127, '[') + std::string(127, ']');
  Status s = matchJson(R"({"status": )" + nested + "}", {{"status", nested}});
  EXPECT_TRUE(s) << s.error().message();
}

}  // namespace
}  // namespace upgrader
