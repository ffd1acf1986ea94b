// Image names as Docker and Podman read them, tag patterns with "@v".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/image_reference.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;

ImageName parsed(const std::string& text) {
  auto image = parseImageName(text);
  EXPECT_TRUE(image) << image.error().message();
  return image ? *image : ImageName{};
}

TEST(ParseImageName, ReadsARegistryWithAPortAndAVersionPattern) {
  ImageName i = parsed("registry.example.com:5000/team/progressdb:@v");
  EXPECT_EQ(i.registry, "registry.example.com:5000");
  EXPECT_EQ(i.repository, "team/progressdb");
  EXPECT_EQ(i.tag, "@v");
  EXPECT_TRUE(i.followsVersions());
  EXPECT_EQ(i.name(), "registry.example.com:5000/team/progressdb");
  EXPECT_EQ(i.apiHost(), "registry.example.com:5000");
}

TEST(ParseImageName, ExpandsDockerHubShorthands) {
  ImageName official = parsed("nginx:1.25");
  EXPECT_EQ(official.registry, "docker.io");
  EXPECT_EQ(official.repository, "library/nginx");
  EXPECT_EQ(official.apiHost(), "registry-1.docker.io");
  ImageName user = parsed("nocobase/nocobase:@v-full");
  EXPECT_EQ(user.registry, "docker.io");
  EXPECT_EQ(user.repository, "nocobase/nocobase");
  EXPECT_EQ(parsed("localhost/app:1").registry, "localhost");
  EXPECT_EQ(parsed("127.0.0.1:5000/svc:2").registry, "127.0.0.1:5000");
}

TEST(ImageName, MapsVersionsToTagsAndBack) {
  ImageName i = parsed("nocobase/nocobase:@v-full");
  EXPECT_EQ(i.tagFor("1.7.14"), "1.7.14-full");
  EXPECT_EQ(i.versionOfTag("1.7.14-full"), "1.7.14");
  EXPECT_EQ(i.versionOfTag("1.7.14"), "");
  EXPECT_EQ(i.versionOfTag("-full"), "");  // an empty version is none
  EXPECT_EQ(i.versionOfTag("latest-full-x"), "");
  ImageName fixed = parsed("app:latest");
  EXPECT_FALSE(fixed.followsVersions());
  EXPECT_EQ(fixed.tagFor("2"), "latest");
  EXPECT_EQ(fixed.versionOfTag("latest"), "");
}

TEST(ParseImageName, RefusesWhatIsNotAPinnableName) {
  auto error = [](const std::string& text) {
    auto image = parseImageName(text);
    EXPECT_FALSE(image) << text;
    return image ? std::string() : image.error().message();
  };
  EXPECT_THAT(error("app"), HasSubstr("no tag"));
  EXPECT_THAT(error("reg:5000/app"), HasSubstr("no tag"));
  EXPECT_THAT(error("app:1@sha256:00"), HasSubstr("Digest="));
  EXPECT_THAT(error("App:1"), HasSubstr("lowercase"));
  EXPECT_THAT(error("a//b:1"), HasSubstr("lowercase"));
  EXPECT_THAT(error("app/:1"), HasSubstr("ends in '/'"));
  EXPECT_THAT(error("app:.hidden"), HasSubstr("tag"));
  EXPECT_THAT(error("app:" + std::string(129, 'a')), HasSubstr("tag"));
  EXPECT_THAT(error("re$g.io/app:1"), HasSubstr("bad registry"));
  EXPECT_THAT(error(""), HasSubstr("empty"));
}

TEST(IsValidImageDigest, WantsSha256AndSixtyFourLowercaseHexDigits) {
  EXPECT_TRUE(isValidImageDigest("sha256:" + std::string(64, 'a')));
  EXPECT_FALSE(isValidImageDigest("sha256:" + std::string(64, 'A')));
  EXPECT_FALSE(isValidImageDigest("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(isValidImageDigest("sha512:" + std::string(64, 'a')));
}

}  // namespace
}  // namespace upgrader
