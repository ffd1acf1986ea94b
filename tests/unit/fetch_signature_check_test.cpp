// Signed listings and releases: what is believed, what is refused and what
// the refusal says. Keys and signatures are made by the real minisign.
#include "fetch/signature_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <optional>

#include "support/fake_fetcher.hpp"
#include "support/minisign_tool.hpp"
#include "support/temp_dir.hpp"
#include "trust/minisign.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::MinisignTool;
using testing::TempDir;

const std::string kUrl = "https://example.com/SHA256SUMS";
const std::string kSigUrl = "https://example.com/SHA256SUMS.minisig";
const std::string kListing =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  "
    "app-1.4.2.tar.gz\n";

TEST(SignatureUrlFor, IsWhereMinisignPutsItUnlessConfigured) {
  EXPECT_EQ(signatureUrlFor(kUrl, ""), kSigUrl);
  EXPECT_EQ(signatureUrlFor("https://e.com/SUMS?token=1#x", ""),
            "https://e.com/SUMS.minisig?token=1#x");
  EXPECT_EQ(signatureUrlFor(kUrl, "https://keys.example.com/S.sig"),
            "https://keys.example.com/S.sig");
}

class ASignedListing : public ::testing::Test {
 protected:
  void SetUp() override {
    auto found = MinisignTool::find();
    if (!found) GTEST_SKIP() << MinisignTool::kMissing;
    tool_.emplace(*found, dir_.path());
    trust_.keys.push_back(key(tool_->generate("vendor")));
    fetcher_.texts[kUrl] = kListing;
  }

  static MinisignKey key(const std::string& text) {
    auto parsed = parseMinisignKey(text);
    EXPECT_TRUE(parsed) << parsed.error().message();
    return parsed ? *parsed : MinisignKey{};
  }

  // Serves `content` signed by key `name` as the listing's signature.
  void serveSignatureOf(const std::string& content,
                        const std::string& name = "vendor") {
    fetcher_.texts[kSigUrl] = tool_->signText(name, "signed", content);
  }

  Result<std::string> verify(std::int64_t now = wallClockSeconds()) {
    return verifySignedListing(trust_, fetcher_.texts[kUrl], kUrl, kSigUrl,
                               fetcher_, FetchOptions{}, now);
  }

  std::string refusal(std::int64_t now = wallClockSeconds()) {
    auto verified = verify(now);
    EXPECT_FALSE(verified) << "verified: " << *verified;
    return verified ? "" : verified.error().message();
  }

  TempDir dir_;
  std::optional<MinisignTool> tool_;
  TrustConfig trust_;
  FakeFetcher fetcher_;
};

TEST_F(ASignedListing, IsBelievedWhenATrustedKeySignedIt) {
  serveSignatureOf(kListing);
  auto verified = verify();
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_THAT(*verified, StartsWith("signed by key " + trust_.keys[0].idHex() +
                                    ", trusted comment 'timestamp:"));
  // The signature is fetched with a bound fit for a signature file.
  EXPECT_EQ(fetcher_.lastMaxBytes, kMinisignMaxSignatureBytes);
}

TEST_F(ASignedListing, IsBelievedWhenAnyOfSeveralKeysSignedIt) {
  // Rotation: the new key is added beside the old one.
  trust_.keys.insert(trust_.keys.begin(), key(tool_->generate("old")));
  serveSignatureOf(kListing);
  EXPECT_TRUE(verify());
}

TEST_F(ASignedListing, IsRefusedWhenAnUnknownKeySignedIt) {
  tool_->generate("attacker");
  serveSignatureOf(kListing, "attacker");
  std::string why = refusal();
  EXPECT_THAT(why, HasSubstr("Refusing '" + kUrl + "': its signature '" +
                             kSigUrl + "' does not verify"));
  EXPECT_THAT(why, HasSubstr("which is not a trusted key (trusted: " +
                             trust_.keys[0].idHex() + ")"));
}

