#include <gtest/gtest.h>

#include <gmock/gmock.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fetch/release_source.hpp"
#include "fetch/signature_check.hpp"
#include "support/fake_fetcher.hpp"
#include "support/minisign_tool.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

const std::string kA(64, 'a');
const std::string kB(64, 'b');
const std::string kC(64, 'c');

Sha256Digest digest(const std::string& hex) {
  return Sha256Digest::fromHex(hex).value();
}

// Checksums alone, as with AllowUnsigned=yes; signed listings have their
// own tests (trust_signature_check_test.cpp).
const TrustConfig kUnsigned{{}, {}, true, {}};

SourceConfig source(std::string url) {
  SourceConfig s;
  s.url = std::move(url);
  return s;
}

TEST(ResolveRelease, UsesAPinnedChecksumWithoutFetchingAnything) {
  FakeFetcher fetcher;
  SourceConfig s = source("https://x/app-@v.tar.gz?sig=1");
  s.version = Version("1.2");
  s.checksum = digest(kA);
  s.checksumsUrl = "https://x/SHA256SUMS";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->version.str(), "1.2");
  EXPECT_EQ(r->url, "https://x/app-1.2.tar.gz?sig=1");
  EXPECT_EQ(r->fileName, "app-1.2.tar.gz");
  ASSERT_TRUE(r->expected);
  EXPECT_EQ(*r->expected, digest(kA));
  EXPECT_TRUE(fetcher.requested.empty());
}

TEST(ResolveRelease, LooksUpAPinnedVersionInTheExpandedSumsUrl) {
  FakeFetcher fetcher;
  fetcher.texts["https://x/v1.2/SHA256SUMS"] =
      kA + "  app-1.1.tar.gz\n" + kB + "  app-1.2.tar.gz\n";
  SourceConfig s = source("https://x/v@v/app-@v.tar.gz");
  s.version = Version("1.2");
  s.checksumsUrl = "https://x/v@v/SHA256SUMS";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->url, "https://x/v1.2/app-1.2.tar.gz");
  EXPECT_EQ(*r->expected, digest(kB));
  EXPECT_EQ(fetcher.requested,
            std::vector<std::string>{"https://x/v1.2/SHA256SUMS"});
  EXPECT_EQ(fetcher.lastMaxBytes, kMaxChecksumsBytes);
}

TEST(ResolveRelease, FailsWhenThePinnedReleaseHasNoEntry) {
  FakeFetcher fetcher;
  fetcher.texts["https://x/SHA256SUMS"] = kA + "  progressdb-1.1\n";
  SourceConfig s = source("https://x/progressdb-@v");
  s.version = Version("1.2");
  s.checksumsUrl = "https://x/SHA256SUMS";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "no entry for 'progressdb-1.2' in 'https://x/SHA256SUMS'");
}

TEST(ResolveRelease, FailsWithoutAnythingToVerifyAgainst) {
  FakeFetcher fetcher;
  SourceConfig s = source("https://x/app-@v");
  s.version = Version("1.2");
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("set Checksum= or ChecksumsURL="),
            std::string::npos);
}

TEST(ResolveRelease, RefusesAPinnedVersionThatWouldChangeTheUrl) {
  FakeFetcher fetcher;
  SourceConfig s = source("https://x/app-@v");
  s.version = Version("1.2/../../evil");
  s.checksum = digest(kA);
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("is not a valid version"),
            std::string::npos);
}

TEST(ResolveRelease, PassesOnFetchErrors) {
  FakeFetcher fetcher;
  SourceConfig s = source("https://x/app-@v");
  s.version = Version("1.2");
  s.checksumsUrl = "https://x/SHA256SUMS";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "Failed to fetch 'https://x/SHA256SUMS': HTTP 404");
}

TEST(ResolveRelease, PassesOnParseErrorsNamingTheSumsUrl) {
  FakeFetcher fetcher;
  fetcher.texts["https://x/SHA256SUMS"] = kA + "  ok\nnot a line\n";
  SourceConfig s = source("https://x/app-@v");
  s.version = Version("1.2");
  s.checksumsUrl = "https://x/SHA256SUMS";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message().rfind("https://x/SHA256SUMS:2: ", 0), 0u)
      << r.error().message();
}

