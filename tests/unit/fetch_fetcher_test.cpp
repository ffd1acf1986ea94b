// The real CurlFetcher on file:// URLs (no network), and the naming
// helpers. HTTP(S) behaviour is covered against nginx in
// tests/integration/fetch_curl_test.cpp.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/filesystem.hpp>
#include <string>
#include <vector>

#include "common/file_util.hpp"
#include "fetch/fetcher.hpp"
#include "fetch/sha256.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using testing::entriesIn;
using testing::TempDir;

FetchOptions quickOptions() {
  FetchOptions o;
  o.retries = 1;
  o.retryBackoff = std::chrono::milliseconds(1);
  o.allowedSchemes = {UrlScheme::kFile};
  return o;
}

TEST(CurlFetcherFile, DownloadsHashesAndNamesTheTempFileAsPartial) {
  TempDir src, dest;
  std::string content(700 * 1024, 'r');
  ASSERT_TRUE(writeFileAtomically(src / "app-1.0.tar.gz", content));
  std::uint64_t lastReceived = 0;
  auto fetched = makeCurlFetcher()->fetchToFile(
      "file://" + (src / "app-1.0.tar.gz"), dest.path(), quickOptions(),
      [&](std::uint64_t received, std::uint64_t) { lastReceived = received; });
  ASSERT_TRUE(fetched) << fetched.error().message();
  EXPECT_EQ(fetched->size, content.size());
  Sha256 expected;
  expected.update(content.data(), content.size());
  EXPECT_EQ(fetched->digest, expected.finish());
  EXPECT_EQ(*readFile(fetched->path), content);
  EXPECT_EQ(parentDirectory(fetched->path), dest.path());
  EXPECT_TRUE(isPartialDownloadName(baseName(fetched->path))) << fetched->path;
  EXPECT_EQ(baseName(fetched->path).rfind(".app-1.0.tar.gz.", 0), 0u);
  EXPECT_EQ(lastReceived, content.size());
}

TEST(CurlFetcherFile, FailsForAMissingFileAndLeavesNothing) {
  TempDir dest;
  std::string url = "file://" + (dest / "missing");
  auto fetched =
      makeCurlFetcher()->fetchToFile(url, dest.path(), quickOptions(), {});
  ASSERT_FALSE(fetched);
  EXPECT_EQ(
      fetched.error().message().rfind("Failed to fetch '" + url + "': ", 0), 0u)
      << fetched.error().message();
  EXPECT_TRUE(entriesIn(dest.path()).empty());
}

TEST(CurlFetcherFile, RefusesAFifoOrADeviceInsteadOfHanging) {
  TempDir src, dest;
  ASSERT_EQ(::mkfifo((src / "release").c_str(), 0600), 0);
  auto fifo = makeCurlFetcher()->fetchToFile("file://" + (src / "release"),
                                             dest.path(), quickOptions(), {});
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message().find("is not a regular file"), std::string::npos);
  auto zero = makeCurlFetcher()->fetchText("file:///dev/zero", quickOptions(), 1024);
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message().find("'/dev/zero' is not a regular file"),
            std::string::npos);
  EXPECT_TRUE(entriesIn(dest.path()).empty());
}

TEST(CurlFetcherFile, StopsAtMaxSizeAndLeavesNothing) {
  TempDir src, dest;
  ASSERT_TRUE(writeFileAtomically(src / "big", std::string(5000, 'b')));
  FetchOptions o = quickOptions();
  o.maxSize = 4096;
  auto fetched = makeCurlFetcher()->fetchToFile("file://" + (src / "big"),
                                                dest.path(), o, {});
  ASSERT_FALSE(fetched);
  EXPECT_NE(fetched.error().message().find("exceeds MaxSize= (4096 bytes)"),
            std::string::npos)
      << fetched.error().message();
  EXPECT_TRUE(entriesIn(dest.path()).empty());
}

TEST(CurlFetcherFile, AcceptsAFileOfExactlyMaxSize) {
  TempDir src, dest;
  ASSERT_TRUE(writeFileAtomically(src / "f", std::string(4096, 'b')));
  FetchOptions o = quickOptions();
  o.maxSize = 4096;
  auto fetched = makeCurlFetcher()->fetchToFile("file://" + (src / "f"),
                                                dest.path(), o, {});
  ASSERT_TRUE(fetched) << fetched.error().message();
  EXPECT_EQ(fetched->size, 4096u);
}