TEST_F(ASignedListing, IsRefusedWhenTheSignatureIsOfAnotherFile) {
  serveSignatureOf("another release's SHA256SUMS\n");
  EXPECT_THAT(refusal(), HasSubstr("the signature does not match"));
}

TEST_F(ASignedListing, IsRefusedWhenTheListingWasChangedAfterSigning) {
  serveSignatureOf(kListing);
  fetcher_.texts[kUrl] = kListing + kListing.substr(0, 64) + "  evil\n";
  EXPECT_THAT(refusal(), HasSubstr("the signature does not match"));
}

TEST_F(ASignedListing, IsRefusedWhenTheSignatureIsTruncatedJunkOrMissing) {
  serveSignatureOf(kListing);
  std::string good = fetcher_.texts[kSigUrl];
  fetcher_.texts[kSigUrl] = good.substr(0, good.size() / 2);
  EXPECT_THAT(refusal(), HasSubstr("'" + kSigUrl +
                                   "' is not a minisign signature"));
  fetcher_.texts[kSigUrl] = "<html>404 Not Found</html>\n";
  EXPECT_THAT(refusal(), HasSubstr("is not a minisign signature"));
  fetcher_.texts.erase(kSigUrl);
  EXPECT_THAT(refusal(), HasSubstr(kSigUrl));
}

TEST_F(ASignedListing, WithMaxAgeIsRefusedOnceOlderThanThat) {
  trust_.maxAge = std::chrono::hours(24 * 7);
  serveSignatureOf(kListing);
  std::int64_t now = wallClockSeconds();
  EXPECT_TRUE(verify(now));
  EXPECT_TRUE(verify(now + 6 * 24 * 3600));
  EXPECT_THAT(refusal(now + 30 * 24 * 3600),
              HasSubstr("longer than MaxAge= (7 days)"));
}

TEST_F(ASignedListing, WithMaxAgeIsRefusedWithoutASignedTimestamp) {
  trust_.maxAge = std::chrono::hours(1);
  ASSERT_TRUE(writeFileAtomically(dir_ / "signed", kListing));
  fetcher_.texts[kSigUrl] =
      tool_->sign("vendor", dir_ / "signed", false, "release 1.4.2");
  EXPECT_THAT(refusal(), HasSubstr("MaxAge= is set but the trusted comment of '" +
                                   kSigUrl + "' has no timestamp"));
}

TEST_F(ASignedListing, AHugeMaxAgeSaturatesInsteadOfWrapping) {
  trust_.maxAge = Duration::max();
  serveSignatureOf(kListing);
  EXPECT_TRUE(verify());
  // A clock at either end of its range: no wrapped, negative age.
  EXPECT_TRUE(verify(std::numeric_limits<std::int64_t>::min()));
  EXPECT_THAT(refusal(std::numeric_limits<std::int64_t>::max()),
              HasSubstr("longer than MaxAge="));
}

TEST_F(ASignedListing, AReleaseFileIsCheckedByItsOwnSignature) {
  ASSERT_TRUE(writeFileAtomically(dir_ / "app.tar.gz", "the release"));
  const std::string url = "https://example.com/app.tar.gz";
  fetcher_.texts[url + ".minisig"] =
      tool_->signText("vendor", "elsewhere", "the release");
  auto verified = verifySignedFile(trust_, dir_ / "app.tar.gz", url,
                                   url + ".minisig", fetcher_, FetchOptions{});
  ASSERT_TRUE(verified) << verified.error().message();
  ASSERT_TRUE(writeFileAtomically(dir_ / "app.tar.gz", "the release, altered"));
  verified = verifySignedFile(trust_, dir_ / "app.tar.gz", url,
                              url + ".minisig", fetcher_, FetchOptions{});
  ASSERT_FALSE(verified);
  EXPECT_THAT(verified.error().message(),
              HasSubstr("Refusing '" + url + "': its signature"));
}

}  // namespace
}  // namespace upgrader
