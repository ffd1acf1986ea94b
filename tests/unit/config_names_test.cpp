#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/names.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;

std::string instanceError(std::string_view text) {
  auto name = parseInstanceName(text);
  EXPECT_FALSE(name) << text;
  return name ? "" : name.error().message();
}

std::string unitError(std::string_view text) {
  auto name = parseUnitName(text);
  EXPECT_FALSE(name) << text;
  return name ? "" : name.error().message();
}

TEST(ParseInstanceName, AcceptsSystemdUnitNameCharacters) {
  for (std::string_view text : {"progressdb", "a", "db-2", "my_app.prod",
                                "host:8080", "x\\x2dy", "A1"}) {
    auto name = parseInstanceName(text);
    ASSERT_TRUE(name) << text << ": " << name.error().message();
    EXPECT_EQ(name->str(), text);
  }
  EXPECT_TRUE(parseInstanceName(std::string(255, 'a')));
}

TEST(ParseInstanceName, RejectsASlashSayingSo) {
  EXPECT_EQ(instanceError("a/b"), "instance name 'a/b' contains '/'");
}

TEST(ParseInstanceName, RejectsDotDotAndLeadingDotOrDash) {
  EXPECT_EQ(instanceError("a..b"), "instance name 'a..b' contains '..'");
  EXPECT_EQ(instanceError(".."), "instance name '..' contains '..'");
  EXPECT_EQ(instanceError(".hidden"),
            "instance name '.hidden' starts with '.'");
  EXPECT_EQ(instanceError("-rf"), "instance name '-rf' starts with '-'");
}

TEST(ParseInstanceName, RejectsCharactersOutsideSystemdsSetIncludingAt) {
  EXPECT_THAT(instanceError("a@b"),
              HasSubstr("instance name 'a@b' contains invalid character '@'"));
  EXPECT_THAT(instanceError("a b"), HasSubstr("invalid character ' '"));
  EXPECT_THAT(instanceError("caf\xc3\xa9"), HasSubstr("invalid character"));
  EXPECT_THAT(instanceError(std::string_view("a\0b", 3)),
              HasSubstr("invalid character '\\x00'"));
}

TEST(ParseInstanceName, RejectsEmptyAndTooLongNames) {
  EXPECT_EQ(instanceError(""), "instance name is empty");
  EXPECT_THAT(instanceError(std::string(256, 'a')),
              HasSubstr("is longer than 255 characters"));
}

TEST(ParseUnitName, AcceptsPlainAndInstanceUnitsOfEveryKnownType) {
  for (std::string_view text :
       {"progressdb.service", "progressdb.socket", "multi-user.target",
        "backup.timer", "var-lib.mount", "watch.path", "system.slice",
        "session-1.scope", "getty@tty1.service", "a.b.service", "x@y@z.service",
        "foo\\x2dbar.service"}) {
    auto name = parseUnitName(text);
    ASSERT_TRUE(name) << text << ": " << name.error().message();
    EXPECT_EQ(name->str(), text);
  }
  EXPECT_TRUE(parseUnitName(std::string(247, 'a') + ".service"));
}

TEST(ParseUnitName, RejectsAMissingOrUnknownTypeListingTheKnownOnes) {
  EXPECT_THAT(unitError("progressdb"),
              HasSubstr("unit name 'progressdb' has no type suffix"));
  EXPECT_THAT(unitError("progressdb.device"),
              HasSubstr("has unknown type '.device' (expected one of .service "
                        ".socket .target"));
  EXPECT_THAT(unitError("progressdb."), HasSubstr("unknown type '.'"));
  EXPECT_THAT(unitError("progressdb.Service"), HasSubstr("unknown type"));
}

TEST(ParseUnitName, RejectsTemplatesEmptyPrefixesAndBadCharacters) {
  EXPECT_EQ(unitError("getty@.service"),
            "unit name 'getty@.service' is a template; name an instance such "
            "as 'getty@NAME.service'");
  EXPECT_EQ(unitError(".service"), "unit name '.service' has an empty prefix");
  EXPECT_THAT(unitError("@x.service"), HasSubstr("has an empty prefix"));
  EXPECT_THAT(unitError("a b.service"), HasSubstr("invalid character ' '"));
  EXPECT_THAT(unitError("a/b.service"), HasSubstr("invalid character '/'"));
  EXPECT_THAT(unitError("a@b c.service"), HasSubstr("invalid character ' '"));
}

TEST(ParseUnitName, RejectsEmptyAndTooLongNames) {
  EXPECT_EQ(unitError(""), "unit name is empty");
  EXPECT_THAT(unitError(std::string(248, 'a') + ".service"),
              HasSubstr("is longer than 255 characters"));
}

}  // namespace
}  // namespace upgrader