TEST(ResolveRelease, DiscoversTheNewestVersionByVersionOrderNotFileOrder) {
  FakeFetcher fetcher;
  fetcher.texts["https://x/SHA256SUMS"] =
      kA + "  app-1.10.tar.gz\n" +  //
      kB + "  app-1.9.tar.gz\n" +   //
      kC + "  app-1.10~rc1.tar.gz\n" + kC + "  app-2.0.tar.gz.sig\n" + kC +
      "  other-9.0.tar.gz\n" + kC + "  app-1.2.zip\n";
  SourceConfig s = source("https://x/app-@v.tar.gz");
  s.checksumsUrl = "https://x/SHA256SUMS";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->version.str(), "1.10");
  EXPECT_EQ(r->url, "https://x/app-1.10.tar.gz");
  EXPECT_EQ(r->fileName, "app-1.10.tar.gz");
  EXPECT_EQ(*r->expected, digest(kA));
}

TEST(ResolveRelease, DiscoversWithAnExplicitPatternAndDigestOfTheUrlsFile) {
  FakeFetcher fetcher;
  // The pattern finds versions by their signature files; the digest is the
  // one of the file URL= names.
  fetcher.texts["https://x/SHA256SUMS"] = kA + "  app-3.0.tar.gz\n" + kB +
                                          "  app-3.0.manifest\n" + kC +
                                          "  app-2.0.manifest\n";
  SourceConfig s = source("https://x/dl/@v/app-@v.tar.gz");
  s.checksumsUrl = "https://x/SHA256SUMS";
  s.pattern = "app-@v.manifest";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->version.str(), "3.0");
  EXPECT_EQ(r->url, "https://x/dl/3.0/app-3.0.tar.gz");
  EXPECT_EQ(*r->expected, digest(kA));
}

TEST(ResolveRelease, FailsWhenNoFileMatchesThePattern) {
  FakeFetcher fetcher;
  fetcher.texts["https://x/SHA256SUMS"] = kA + "  other-1.0.tar.gz\n";
  SourceConfig s = source("https://x/app-@v.tar.gz");
  s.checksumsUrl = "https://x/SHA256SUMS";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "no file matching 'app-@v.tar.gz' in 'https://x/SHA256SUMS'");
}

TEST(ResolveRelease, FailsWhenTheNewestVersionsFileHasNoEntry) {
  FakeFetcher fetcher;
  fetcher.texts["https://x/SHA256SUMS"] = kA + "  app-2.0.manifest\n";
  SourceConfig s = source("https://x/app-@v.tar.gz");
  s.checksumsUrl = "https://x/SHA256SUMS";
  s.pattern = "app-@v.manifest";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "no entry for 'app-2.0.tar.gz' in 'https://x/SHA256SUMS'");
}

TEST(ResolveRelease, RefusesVersionMarkerInSumsUrlWhileDiscovering) {
  FakeFetcher fetcher;
  SourceConfig s = source("https://x/app-@v.tar.gz");
  s.checksumsUrl = "https://x/@v/SHA256SUMS";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("contains @v"), std::string::npos);
  EXPECT_TRUE(fetcher.requested.empty());
}

TEST(ResolveRelease, RefusesToDiscoverWithoutASumsUrl) {
  FakeFetcher fetcher;
  auto r = resolveRelease(source("https://x/app-@v.tar.gz"), kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("ChecksumsURL= is needed"),
            std::string::npos);
}

TEST(ResolveRelease, RefusesToDiscoverForAUrlWithoutVersionMarker) {
  FakeFetcher fetcher;
  SourceConfig s = source("https://x/app-latest.tar.gz");
  s.checksumsUrl = "https://x/SHA256SUMS";
  s.pattern = "app-@v.tar.gz";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("contains no @v"), std::string::npos);
}

TEST(ResolveRelease, RefusesAPinnedChecksumWithoutAPinnedVersion) {
  FakeFetcher fetcher;
  SourceConfig s = source("https://x/app-@v.tar.gz");
  s.checksumsUrl = "https://x/SHA256SUMS";
  s.checksum = digest(kA);
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("Checksum= needs a pinned Version="),
            std::string::npos);
}