TEST(CurlFetcherFile, FailsWhenTheDirectoryIsMissing) {
  TempDir src;
  ASSERT_TRUE(writeFileAtomically(src / "f", "x"));
  auto fetched = makeCurlFetcher()->fetchToFile(
      "file://" + (src / "f"), src / "nodir", quickOptions(), {});
  ASSERT_FALSE(fetched);
  EXPECT_NE(fetched.error().message().find("No such file or directory"),
            std::string::npos);
}

TEST(CurlFetcherFile, FetchesTextUpToItsLimit) {
  TempDir src;
  ASSERT_TRUE(writeFileAtomically(src / "SUMS", "hello\n"));
  auto fetcher = makeCurlFetcher();
  auto text = fetcher->fetchText("file://" + (src / "SUMS"), quickOptions(), 6);
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, "hello\n");
  auto tooBig =
      fetcher->fetchText("file://" + (src / "SUMS"), quickOptions(), 5);
  ASSERT_FALSE(tooBig);
  EXPECT_NE(tooBig.error().message().find("larger than 5 bytes"),
            std::string::npos);
}

TEST(CurlFetcher, RefusesOtherSchemesBeforeConnecting) {
  TempDir dest;
  FetchOptions all = quickOptions();
  all.allowedSchemes = {UrlScheme::kHttps, UrlScheme::kHttp, UrlScheme::kFile};
  for (const char* url : {"ftp://127.0.0.1/x", "scp://h/x", "/etc/passwd",
                          "gopher://127.0.0.1/x"}) {
    auto fetched = makeCurlFetcher()->fetchToFile(url, dest.path(), all, {});
    ASSERT_FALSE(fetched) << url;
    EXPECT_NE(fetched.error().message().find("scheme is not allowed"),
              std::string::npos);
  }
  EXPECT_TRUE(entriesIn(dest.path()).empty());
}

TEST(CurlFetcher, FetchesOnlyTheSchemesTheSourceAllows) {
  TempDir src, dest;
  ASSERT_TRUE(writeFileAtomically(src / "app", "binary"));
  FetchOptions httpsOnly = quickOptions();
  httpsOnly.allowedSchemes = UrlSchemes();  // the default: https alone
  auto fetched = makeCurlFetcher()->fetchToFile("file://" + (src / "app"),
                                                dest.path(), httpsOnly, {});
  ASSERT_FALSE(fetched);
  EXPECT_NE(fetched.error().message().find(
                "scheme is not allowed here (allowed: https)"),
            std::string::npos)
      << fetched.error().message();
  // Refused before anything was opened: not even the host is looked up.
  auto plain = makeCurlFetcher()->fetchText("http://nowhere.invalid/SUMS",
                                            httpsOnly, 100);
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message().find("not allowed"), std::string::npos);
  EXPECT_TRUE(entriesIn(dest.path()).empty());
}

TEST(FetchOptionsFrom, CopiesTheSourceSettings) {
  SourceConfig s;
  s.caFile = "/etc/ca.pem";
  s.connectTimeout = std::chrono::seconds(3);
  s.lowSpeedTimeout = std::chrono::seconds(4);
  s.retries = 7;
  s.maxSize = 1234;
  s.allowedSchemes = {UrlScheme::kHttp};
  s.downloadTimeout = std::chrono::minutes(5);
  FetchOptions o = fetchOptionsFrom(s);
  EXPECT_EQ(o.caFile, "/etc/ca.pem");
  EXPECT_EQ(o.connectTimeout, std::chrono::seconds(3));
  EXPECT_EQ(o.lowSpeedTimeout, std::chrono::seconds(4));
  EXPECT_EQ(o.retries, 7u);
  EXPECT_EQ(o.maxSize, 1234u);
  EXPECT_EQ(o.allowedSchemes, UrlSchemes{UrlScheme::kHttp});
  EXPECT_EQ(o.timeout, std::chrono::minutes(5));
}

TEST(IsPartialDownloadName, RecognisesOnlyFetchersTempNames) {
  EXPECT_TRUE(isPartialDownloadName(".app-1.2.tar.gz.Ab3xY9.partial"));
  EXPECT_TRUE(isPartialDownloadName(".x.000000.partial"));
  EXPECT_FALSE(isPartialDownloadName("app.partial"));
  EXPECT_FALSE(isPartialDownloadName(".app.partial"));
  EXPECT_FALSE(isPartialDownloadName("..Ab3xY9.partial"));
  EXPECT_FALSE(isPartialDownloadName(".app.Ab3-Y9.partial"));
  EXPECT_FALSE(isPartialDownloadName(".app.Ab3xY9.partial.old"));
  EXPECT_FALSE(isPartialDownloadName(".app-Ab3xY9.partial"));
}

}  // namespace
}  // namespace upgrader
