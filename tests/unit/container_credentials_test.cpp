// Credentials from the engines' auth files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "container/credentials.hpp"
#include "fetch/http_client.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

TEST(FindCredentials, DecodesTheEntryForTheRegistry) {
  TempDir dir;
  std::ofstream(dir / "auth.json") << R"({"auths":{"other:5000":{"auth":")" +
                                          base64Encode("x:y") +
                                          R"("},"127.0.0.1:5000":{"auth":")" +
                                          base64Encode("ci:pa:ss") + R"("}}})";
  auto found = findCredentials({dir / "auth.json"}, "127.0.0.1:5000");
  ASSERT_TRUE(found) << found.error().message();
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->username, "ci");
  EXPECT_EQ((*found)->password, "pa:ss");  // split at the first colon
}

TEST(FindCredentials, KnowsDockerHubUnderItsIndexName) {
  TempDir dir;
  std::ofstream(dir / "config.json")
      << R"({"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p"}}})";
  auto found = findCredentials({dir / "config.json"}, "docker.io");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->username, "u");
}

TEST(FindCredentials, TakesTheFirstFileThatHasAnEntry) {
  TempDir dir;
  std::ofstream(dir / "a.json") << R"({"auths":{}})";
  std::ofstream(dir / "b.json")
      << R"({"auths":{"r":{"auth":")" + base64Encode("second:p") + R"("}}})";
  auto found = findCredentials(
      {dir / "missing.json", dir / "a.json", dir / "b.json"}, "r");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->username, "second");
}

TEST(FindCredentials, PrefersTheMostSpecificEntryAsPodmanDoes) {
  TempDir dir;
  std::ofstream(dir / "auth.json")
      << R"({"auths":{"r.io":{"auth":")" + base64Encode("host:p") +
             R"("},"r.io/team":{"auth":")" + base64Encode("team:p") +
             R"("},"r.io/team/app":{"auth":")" + base64Encode("app:p") +
             R"("}}})";
  EXPECT_EQ(
      (*findCredentials({dir / "auth.json"}, "r.io", "team/app"))->username,
      "app");
  EXPECT_EQ(
      (*findCredentials({dir / "auth.json"}, "r.io", "team/web"))->username,
      "team");
  EXPECT_EQ(
      (*findCredentials({dir / "auth.json"}, "r.io", "other/app"))->username,
      "host");
}

TEST(FindCredentials, RefusesCredentialsThatAreNotText) {
  // They travel as JSON and in headers; a Latin-1 byte would break both.
  TempDir dir;
  std::ofstream(dir / "auth.json")
      << R"({"auths":{"r":{"auth":")" + base64Encode("ci:caf\xe9") + R"("}}})";
  auto found = findCredentials({dir / "auth.json"}, "r");
  ASSERT_FALSE(found);
  EXPECT_THAT(found.error().message(),
              HasSubstr("holds bytes that are not text"));
}

TEST(FindCredentials, FindsNoneWithoutAFile) {
  TempDir dir;
  auto found = findCredentials({dir / "missing.json"}, "r");
  ASSERT_TRUE(found);
  EXPECT_FALSE(*found);
}

TEST(FindCredentials, NamesABrokenFileButNoSecret) {
  TempDir dir;
  std::ofstream(dir / "auth.json")
      << R"({"auths":{"r":{"auth":"not base64 secret!"}}})";
  auto found = findCredentials({dir / "auth.json"}, "r");
  ASSERT_FALSE(found);
  EXPECT_THAT(found.error().message(), HasSubstr(dir / "auth.json"));
  EXPECT_THAT(found.error().message(), ::testing::Not(HasSubstr("secret")));
}

TEST(AuthFilesFor, FollowsEachEnginesOrderUnlessOneIsConfigured) {
  ContainerConfig c;
  c.engine = ContainerConfig::Engine::kPodman;
  EXPECT_EQ(authFilesFor(c),
            (std::vector<std::string>{"/run/containers/0/auth.json",
                                      "/root/.docker/config.json"}));
  c.engine = ContainerConfig::Engine::kDocker;
  EXPECT_EQ(authFilesFor(c),
            std::vector<std::string>{"/root/.docker/config.json"});
  c.authFile = "/etc/upgrader/registry-auth.json";
  EXPECT_EQ(authFilesFor(c),
            std::vector<std::string>{"/etc/upgrader/registry-auth.json"});
}

TEST(Base64, EncodesBothAlphabetsWithPaddingAndDecodesBack) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8=");
  EXPECT_EQ(*base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(*base64Decode("Zm9vYg"), "foob");
  EXPECT_FALSE(base64Decode("Zm9v!"));
  EXPECT_FALSE(base64Decode("Zg==Zg"));
}

}  // namespace
}  // namespace upgrader
