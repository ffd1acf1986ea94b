// The registry client against scripted answers: pagination, the token and
// basic challenges, digests computed from what was served, and what a
// hostile registry cannot make it do.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "container/registry_client.hpp"
#include "fetch/sha256.hpp"
#include "support/fake_http_client.hpp"
#include "support/manual_clock.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using ::testing::ElementsAre;
using testing::FakeHttpClient;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;

const std::string kBase = "https://registry.example.com:5000/v2/team/app";

std::string sha256Of(const std::string& text) {
  Sha256 h;
  h.update(text.data(), text.size());
  return "sha256:" + h.finish().hex();
}

class ARegistryClient : public ::testing::Test {
 protected:
  ARegistryClient() {
    image_ = *parseImageName("registry.example.com:5000/team/app:@v");
  }
  // An auth file with `user`:`password` for the registry.
  void login(const std::string& user, const std::string& password) {
    std::ofstream(dir_ / "auth.json")
        << R"({"auths":{"registry.example.com:5000":{"auth":")" +
               base64Encode(user + ":" + password) + R"("}}})";
  }
  std::unique_ptr<Registry> client() {
    RegistryAccess access;
    access.caFile = "/etc/ssl/test-ca.pem";
    access.authFiles = {dir_ / "auth.json"};
    return makeRegistryClient(http_, access);
  }

  TempDir dir_;
  FakeHttpClient http_;
  ImageName image_;
};

// A registry that takes 40 s to answer each request, every answer within
// the per-request timeout (60 s).
class SlowRegistryHttp : public HttpClient {
 public:
  SlowRegistryHttp(HttpClient& inner, testing::ManualClock& clock) : inner_(inner), clock_(clock) {}
  Result<HttpResponse> send(const HttpRequest& request) override {
    timeouts.push_back(request.timeout);
    clock_.advance(std::chrono::seconds(40));
    return inner_.send(request);
  }
  std::vector<Duration> timeouts;

 private:
  HttpClient& inner_;
  testing::ManualClock& clock_;
};

TEST_F(ARegistryClient, GivesUpOnASlowPagedListingAtTheRunsDeadline) {
  // An endless listing, one slow page at a time.
  for (int page = 0; page < 10; ++page) {
    std::string query = page == 0 ? "n=1000" : "last=" + std::to_string(page) + "&n=1000";
    http_.answer("GET", kBase + "/tags/list?" + query, 200,
                 R"({"tags":[")" + std::to_string(page + 1) + R"("]})",
                 {{"link", "</v2/team/app/tags/list?last=" + std::to_string(page + 1) +
                               "&n=1000>; rel=\"next\""}});
  }
  testing::ManualClock clock;
  SlowRegistryHttp slow(http_, clock);
  RegistryAccess access;
  access.timeout = std::chrono::seconds(60);
  access.clock = &clock;
  access.deadline = clock.now() + std::chrono::seconds(100);
  access.deadlineName = "RegistryTimeoutSec=100s";
  auto registry = makeRegistryClient(slow, access);
  auto tags = registry->listTags(image_);
  ASSERT_FALSE(tags);
  EXPECT_THAT(tags.error().message(), HasSubstr("RegistryTimeoutSec=100s has passed"));
  // 0 s, 40 s, 80 s: the third request gets only what is left; no fourth.
  EXPECT_THAT(slow.timeouts, ElementsAre(std::chrono::seconds(60), std::chrono::seconds(60),
                                         std::chrono::seconds(20)));
  EXPECT_FALSE(registry->timeLeft());
}

TEST_F(ARegistryClient, HasAllTheTimeWithoutADeadline) {
  auto left = client()->timeLeft();
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, Duration::max());
}

