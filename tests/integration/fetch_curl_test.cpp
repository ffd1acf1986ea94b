// CurlFetcher against a real nginx on the loopback (http and https with a
// CA made for the test), and against a scripted HTTP server for the cases
// nginx will not stage on demand: a transfer cut short, a server that
// ignores Range, a 503 that passes, a body without Content-Length.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/filesystem.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/file_util.hpp"
#include "fetch/fetcher.hpp"
#include "fetch/sha256.hpp"
#include "support/loopback.hpp"

namespace upgrader {
namespace {

using namespace std::chrono_literals;

// ---- helpers ----------------------------------------------------------

class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/upgrader-fetch-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~ScratchDir() {
    boost::system::error_code ec;
    boost::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

std::vector<std::string> entriesIn(const std::string& path) {
  std::vector<std::string> names;
  for (auto it = boost::filesystem::directory_iterator(path);
       it != boost::filesystem::directory_iterator(); ++it) {
    names.push_back(it->path().filename().string());
  }
  return names;
}

std::string randomBytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

Sha256Digest sha256Of(const std::string& data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.finish();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}


bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

int sh(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void writeText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

FetchOptions fastOptions() {
  FetchOptions o;
  o.connectTimeout = 5s;
  o.lowSpeedTimeout = 5s;
  o.retries = 1;
  o.retryBackoff = 1ms;
  // Most cases here are about other things than the scheme: plain http
  // keeps them short. The default (https alone) has its own tests.
  o.allowedSchemes = {UrlScheme::kHttps, UrlScheme::kHttp, UrlScheme::kFile};
  return o;
}

// ---- nginx ------------------------------------------------------------

// One nginx for the whole suite: a CA and a server certificate for
// 127.0.0.1/localhost made with the openssl CLI, an http and an https
// server on free loopback ports, redirect chains in the config.
class Nginx {
 public:
  std::string error;  // why it did not start, if it did not
  std::string caFile;
  int httpPort = 0;
  int httpsPort = 0;
  std::string small, big;  // contents of /small.bin and /big.bin

  Nginx() { error = start(); }
  ~Nginx() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  std::string http(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(httpPort) + path;
  }
  std::string https(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(httpsPort) + path;
  }

 private:
  std::string start() {
    const std::string& d = dir_.path();
    boost::filesystem::create_directories(d + "/www");
    boost::filesystem::create_directories(d + "/tmp");
    small = randomBytes(100 * 1024 + 7, 1);
    big = randomBytes(2 * 1024 * 1024, 2);
    writeText(d + "/www/small.bin", small);
    writeText(d + "/www/big.bin", big);

    writeText(d + "/server.ext",
              "basicConstraints=CA:FALSE\n"
              "keyUsage=digitalSignature\n"
              "extendedKeyUsage=serverAuth\n"
              "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    const std::string q = " >>" + d + "/openssl.log 2>&1";
    if (sh("cd " + d +
           " && openssl req -x509 -newkey ec -pkeyopt "
           "ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
           "-days 2 -subj /CN=upgrader-test-ca "
           "-addext basicConstraints=critical,CA:TRUE "
           "-addext keyUsage=critical,keyCertSign,cRLSign" +
           q) != 0 ||
        sh("cd " + d +
           " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
           "-nodes -keyout server.key -out server.csr -subj /CN=localhost" +
           q) != 0 ||
        sh("cd " + d +
           " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
           "-CAcreateserial -out server.pem -days 2 -extfile server.ext" +
           q) != 0) {
      return "openssl failed: " + readText(d + "/openssl.log");
    }
    caFile = d + "/ca.pem";

    httpPort = testing::unusedLoopbackPort();
    httpsPort = testing::unusedLoopbackPort();
    std::string http = "http://127.0.0.1:" + std::to_string(httpPort);
    std::string https = "https://127.0.0.1:" + std::to_string(httpsPort);
    // /chainN/K redirects to /chainN/K+1 until K == N, which redirects to
    // /small.bin: N redirects in all.
    std::string chains;
    for (int n : {3, 5, 6}) {
      for (int k = 1; k <= n; ++k) {
        std::string from =
            "/chain" + std::to_string(n) + "/" + std::to_string(k);
        std::string to =
            k == n ? "/small.bin"
                   : "/chain" + std::to_string(n) + "/" + std::to_string(k + 1);
        chains += "    location = " + from + " { return 302 " + to + "; }\n";
      }
    }
    std::string temps;
    for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      temps += std::string("  ") + t + "_temp_path " + d + "/tmp/" + t + ";\n";
    }
    writeText(d + "/nginx.conf",
              "daemon off;\nmaster_process off;\n"
              "pid " +
                  d +
                  "/nginx.pid;\n"
                  "error_log " +
                  d +
                  "/error.log warn;\n"
                  "events { worker_connections 64; }\n"
                  "http {\n" +
                  temps + "  access_log " + d +
                  "/access.log;\n"
                  "  default_type application/octet-stream;\n"
                  "  server {\n"
                  "    listen 127.0.0.1:" +
                  std::to_string(httpPort) +
                  ";\n"
                  "    root " +
                  d + "/www;\n" + chains +
                  "    location = /to-https { return 302 " + https +
                  "/small.bin; }\n"
                  "    location = /to-file { return 302 file://" + d +
                  "/www/small.bin; }\n"
                  "  }\n"
                  "  server {\n"
                  "    listen 127.0.0.1:" +
                  std::to_string(httpsPort) +
                  " ssl;\n"
                  "    ssl_certificate " +
                  d +
                  "/server.pem;\n"
                  "    ssl_certificate_key " +
                  d +
                  "/server.key;\n"
                  "    root " +
                  d + "/www;\n" + chains +
                  "    location = /to-http { return 302 " + http +
                  "/small.bin; }\n"
                  "  }\n"
                  "}\n");

    pid_ = ::fork();
    if (pid_ == 0) {
      std::string conf = d + "/nginx.conf";
      ::execlp("nginx", "nginx", "-c", conf.c_str(), "-p", d.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid_ < 0) return "fork failed";
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!(accepts(httpPort) && accepts(httpsPort))) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "nginx exited: " + readText(d + "/error.log");
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return "nginx did not listen within 10 s: " +
               readText(d + "/error.log");
      }
      std::this_thread::sleep_for(10ms);
    }
    return "";
  }

