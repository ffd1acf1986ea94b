// What a release URL says: its file name, and whether it is an archive.
#include <gtest/gtest.h>

#include "common/url.hpp"

namespace upgrader {
namespace {

TEST(FileNameOfUrl, TakesTheLastPathComponentWithoutQuery) {
  EXPECT_EQ(fileNameOfUrl("https://x/a/b.tar.gz?x=1/2#f"), "b.tar.gz");
  EXPECT_EQ(fileNameOfUrl("file:///srv/app"), "app");
  EXPECT_EQ(fileNameOfUrl("https://x/dir/"), "");
  EXPECT_EQ(fileNameOfUrl("https://host"), "");
  EXPECT_EQ(fileNameOfUrl("https://host?q=/a"), "");
}

TEST(LooksLikeArchive, RecognisesArchiveSuffixesOnly) {
  for (const char* url :
       {"https://x/app-1.0.tar", "https://x/app.tar.gz", "https://x/app.TGZ",
        "https://x/app.tar.xz", "https://x/app.txz", "https://x/app.tar.zst",
        "file:///srv/app.zip", "https://x/app.tar.gz?token=1#frag",
        "app.tar.gz"}) {
    EXPECT_TRUE(looksLikeArchive(url)) << url;
  }
  for (const char* url :
       {"https://x/app", "https://x/app.gz", "https://x/app.tar.gz.sig",
        "https://x/app?f=app.tar.gz", "https://x/tar", "https://x.zip",
        "https://x/.zip/app"}) {
    EXPECT_FALSE(looksLikeArchive(url)) << url;
  }
}

TEST(FileNameOfUrl, ReadsAStringWithoutASchemeAsAPath) {
  EXPECT_EQ(fileNameOfUrl("/srv/releases/app-1.tar.gz"), "app-1.tar.gz");
  EXPECT_EQ(fileNameOfUrl("app"), "app");
}

TEST(LooksLikeArchive, SaysNoForAUrlWithoutAPath) {
  // The rule once drifted between the configuration checks and the
  // fetcher: a host ending in ".zip" is not an archive.
  EXPECT_FALSE(looksLikeArchive("https://releases.zip"));
}

TEST(PercentEncode, LeavesOnlyUnreservedCharactersAsTheyAre) {
  EXPECT_EQ(percentEncode("repository:team/app:pull"),
            "repository%3Ateam%2Fapp%3Apull");
  EXPECT_EQ(percentEncode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(percentEncode("\xff "), "%FF%20");
}

TEST(IsValidUtf8, AcceptsTextAndRefusesBrokenSequences) {
  EXPECT_TRUE(isValidUtf8("plain"));
  EXPECT_TRUE(isValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(isValidUtf8("caf\xe9"));           // Latin-1
  EXPECT_FALSE(isValidUtf8("\xc3"));              // cut short
  EXPECT_FALSE(isValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

}  // namespace
}  // namespace upgrader