TEST_F(ARegistryClient, ListsTagsAcrossPagesOfTheSameRegistry) {
  http_.answer(
      "GET", kBase + "/tags/list?n=1000", 200,
      R"({"name":"team/app","tags":["1.0","1.1"]})",
      {{"link", R"(</v2/team/app/tags/list?last=1.1&n=1000>; rel="next")"}});
  http_.answer("GET", kBase + "/tags/list?last=1.1&n=1000", 200,
               R"({"name":"team/app","tags":["2.0","not a tag!"]})");
  auto tags = client()->listTags(image_);
  ASSERT_TRUE(tags) << tags.error().message();
  // A name that is not a valid tag is never offered.
  EXPECT_THAT(*tags, ElementsAre("1.0", "1.1", "2.0"));
  EXPECT_EQ(http_.requests[0].caFile, "/etc/ssl/test-ca.pem");
}

TEST_F(ARegistryClient, RefusesANextPageOnAnotherHost) {
  http_.answer("GET", kBase + "/tags/list?n=1000", 200, R"({"tags":["1"]})",
               {{"link", R"(<https://evil.example/v2/x?n=1>; rel="next")"}});
  auto tags = client()->listTags(image_);
  ASSERT_FALSE(tags);
  EXPECT_THAT(tags.error().message(), HasSubstr("another host"));
}

TEST_F(ARegistryClient, StopsAfterAHundredPages) {
  for (int i = 0; i < 100; ++i) {
    std::string url = i == 0 ? kBase + "/tags/list?n=1000"
                             : kBase + "/tags/list?last=" + std::to_string(i);
    http_.answer("GET", url, 200, R"({"tags":[]})",
                 {{"link", "</v2/team/app/tags/list?last=" +
                               std::to_string(i + 1) + ">; rel=\"next\""}});
  }
  auto tags = client()->listTags(image_);
  ASSERT_FALSE(tags);
  EXPECT_THAT(tags.error().message(), HasSubstr("more than 100 pages"));
}

TEST_F(ARegistryClient, ReportsAMissingRepositoryByName) {
  http_.answer(
      "GET", kBase + "/tags/list?n=1000", 404,
      R"({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]})");
  auto tags = client()->listTags(image_);
  ASSERT_FALSE(tags);
  EXPECT_EQ(tags.error().message(),
            "no repository 'registry.example.com:5000/team/app' ('repository "
            "name not known to registry')");
}

TEST_F(ARegistryClient, TakesTheDigestTheRegistryNamesWithoutAPull) {
  // HEAD does not count as a pull where registries limit pulls.
  http_.answer("HEAD", kBase + "/manifests/2.0", 200, "",
               {{"docker-content-digest", sha256Of("manifest")}});
  auto digest = client()->manifestDigest(image_, "2.0");
  ASSERT_TRUE(digest) << digest.error().message();
  EXPECT_EQ(*digest, sha256Of("manifest"));
  ASSERT_EQ(http_.requests.size(), 1u);
  EXPECT_THAT(http_.headerOf(0, "Accept"),
              HasSubstr("application/vnd.oci.image.manifest.v1+json"));
  EXPECT_THAT(
      http_.headerOf(0, "Accept"),
      HasSubstr("application/vnd.docker.distribution.manifest.v2+json"));
}

TEST_F(ARegistryClient, HashesTheManifestAsServedWhenTheRegistryNamesNoDigest) {
  const std::string manifest = R"({"schemaVersion":2,"layers":[]})";
  http_.answer("HEAD", kBase + "/manifests/2.0", 200, "");
  http_.answer("GET", kBase + "/manifests/2.0", 200, manifest);
  auto digest = client()->manifestDigest(image_, "2.0");
  ASSERT_TRUE(digest) << digest.error().message();
  EXPECT_EQ(*digest, sha256Of(manifest));
}

TEST_F(ARegistryClient, RefusesAManifestWhoseClaimedDigestIsNotItsOwn) {
  http_.answer("HEAD", kBase + "/manifests/2.0", 200, "",
               {{"docker-content-digest", "sha256:\x1b[2Jnot-a-digest"}});
  http_.answer("GET", kBase + "/manifests/2.0", 200, "{}",
               {{"docker-content-digest", "sha256:\x1b[2Jnot-a-digest"}});
  auto digest = client()->manifestDigest(image_, "2.0");
  ASSERT_FALSE(digest);
  EXPECT_THAT(digest.error().message(),
              HasSubstr("but served a manifest of digest"));
  // What the registry sent is shown escaped, never as a terminal command.
  EXPECT_THAT(digest.error().message(), HasSubstr("\\x1b[2J"));
  EXPECT_EQ(digest.error().message().find('\x1b'), std::string::npos);
}