  ScratchDir dir_;
  pid_t pid_ = -1;
};

class CurlFetcherAgainstNginx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { nginx_ = new Nginx(); }
  static void TearDownTestSuite() {
    delete nginx_;
    nginx_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(nginx_->error, ""); }

  Result<FetchedFile> fetch(const std::string& url, FetchOptions o) {
    return fetcher_->fetchToFile(url, downloads_.path(), o, {});
  }

  static Nginx* nginx_;
  std::unique_ptr<Fetcher> fetcher_ = makeCurlFetcher();
  ScratchDir downloads_;
};

Nginx* CurlFetcherAgainstNginx::nginx_ = nullptr;

TEST_F(CurlFetcherAgainstNginx, FetchesOverHttpWithTheRightDigestAndContent) {
  auto f = fetch(nginx_->http("/small.bin"), fastOptions());
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->size, nginx_->small.size());
  EXPECT_EQ(f->digest, sha256Of(nginx_->small));
  EXPECT_EQ(readText(f->path), nginx_->small);
  EXPECT_EQ(parentDirectory(f->path), downloads_.path());
  EXPECT_TRUE(isPartialDownloadName(baseName(f->path)));
}

TEST_F(CurlFetcherAgainstNginx, FetchesOverHttpsWithTheTestCa) {
  FetchOptions o = fastOptions();
  o.caFile = nginx_->caFile;
  auto f = fetch(nginx_->https("/big.bin"), o);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->digest, sha256Of(nginx_->big));
  EXPECT_EQ(readText(f->path), nginx_->big);
}

TEST_F(CurlFetcherAgainstNginx, RefusesHttpsWithoutTheTestCa) {
  std::string url = nginx_->https("/small.bin");
  auto f = fetch(url, fastOptions());
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(),
                       "Failed to fetch '" + url +
                           "': SSL peer certificate or SSH remote key was "
                           "not OK"))
      << f.error().message();
  EXPECT_TRUE(entriesIn(downloads_.path()).empty());
}