TEST(ResolveRelease, RefusesToChooseBetweenEquallyNewSpellings) {
  FakeFetcher fetcher;
  fetcher.texts["https://x/SHA256SUMS"] =
      kA + "  app-1.2.tar.gz\n" + kB + "  app-1.02.tar.gz\n";
  SourceConfig s = source("https://x/app-@v.tar.gz");
  s.checksumsUrl = "https://x/SHA256SUMS";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("are equally new"), std::string::npos);
}

TEST(ResolveRelease, RefusesAPatternWithoutExactlyOneMarker) {
  FakeFetcher fetcher;
  SourceConfig s = source("https://x/app-@v.tar.gz");
  s.checksumsUrl = "https://x/SHA256SUMS";
  s.pattern = "app-@v-@v.tar.gz";
  auto r = resolveRelease(s, kUnsigned, fetcher, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("must contain @v exactly once"),
            std::string::npos);
}

// --- With keys: the listing's signature before a line of it is believed.

class ASignedSource : public ::testing::Test {
 protected:
  void SetUp() override {
    auto found = testing::MinisignTool::find();
    if (!found) GTEST_SKIP() << testing::MinisignTool::kMissing;
    tool_.emplace(*found, dir_.path());
    auto key = parseMinisignKey(tool_->generate("vendor"));
    ASSERT_TRUE(key) << key.error().message();
    trust_.keys = {*key};
    source_ = source("https://x/app-@v.tar.gz");
    source_.checksumsUrl = "https://x/SHA256SUMS";
  }

  void serve(const std::string& listing, const std::string& signedText) {
    fetcher_.texts["https://x/SHA256SUMS"] = listing;
    fetcher_.texts["https://x/SHA256SUMS.minisig"] =
        tool_->signText("vendor", "signed", signedText);
  }

  testing::TempDir dir_;
  std::optional<testing::MinisignTool> tool_;
  TrustConfig trust_;
  SourceConfig source_;
  FakeFetcher fetcher_;
};

TEST_F(ASignedSource, ResolvesFromAListingItsKeySigned) {
  std::string listing = kA + "  app-1.1.tar.gz\n" + kB + "  app-1.2.tar.gz\n";
  serve(listing, listing);
  auto r = resolveRelease(source_, trust_, fetcher_, wallClockSeconds());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->version.str(), "1.2");
  EXPECT_THAT(r->signedBy, ::testing::StartsWith("SHA256SUMS signed by key " +
                                                 trust_.keys[0].idHex()));
}

TEST_F(ASignedSource, RefusesAListingThatIsNotWhatWasSigned) {
  // A newer "release" added to a signed listing: never even parsed.
  std::string listing = kA + "  app-1.1.tar.gz\n";
  serve(listing + kC + "  app-9.9.tar.gz\n", listing);
  auto r = resolveRelease(source_, trust_, fetcher_, wallClockSeconds());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(),
              ::testing::HasSubstr("Refusing 'https://x/SHA256SUMS': its "
                                   "signature 'https://x/SHA256SUMS.minisig' "
                                   "does not verify"));
}

TEST_F(ASignedSource, ExpandsTheVersionInAPinnedSignatureUrl) {
  source_.version = Version("1.1");
  source_.signatureUrl = "https://x/sigs/@v/SHA256SUMS.minisig";
  std::string listing = kA + "  app-1.1.tar.gz\n";
  serve(listing, listing);
  fetcher_.texts["https://x/sigs/1.1/SHA256SUMS.minisig"] =
      fetcher_.texts["https://x/SHA256SUMS.minisig"];
  fetcher_.texts.erase("https://x/SHA256SUMS.minisig");
  auto r = resolveRelease(source_, trust_, fetcher_, wallClockSeconds());
  ASSERT_TRUE(r) << r.error().message();
  // Discovery cannot know the version before the listing is verified.
  source_.version.reset();
  r = resolveRelease(source_, trust_, fetcher_, wallClockSeconds());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(),
              ::testing::HasSubstr("SignatureURL= "
                                   "'https://x/sigs/@v/SHA256SUMS.minisig' "
                                   "contains @v, which needs a pinned "
                                   "Version="));
}

}  // namespace
}  // namespace upgrader