TEST_F(ARegistryClient, SaysWhichTagIsMissing) {
  http_.answer("HEAD", kBase + "/manifests/9", 404, "");
  auto digest = client()->manifestDigest(image_, "9");
  ASSERT_FALSE(digest);
  EXPECT_EQ(digest.error().message(),
            "no tag '9' in 'registry.example.com:5000/team/app'");
}

TEST_F(ARegistryClient, AnswersABearerChallengeWithATokenForPullingOnly) {
  login("ci", "s3cr3t");
  http_.answer(
      "HEAD", kBase + "/manifests/2.0", 401, "",
      {{"www-authenticate",
        R"(Bearer realm="https://auth.example.com/token",service="registry",scope="repository:team/app:pull,push")"}});
  http_.answer("GET",
               "https://auth.example.com/"
               "token?service=registry&scope=repository%3Ateam%2Fapp%3Apull",
               200, R"({"token":"abc.def"})");
  http_.answer("HEAD", kBase + "/manifests/2.0", 200, "",
               {{"docker-content-digest", sha256Of("m")}});
  auto digest = client()->manifestDigest(image_, "2.0");
  ASSERT_TRUE(digest) << digest.error().message();
  ASSERT_EQ(http_.requests.size(), 3u);
  // The credentials go to the realm; the registry gets the token.
  EXPECT_EQ(http_.requests[1].user, "ci");
  EXPECT_EQ(http_.requests[1].password, "s3cr3t");
  EXPECT_EQ(http_.headerOf(2, "Authorization"), "Bearer abc.def");
  EXPECT_EQ(http_.requests[2].user, "");
}

TEST_F(ARegistryClient, KeepsItsTokenForTheNextRequests) {
  http_.answer("HEAD", kBase + "/manifests/1", 401, "",
               {{"www-authenticate",
                 R"(Bearer realm="https://r.example/t",service="s")"}});
  http_.answer(
      "GET",
      "https://r.example/t?service=s&scope=repository%3Ateam%2Fapp%3Apull", 200,
      R"({"access_token":"tok"})");
  http_.answer("HEAD", kBase + "/manifests/1", 200, "",
               {{"docker-content-digest", sha256Of("1")}});
  http_.answer("HEAD", kBase + "/manifests/2", 200, "",
               {{"docker-content-digest", sha256Of("2")}});
  auto registry = client();
  ASSERT_TRUE(registry->manifestDigest(image_, "1"));
  ASSERT_TRUE(registry->manifestDigest(image_, "2"));
  EXPECT_EQ(http_.requests.size(), 4u);
  EXPECT_EQ(http_.headerOf(3, "Authorization"), "Bearer tok");
}

TEST_F(ARegistryClient, SendsBasicCredentialsWhenAskedForThem) {
  login("ci", "s3cr3t");
  http_.answer("HEAD", kBase + "/manifests/1", 401, "",
               {{"www-authenticate", R"(Basic realm="registry")"}});
  http_.answer("HEAD", kBase + "/manifests/1", 200, "",
               {{"docker-content-digest", sha256Of("1")}});
  auto digest = client()->manifestDigest(image_, "1");
  ASSERT_TRUE(digest) << digest.error().message();
  EXPECT_EQ(http_.requests[0].user, "");  // not before it is asked
  EXPECT_EQ(http_.requests[1].user, "ci");
}

TEST_F(ARegistryClient, SaysWhereItLookedForCredentialsWhenRefused) {
  http_.answer("HEAD", kBase + "/manifests/1", 401, "",
               {{"www-authenticate", R"(Basic realm="registry")"}});
  http_.answer("GET", kBase + "/manifests/1", 401, "",
               {{"www-authenticate", R"(Basic realm="registry")"}});
  auto digest = client()->manifestDigest(image_, "1");
  ASSERT_FALSE(digest);
  EXPECT_EQ(digest.error().message(),
            "the registry refused access to the manifest of "
            "'registry.example.com:5000/team/app:1': HTTP 401 (no credentials "
            "for it in " +
                (dir_ / "auth.json") + ")");
}

TEST_F(ARegistryClient, NeverNamesTheCredentialsInAnError) {
  login("ci", "s3cr3t-password");
  http_.answer("HEAD", kBase + "/manifests/1", 401, "",
               {{"www-authenticate", R"(Basic realm="registry")"}});
  http_.answer("HEAD", kBase + "/manifests/1", 401, "");
  http_.answer("GET", kBase + "/manifests/1", 401, "");
  auto digest = client()->manifestDigest(image_, "1");
  ASSERT_FALSE(digest);
  EXPECT_THAT(digest.error().message(), HasSubstr("credentials were sent"));
  EXPECT_THAT(digest.error().message(), Not(HasSubstr("s3cr3t")));
}

TEST_F(ARegistryClient, RefusesToSendCredentialsToAPlainHttpRealm) {
  login("ci", "s3cr3t");
  http_.answer("HEAD", kBase + "/manifests/1", 401, "",
               {{"www-authenticate",
                 R"(Bearer realm="http://auth.example.com/token")"}});
  auto digest = client()->manifestDigest(image_, "1");
  ASSERT_FALSE(digest);
  EXPECT_THAT(digest.error().message(), HasSubstr("not https"));
  EXPECT_EQ(http_.requests.size(), 1u);
}

TEST_F(ARegistryClient, RefusesATokenThatCouldBreakAHeaderLine) {
  http_.answer("HEAD", kBase + "/manifests/1", 401, "",
               {{"www-authenticate", R"(Bearer realm="https://r.example/t")"}});
  http_.answer("GET",
               "https://r.example/t?scope=repository%3Ateam%2Fapp%3Apull", 200,
               "{\"token\":\"a\\r\\nX-Evil: 1\"}");
  auto digest = client()->manifestDigest(image_, "1");
  ASSERT_FALSE(digest);
  EXPECT_THAT(digest.error().message(), HasSubstr("control characters"));
}

TEST_F(ARegistryClient, ReportsAnUnreadableAuthFileByNameOnly) {
  std::ofstream(dir_ / "auth.json") << "{not json";
  http_.answer("HEAD", kBase + "/manifests/1", 401, "",
               {{"www-authenticate", R"(Basic realm="registry")"}});
  auto digest = client()->manifestDigest(image_, "1");
  ASSERT_FALSE(digest);
  EXPECT_EQ(digest.error().message(), "cannot use the credentials in '" +
                                          (dir_ / "auth.json") +
                                          "': not a JSON object");
}

TEST(ParseAuthChallenge, ReadsQuotedParametersWithCommas) {
  auto c = parseAuthChallenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c->params.at("service"), "registry.docker.io");
  EXPECT_EQ(c->params.at("scope"), "repository:a/b:pull,push");
  EXPECT_EQ(parseAuthChallenge(R"(Basic realm="x")")->scheme, "basic");
  EXPECT_FALSE(parseAuthChallenge(R"(Bearer realm="unterminated)"));
}

TEST(NextLink, FindsTheNextRelationAmongOthers) {
  EXPECT_EQ(nextLink(R"(</v2/a/tags/list?last=b&n=2>; rel="next")"),
            "/v2/a/tags/list?last=b&n=2");
  EXPECT_EQ(
      nextLink(R"(<https://x/prev>; rel="prev", <https://x/next>; rel="next")"),
      "https://x/next");
  EXPECT_EQ(nextLink(""), "");
  EXPECT_EQ(nextLink(R"(<https://x/prev>; rel="prev")"), "");
}

}  // namespace
}  // namespace upgrader