TEST_F(CurlFetcherAgainstNginx, Fails404WithTheStatusAndLeavesNothing) {
  std::string url = nginx_->http("/missing.bin");
  auto f = fetch(url, fastOptions());
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message(), "Failed to fetch '" + url + "': HTTP 404");
  EXPECT_TRUE(entriesIn(downloads_.path()).empty());
}

TEST_F(CurlFetcherAgainstNginx, StopsAtMaxSizeAndLeavesNothing) {
  FetchOptions o = fastOptions();
  o.maxSize = 1024 * 1024;
  std::string url = nginx_->http("/big.bin");
  auto f = fetch(url, o);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message(),
            "Failed to fetch '" + url + "': exceeds MaxSize= (1048576 bytes)");
  EXPECT_TRUE(entriesIn(downloads_.path()).empty());
}

TEST_F(CurlFetcherAgainstNginx, FollowsAThreeHopRedirect) {
  auto f = fetch(nginx_->http("/chain3/1"), fastOptions());
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->digest, sha256Of(nginx_->small));
}

TEST_F(CurlFetcherAgainstNginx, FollowsFiveRedirects) {
  auto f = fetch(nginx_->http("/chain5/1"), fastOptions());
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->digest, sha256Of(nginx_->small));
}

TEST_F(CurlFetcherAgainstNginx, RefusesAChainOfSixRedirects) {
  auto f = fetch(nginx_->http("/chain6/1"), fastOptions());
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(), "redirect")) << f.error().message();
  EXPECT_TRUE(entriesIn(downloads_.path()).empty());
}

TEST_F(CurlFetcherAgainstNginx, RefusesARedirectFromHttpsToHttp) {
  FetchOptions o = fastOptions();
  o.caFile = nginx_->caFile;
  std::string url = nginx_->https("/to-http");
  auto f = fetch(url, o);
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(), "Failed to fetch '" + url + "': "));
  EXPECT_TRUE(
      contains(f.error().message(), "refusing the redirect to 'http://"))
      << f.error().message();
  EXPECT_TRUE(entriesIn(downloads_.path()).empty());
}

TEST_F(CurlFetcherAgainstNginx, RefusesARedirectToAFileUrlEvenWhenFilesAreAllowed) {
  // A server must never make root read a local path.
  std::string url = nginx_->http("/to-file");
  auto f = fetch(url, fastOptions());
  ASSERT_FALSE(f);
  EXPECT_TRUE(
      contains(f.error().message(), "refusing the redirect to 'file://"))
      << f.error().message();
  EXPECT_TRUE(entriesIn(downloads_.path()).empty());
}

TEST_F(CurlFetcherAgainstNginx, RefusesPlainHttpByDefault) {
  FetchOptions o = fastOptions();
  o.allowedSchemes = UrlSchemes();
  auto f = fetch(nginx_->http("/small.bin"), o);
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(),
                       "scheme is not allowed here (allowed: https)"))
      << f.error().message();
  EXPECT_TRUE(entriesIn(downloads_.path()).empty());
}

TEST_F(CurlFetcherAgainstNginx, RefusesARedirectToHttpsWhenOnlyHttpIsAllowed) {
  FetchOptions o = fastOptions();
  o.caFile = nginx_->caFile;
  o.allowedSchemes = {UrlScheme::kHttp};
  auto f = fetch(nginx_->http("/to-https"), o);
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(), "refusing the redirect to 'https://"))
      << f.error().message();
}

TEST_F(CurlFetcherAgainstNginx, FollowsARedirectFromHttpToHttps) {
  FetchOptions o = fastOptions();
  o.caFile = nginx_->caFile;
  auto f = fetch(nginx_->http("/to-https"), o);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->digest, sha256Of(nginx_->small));
}

TEST_F(CurlFetcherAgainstNginx, FetchesTextOverHttps) {
  FetchOptions o = fastOptions();
  o.caFile = nginx_->caFile;
  auto text = fetcher_->fetchText(nginx_->https("/small.bin"), o, 1 << 20);
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, nginx_->small);
}

TEST_F(CurlFetcherAgainstNginx, ReportsProgressUpToTheTotal) {
  std::uint64_t lastReceived = 0, lastTotal = 0;
  int calls = 0;
  auto f = fetcher_->fetchToFile(
      nginx_->http("/big.bin"), downloads_.path(), fastOptions(),
      [&](std::uint64_t received, std::uint64_t total) {
        ++calls;
        EXPECT_GE(received, lastReceived);
        lastReceived = received;
        lastTotal = total;
      });
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_GE(calls, 1);
  EXPECT_EQ(lastReceived, nginx_->big.size());
  EXPECT_EQ(lastTotal, nginx_->big.size());
}

