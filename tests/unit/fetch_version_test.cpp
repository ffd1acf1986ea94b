#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "fetch/version.hpp"

namespace upgrader {
namespace {

// From systemd's src/test/test-string-util.c (strverscmp_improved): each
// version is newer than every one before it.
const std::vector<std::string> kAscending = {
    "~1",         "",        "ab",      "abb",      "abc",     "0001",
    "002",        "12",      "122",     "122.9",    "123~rc1", "123",
    "123-a",      "123-a.1", "123-a1",  "123-a1.1", "123-3",   "123-3.1",
    "123^patch1", "123^1",   "123.a-1", "123.1-1",  "123a-1",  "124",
};

TEST(CompareVersions, OrdersSystemdsListOfVersionsPairwise) {
  for (std::size_t i = 0; i < kAscending.size(); ++i) {
    EXPECT_EQ(compareVersions(kAscending[i], kAscending[i]), 0)
        << kAscending[i];
    for (std::size_t j = i + 1; j < kAscending.size(); ++j) {
      EXPECT_EQ(compareVersions(kAscending[i], kAscending[j]), -1)
          << kAscending[i] << " < " << kAscending[j];
      EXPECT_EQ(compareVersions(kAscending[j], kAscending[i]), 1)
          << kAscending[j] << " > " << kAscending[i];
    }
  }
}

// {older, newer}, also from systemd's tests.
const std::vector<std::pair<std::string, std::string>> kOlderNewer = {
    {"123.45-67.88", "123.45-67.89"},
    {"123.45-67.89", "123.45-67.89a"},
    {"123.45-67.ab", "123.45-67.89"},
    {"123.45-67.9", "123.45-67.89"},
    {"123.45-67", "123.45-67.89"},
    {"123.45-66.89", "123.45-67.89"},
    {"123.45-9.99", "123.45-67.89"},
    {"123.42-99.99", "123.45-67.89"},
    {"123-99.99", "123.45-67.89"},
    // '~' pre-releases
    {"123~rc1-99.99", "123.45-67.89"},
    {"123~rc1-99.99", "123-45.67.89"},
    {"123~rc1-99.99", "123~rc2-67.89"},
    {"123~rc1-99.99", "123^aa2-67.89"},
    {"123~rc1-99.99", "123aa2-67.89"},
    // '-' separates version and release
    {"123-99.99", "123^aa2-67.89"},
    {"123-99.99", "123aa2-67.89"},
    // '^' patch releases
    {"123^45-67.89", "123.45-67.89"},
    {"123^aa1-99.99", "123^aa2-67.89"},
    {"123^aa2-67.89", "123aa2-67.89"},
    // '.' point releases
    {"123.aa2-67.89", "123aa2-67.89"},
    {"123.aa2-67.89", "123.ab2-67.89"},
    // corner cases
    {"123", "123."},
    {"12_3", "123"},
    {"12", "12_3"},
    {"12.3", "12_3"},
    {"123", "123.0"},
    {"123", "123_0"},
    {"123..0", "123.0"},
    {"~", ""},
    // from rpm's rpmvercmp tests, as systemd orders them
    {"1.0", "2.0"},
    {"2.0", "2.0.1"},
    {"2.0.1", "2.0.1a"},
    {"5.5p1", "5.5p2"},
    {"5.5p1", "5.5p10"},
    {"10.1xyz", "10xyz"},
    {"xyz10", "xyz10.1"},
    {"xyz.4", "8"},
    {"xyz.4", "2"},
    {"5.5p2", "5.6p1"},
    {"5.6p1", "6.5p1"},
    {"6.0", "6.0.rc1"},
    {"10a2", "10b2"},
    {"1.0a", "1.0aa"},
    {"10.0001", "10.0039"},
    {"4.999.9", "5.0"},
    {"20101121", "20101122"},
    {"2.0", "2_0"},
    {"1.0~rc1", "1.0"},
    {"1.0~rc1", "1.0~rc2"},
    {"1.0~rc1~git123", "1.0~rc1"},
    {"1.0", "1.0^"},
    {"1.0", "1.0^git1"},
    {"1.0^git1", "1.0^git2"},
    {"1.0^git1", "1.01"},
    {"1.0^20160101", "1.0.1"},
    {"1.0^20160101^git1", "1.0^20160102"},
    {"1.0~rc1", "1.0~rc1^git1"},
    {"1.0^git1~pre", "1.0^git1"},
    {"1.fc17", "1b.fc17"},
    {"1.fc17", "1g.fc17"},
    // what release file names usually look like
    {"1.9", "1.10"},
    {"1.9.9", "1.10.0"},
    {"0.9", "1.0"},
    {"1.0", "1.0.1"},
    {"1.0", "1.0-rc1"},  // '-' is a release suffix, not a pre-release
    {"2024.01.15", "2024.02.01"},
};

TEST(CompareVersions, OrdersOlderBeforeNewerBothWays) {
  for (const auto& [older, newer] : kOlderNewer) {
    EXPECT_EQ(compareVersions(older, newer), -1) << older << " < " << newer;
    EXPECT_EQ(compareVersions(newer, older), 1) << newer << " > " << older;
  }
}

const std::vector<std::pair<std::string, std::string>> kEqual = {
    {"1.0", "1.0"},
    {"10.0001", "10.1"},
    {"0001", "1"},
    {"123_aa2-67.89", "123aa+2-67.89"},
    {"0_", "0"},
    {"_0_", "0"},
    {"_0", "0"},
    {"0", "0___"},
    {"", "_"},
    {"_", "_"},
    {"~", "~"},
    {"a+", "a_"},
    {"+a", "_a"},
    {"_+", "+_"},
    {"1.1.\xce\xb1", "1.1.\xce\xb2"},  // non-ASCII is dropped
};

TEST(CompareVersions, TreatsEquivalentSpellingsAsEqual) {
  for (const auto& [a, b] : kEqual) {
    EXPECT_EQ(compareVersions(a, b), 0) << a << " == " << b;
    EXPECT_EQ(compareVersions(b, a), 0) << b << " == " << a;
  }
}

TEST(CompareVersions, ComparesNumbersLongerThan64Bits) {
  EXPECT_EQ(compareVersions("1.99999999999999999999999",
                            "1.100000000000000000000000"),
            -1);
}

TEST(CompareVersions, TreatsAnEmbeddedNulAsAnIgnoredCharacter) {
  EXPECT_EQ(compareVersions(std::string_view("1.0\0"
                                             "9",
                                             5),
                            "1.0"),
            1);
}

TEST(IsValidVersion, AcceptsVersionCharactersOnly) {
  EXPECT_TRUE(isValidVersion("1.2.3"));
  EXPECT_TRUE(isValidVersion("1.0~rc1+build_7-x"));
  EXPECT_TRUE(isValidVersion("v2"));
  EXPECT_FALSE(isValidVersion(""));
  EXPECT_FALSE(isValidVersion("."));
  EXPECT_FALSE(isValidVersion(".."));
  EXPECT_FALSE(isValidVersion("-rf"));
  EXPECT_FALSE(isValidVersion("1/2"));
  EXPECT_FALSE(isValidVersion("1.0?x=1"));
  EXPECT_FALSE(isValidVersion("1 0"));
  EXPECT_FALSE(isValidVersion("1^2"));
}

TEST(MatchVersionPattern, ReturnsTheTextStandingForTheMarker) {
  EXPECT_EQ(matchVersionPattern("app-@v.tar.gz", "app-1.2.3.tar.gz"), "1.2.3");
  EXPECT_EQ(matchVersionPattern("@v.zip", "2.0~rc1.zip"), "2.0~rc1");
  EXPECT_EQ(matchVersionPattern("app-@v", "app-1"), "1");
  EXPECT_EQ(matchVersionPattern("app_@v_linux", "app_1.2_linux"), "1.2");
}

TEST(MatchVersionPattern, RejectsOtherFileNames) {
  EXPECT_EQ(matchVersionPattern("app-@v.tar.gz", "app-1.2.tar.gz.sig"),
            std::nullopt);
  EXPECT_EQ(matchVersionPattern("app-@v.tar.gz", "other-1.2.tar.gz"),
            std::nullopt);
  EXPECT_EQ(matchVersionPattern("app-@v.tar.gz", "app-.tar.gz"), std::nullopt);
  EXPECT_EQ(matchVersionPattern("app-@v.tar.gz", "app.tar.gz"), std::nullopt);
}

TEST(MatchVersionPattern, RejectsVersionsWithForbiddenCharacters) {
  EXPECT_EQ(matchVersionPattern("app-@v.tar", "app-1 2.tar"), std::nullopt);
  EXPECT_EQ(matchVersionPattern("app-@v.tar", "app-1;rm.tar"), std::nullopt);
  EXPECT_EQ(matchVersionPattern("app@v.tar", "app...tar"), std::nullopt);
}

TEST(MatchVersionPattern, NeedsExactlyOneMarker) {
  EXPECT_EQ(matchVersionPattern("app.tar", "app.tar"), std::nullopt);
  EXPECT_EQ(matchVersionPattern("app-@v-@v.tar", "app-1-1.tar"), std::nullopt);
}

TEST(ExpandVersion, ReplacesEveryMarker) {
  EXPECT_EQ(expandVersion("https://x/v@v/app-@v.tar.gz", "1.2"),
            "https://x/v1.2/app-1.2.tar.gz");
  EXPECT_EQ(expandVersion("no marker", "1.2"), "no marker");
  EXPECT_EQ(expandVersion("@v", "3"), "3");
  EXPECT_EQ(expandVersion("@@vv", "3"), "@3v");
}

}  // namespace
}  // namespace upgrader
