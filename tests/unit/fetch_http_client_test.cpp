// The libcurl HTTP client against little servers on the loopback and on a
// unix socket: what it sends, what it keeps, and every bound it enforces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "fetch/http_client.hpp"
#include "support/loopback.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;
using namespace std::chrono_literals;

// Answers each connection with the next canned raw response and records
// the request it read; on a unix socket path or 127.0.0.1.
class RawServer {
 public:
  explicit RawServer(std::vector<std::string> responses,
                     std::string socketPath = "")
      : responses_(std::move(responses)) {
    if (socketPath.empty()) {
      fd_ = testing::listenOnLoopback(port_);
    } else {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s",
                    socketPath.c_str());
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
          ::listen(fd_, 4) < 0) {
        ::close(fd_);
        fd_ = -1;
      }
    }
    EXPECT_GE(fd_, 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~RawServer() {
    stop_ = true;
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    std::size_t next = 0;
    while (!stop_ && next < responses_.size()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        pollfd c{client, POLLIN, 0};
        if (::poll(&c, 1, 2000) <= 0) break;
        ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      std::string_view rest = responses_[next++];
      while (!rest.empty()) {
        ssize_t n = ::send(client, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0) break;
        rest.remove_prefix(static_cast<std::size_t>(n));
      }
      ::close(client);
    }
  }

  std::vector<std::string> responses_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

std::string response(int status, const std::string& body,
                     const std::string& headers = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         headers + "Connection: close\r\n\r\n" + body;
}

TEST(AnHttpClient, ReturnsStatusHeadersAndBodyOfAnyStatus) {
  RawServer server({response(404, "{\"errors\":[]}",
                             "Docker-Content-Digest: sha256:ab\r\n")});
  HttpRequest r;
  r.url = server.url("/v2/x/manifests/1");
  r.headers = {"Accept: application/json"};
  auto got = makeCurlHttpClient()->send(r);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->status, 404);
  EXPECT_EQ(got->header("docker-content-digest"), "sha256:ab");
  EXPECT_EQ(got->body, "{\"errors\":[]}");
  EXPECT_THAT(server.requests()[0],
              HasSubstr("GET /v2/x/manifests/1 HTTP/1.1"));
  EXPECT_THAT(server.requests()[0], HasSubstr("Accept: application/json"));
}

TEST(AnHttpClient, SendsBasicCredentialsWhenGiven) {
  RawServer server({response(200, "")});
  HttpRequest r;
  r.url = server.url("/token");
  r.user = "ci";
  r.password = "pw";
  ASSERT_TRUE(makeCurlHttpClient()->send(r));
  EXPECT_THAT(server.requests()[0],
              HasSubstr("Authorization: Basic " + base64Encode("ci:pw")));
}

TEST(AnHttpClient, RefusesABodyLargerThanItsBound) {
  RawServer server({response(200, std::string(5000, 'x'))});
  HttpRequest r;
  r.url = server.url("/big");
  r.maxBody = 4096;
  auto got = makeCurlHttpClient()->send(r);
  ASSERT_FALSE(got);
  EXPECT_THAT(got.error().message(), HasSubstr("larger than 4096 bytes"));
}

TEST(AnHttpClient, RefusesEndlessHeaders) {
  std::string headers;
  for (int i = 0; i < 2000; ++i)
    headers +=
        "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'y') + "\r\n";
  RawServer server({response(200, "", headers)});
  HttpRequest r;
  r.url = server.url("/h");
  auto got = makeCurlHttpClient()->send(r);
  ASSERT_FALSE(got);
  EXPECT_THAT(got.error().message(), HasSubstr("headers larger than"));
}

TEST(AnHttpClient, StreamsTheBodyLineByLineOverAUnixSocket) {
  TempDir dir;
  RawServer server({response(200, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}")},
                   dir / "api.sock");
  HttpRequest r;
  r.method = "POST";
  r.url = "http://localhost/v1.41/images/create?fromImage=x";
  r.unixSocket = dir / "api.sock";
  std::vector<std::string> lines;
  r.onLine = [&](std::string_view line) {
    lines.emplace_back(line);
    return okStatus();
  };
  auto got = makeCurlHttpClient()->send(r);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_THAT(lines, ElementsAre("{\"a\":1}", "{\"b\":2}", "{\"c\":3}"));
  EXPECT_TRUE(got->body.empty());
  EXPECT_THAT(server.requests()[0],
              HasSubstr("POST /v1.41/images/create?fromImage=x"));
}

TEST(AnHttpClient, StopsWhenTheLineReaderSaysSo) {
  RawServer server({response(200, "one\ntwo\nthree\n")});
  HttpRequest r;
  r.url = server.url("/s");
  int seen = 0;
  r.onLine = [&](std::string_view) -> Status {
    if (++seen == 2) return Error("enough");
    return okStatus();
  };
  auto got = makeCurlHttpClient()->send(r);
  ASSERT_FALSE(got);
  EXPECT_THAT(got.error().message(), HasSubstr("enough"));
}

TEST(AnHttpClient, NamesTheSocketNobodyListensOn) {
  TempDir dir;
  HttpRequest r;
  r.url = "http://localhost/v1.41/version";
  r.unixSocket = dir / "none.sock";
  auto got = makeCurlHttpClient()->send(r);
  ASSERT_FALSE(got);
  EXPECT_THAT(
      got.error().message(),
      HasSubstr("Failed to reach 'http://localhost/v1.41/version' on '" +
                (dir / "none.sock") + "'"));
}

TEST(AnHttpClient, GivesUpAtItsTimeout) {
  int port = 0;
  int fd = testing::listenOnLoopback(port);  // accepts, never answers
  ASSERT_GE(fd, 0);
  HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/slow";
  r.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto got = makeCurlHttpClient()->send(r);
  ::close(fd);
  ASSERT_FALSE(got);
  EXPECT_THAT(got.error().message(), HasSubstr("Timeout"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace upgrader