TEST(CurlFetcherFileUrl, FetchesAFileUrl) {
  ScratchDir src, downloads;
  std::string content = randomBytes(300 * 1024, 3);
  writeText(src / "app.bin", content);
  auto f = makeCurlFetcher()->fetchToFile("file://" + (src / "app.bin"),
                                          downloads.path(), fastOptions(), {});
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->digest, sha256Of(content));
  EXPECT_EQ(readText(f->path), content);
}

TEST(CurlFetcherRefused, FailsAfterRetryingAndLeavesNothing) {
  ScratchDir downloads;
  std::string url = "http://127.0.0.1:" + std::to_string(testing::unusedLoopbackPort()) + "/x";
  auto start = std::chrono::steady_clock::now();
  auto f =
      makeCurlFetcher()->fetchToFile(url, downloads.path(), fastOptions(), {});
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(),
                       "Failed to fetch '" + url + "': Couldn't connect"))
      << f.error().message();
  EXPECT_TRUE(contains(f.error().message(), "after 2 attempts"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(entriesIn(downloads.path()).empty());
}

// ---- scripted server --------------------------------------------------

// Answers each connection with the next canned response (then closes it),
// and records the requests.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::string> responses)
      : responses_(std::move(responses)) {
    fd_ = testing::listenOnLoopback(port_, 8);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    for (const std::string& response : responses_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string request;
      char buf[4096];
      // Read the whole request first: closing with unread input would
      // send a RST that can destroy the response in flight.
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(request);
      }
      std::size_t done = 0;
      while (done < response.size()) {
        ssize_t n = ::write(c, response.data() + done, response.size() - done);
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
      }
      ::shutdown(c, SHUT_WR);
      while (::read(c, buf, sizeof buf) > 0) {
      }
      ::close(c);
    }
  }

  std::vector<std::string> responses_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

std::string ok200(const std::string& body, std::size_t sendBytes) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body.substr(0, sendBytes);
}

// Sends a 200 announcing `total` bytes, then `chunk` bytes every `every`
// until the client goes away or `total` is reached.
class DrippingServer {
 public:
  DrippingServer(std::size_t total, std::size_t chunk,
                 std::chrono::milliseconds every)
      : total_(total), chunk_(chunk), every_(every) {
    fd_ = testing::listenOnLoopback(port_, 8);
    thread_ = std::thread([this] { serve(); });
  }
  ~DrippingServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/slow";
  }
  int connections() const { return connections_; }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      ++connections_;
      char buf[4096];
      std::string request;
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " +
                         std::to_string(total_) + "\r\n\r\n";
      bool alive = ::send(c, head.data(), head.size(), MSG_NOSIGNAL) > 0;
      std::string chunk(chunk_, 'd');
      for (std::size_t sent = 0; alive && !stop_ && sent < total_;
           sent += chunk_) {
        alive = ::send(c, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0;
        std::this_thread::sleep_for(every_);
      }
      ::close(c);
    }
  }

  std::size_t total_, chunk_;
  std::chrono::milliseconds every_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

TEST(CurlFetcherDeadline, GivesUpOnAServerThatDripsAboveTheLowSpeedLimit) {
  // 4 KiB/s stays above the 1 KiB/s low-speed limit forever; only the
  // overall deadline ends it, and it is not retried.
  DrippingServer server(100 * 1024 * 1024, 2048, 500ms);
  ScratchDir downloads;
  FetchOptions o = fastOptions();
  o.lowSpeedTimeout = 1s;
  o.timeout = 2s;
  o.retries = 3;
  auto start = std::chrono::steady_clock::now();
  auto f = makeCurlFetcher()->fetchToFile(server.url(), downloads.path(), o, {});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(),
                       "not done within 2s (DownloadTimeoutSec=)"))
      << f.error().message();
  EXPECT_GE(took, 2s);
  EXPECT_LT(took, 10s);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_TRUE(entriesIn(downloads.path()).empty());
}

TEST(CurlFetcherDeadline, CountsRetriesAndTheirWaitsAgainstTheDeadline) {
  // Nothing listens: every attempt fails at once, and the backoff between
  // them would run past the deadline.
  ScratchDir downloads;
  FetchOptions o = fastOptions();
  o.retries = 10;
  o.retryBackoff = 400ms;
  o.timeout = 1s;
  std::string url = "http://127.0.0.1:" +
                    std::to_string(testing::unusedLoopbackPort()) + "/x";
  auto start = std::chrono::steady_clock::now();
  auto f = makeCurlFetcher()->fetchToFile(url, downloads.path(), o, {});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(),
                       "not done within 1s (DownloadTimeoutSec=); last error: "
                       "Couldn't connect"))
      << f.error().message();
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(entriesIn(downloads.path()).empty());
}

TEST(CurlFetcherRetry, ResumesWithRangeAfterATransferIsCutShort) {
  std::string body = randomBytes(200000, 4);
  const std::size_t cut = 120000;
  ScriptedServer server(
      {ok200(body, cut),
       "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " +
           std::to_string(cut) + "-" + std::to_string(body.size() - 1) + "/" +
           std::to_string(body.size()) +
           "\r\nContent-Length: " + std::to_string(body.size() - cut) +
           "\r\nConnection: close\r\n\r\n" + body.substr(cut)});
  ScratchDir downloads;
  auto f = makeCurlFetcher()->fetchToFile(server.url("/app"), downloads.path(),
                                          fastOptions(), {});
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->digest, sha256Of(body));
  EXPECT_EQ(readText(f->path), body);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_FALSE(contains(requests[0], "Range:"));
  EXPECT_TRUE(contains(requests[1], "Range: bytes=120000-")) << requests[1];
}

TEST(CurlFetcherRetry, StartsOverWhenTheServerIgnoresRange) {
  std::string body = randomBytes(200000, 5);
  ScriptedServer server({ok200(body, 120000), ok200(body, body.size()),
                         ok200(body, body.size())});
  ScratchDir downloads;
  auto f = makeCurlFetcher()->fetchToFile(server.url("/app"), downloads.path(),
                                          fastOptions(), {});
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->size, body.size());
  EXPECT_EQ(f->digest, sha256Of(body));
  EXPECT_EQ(readText(f->path), body);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_TRUE(contains(requests[1], "Range: bytes=120000-"));
  EXPECT_FALSE(contains(requests[2], "Range:"));
}

TEST(CurlFetcherRetry, RetriesAServiceUnavailable) {
  std::string body = "payload";
  ScriptedServer server(
      {"HTTP/1.1 503 Service Unavailable\r\nContent-Length: "
       "0\r\nConnection: close\r\n\r\n",
       ok200(body, body.size())});
  ScratchDir downloads;
  auto f = makeCurlFetcher()->fetchToFile(server.url("/app"), downloads.path(),
                                          fastOptions(), {});
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(readText(f->path), body);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(CurlFetcherRetry, DoesNotRetryAForbidden) {
  ScriptedServer server(
      {"HTTP/1.1 403 Forbidden\r\nContent-Length: "
       "0\r\nConnection: close\r\n\r\n",
       ok200("x", 1)});
  ScratchDir downloads;
  FetchOptions o = fastOptions();
  o.retries = 3;
  auto f = makeCurlFetcher()->fetchToFile(server.url("/app"), downloads.path(),
                                          o, {});
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(), ": HTTP 403"));
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(entriesIn(downloads.path()).empty());
}

TEST(CurlFetcherRetry, EnforcesMaxSizeWithoutContentLengthAndDoesNotRetry) {
  ScriptedServer server(
      {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(5000, 'x'),
       ok200("x", 1)});
  ScratchDir downloads;
  FetchOptions o = fastOptions();
  o.maxSize = 4096;
  o.retries = 3;
  auto f = makeCurlFetcher()->fetchToFile(server.url("/app"), downloads.path(),
                                          o, {});
  ASSERT_FALSE(f);
  EXPECT_TRUE(contains(f.error().message(), "exceeds MaxSize= (4096 bytes)"))
      << f.error().message();
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(entriesIn(downloads.path()).empty());
}

}  // namespace
}  // namespace upgrader
