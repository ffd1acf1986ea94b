#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "config/values.hpp"

namespace upgrader {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

Duration span(std::string_view text) {
  auto d = parseTimeSpan(text);
  EXPECT_TRUE(d) << d.error().message();
  return d ? *d : Duration(-1);
}

std::string spanError(std::string_view text) {
  auto d = parseTimeSpan(text);
  EXPECT_FALSE(d) << text << " parsed as " << (d ? d->count() : 0) << "us";
  return d ? "" : d.error().message();
}

std::string sizeError(std::string_view text) {
  auto s = parseSize(text);
  EXPECT_FALSE(s) << text;
  return s ? "" : s.error().message();
}

TEST(ParseBoolean, AcceptsSystemdSpellingsInAnyCase) {
  for (std::string_view yes : {"yes", "YES", "true", "True", "on", "1"}) {
    auto b = parseBoolean(yes);
    ASSERT_TRUE(b) << yes;
    EXPECT_TRUE(*b) << yes;
  }
  for (std::string_view no : {"no", "No", "false", "FALSE", "off", "0"}) {
    auto b = parseBoolean(no);
    ASSERT_TRUE(b) << no;
    EXPECT_FALSE(*b) << no;
  }
}

TEST(ParseBoolean, RejectsAnythingElseSayingWhatIsExpected) {
  for (std::string_view text : {"", "maybe", "y", "2", "yess", " yes"}) {
    EXPECT_FALSE(parseBoolean(text)) << text;
  }
  EXPECT_EQ(parseBoolean("maybe").error().message(),
            "invalid boolean 'maybe': expected yes/no, true/false, on/off or "
            "1/0");
}

TEST(ParseTimeSpan, ABareNumberIsSeconds) {
  EXPECT_EQ(span("30"), seconds(30));
  EXPECT_EQ(span("0"), Duration::zero());
}

TEST(ParseTimeSpan, AcceptsEveryUnitSystemdSpells) {
  for (auto unit : {"us", "usec"}) {
    EXPECT_EQ(span(std::string("7") + unit), microseconds(7)) << unit;
  }
  for (auto unit : {"ms", "msec"}) {
    EXPECT_EQ(span(std::string("7") + unit), milliseconds(7)) << unit;
  }
  for (auto unit : {"s", "sec", "second", "seconds"}) {
    EXPECT_EQ(span(std::string("7") + unit), seconds(7)) << unit;
  }
  for (auto unit : {"m", "min", "minute", "minutes"}) {
    EXPECT_EQ(span(std::string("7") + unit), minutes(7)) << unit;
  }
  for (auto unit : {"h", "hr", "hour", "hours"}) {
    EXPECT_EQ(span(std::string("7") + unit), hours(7)) << unit;
  }
  for (auto unit : {"d", "day", "days"}) {
    EXPECT_EQ(span(std::string("7") + unit), hours(7 * 24)) << unit;
  }
  for (auto unit : {"w", "week", "weeks"}) {
    EXPECT_EQ(span(std::string("7") + unit), hours(7 * 24 * 7)) << unit;
  }
}

TEST(ParseTimeSpan, AcceptsCompoundSpansLikeSystemd) {
  EXPECT_EQ(span("1h 30s"), hours(1) + seconds(30));
  EXPECT_EQ(span("1h30s"), hours(1) + seconds(30));
  EXPECT_EQ(span("2min 500ms"), minutes(2) + milliseconds(500));
  EXPECT_EQ(span("1 2"), seconds(3));
  EXPECT_EQ(span("5 s"), seconds(5));
  EXPECT_EQ(span("  10s  "), seconds(10));
}

TEST(ParseTimeSpan, AcceptsFractionsDroppingWhatIsBelowAMicrosecond) {
  EXPECT_EQ(span("1.5s"), milliseconds(1500));
  EXPECT_EQ(span("0.5"), milliseconds(500));
  EXPECT_EQ(span(".25min"), seconds(15));
  EXPECT_EQ(span("1.5us"), microseconds(1));
  EXPECT_EQ(span("0.1234567s"), microseconds(123456));
}

TEST(ParseTimeSpan, RejectsInfinityBecauseTimeoutsMustBeFinite) {
  EXPECT_EQ(spanError("infinity"),
            "invalid time span 'infinity': must be finite");
}

TEST(ParseTimeSpan, RejectsAnUnknownUnitByName) {
  EXPECT_EQ(spanError("abc"), "invalid time span 'abc': unknown unit 'abc'");
  EXPECT_THAT(spanError("5 years"), HasSubstr("unknown unit 'years'"));
  EXPECT_THAT(spanError("5M"), HasSubstr("unknown unit 'M'"));
  EXPECT_THAT(spanError("5S"), HasSubstr("unknown unit 'S'"));
}

TEST(ParseTimeSpan, RejectsNegativeEmptyAndMalformedSpans) {
  EXPECT_THAT(spanError("-5s"), HasSubstr("must not be negative"));
  EXPECT_THAT(spanError("5s -1s"), HasSubstr("must not be negative"));
  EXPECT_THAT(spanError(""), HasSubstr("empty"));
  EXPECT_THAT(spanError("   "), HasSubstr("empty"));
  EXPECT_THAT(spanError("s"), HasSubstr("missing number before 's'"));
  EXPECT_THAT(spanError("1.5.3"), HasSubstr("unexpected '.'"));
  EXPECT_THAT(spanError("+5"), HasSubstr("expected a number"));
  EXPECT_THAT(spanError("."), HasSubstr("expected a number"));
  EXPECT_THAT(spanError("5s;"), HasSubstr("expected a number at ';'"));
}

TEST(ParseTimeSpan, RejectsSpansThatOverflow) {
  EXPECT_THAT(spanError("99999999999999999999"), HasSubstr("too large"));
  EXPECT_THAT(spanError("9223372036854775807s"), HasSubstr("too large"));
  EXPECT_THAT(spanError("15250284w 15250284w"), HasSubstr("too large"));
  EXPECT_EQ(span("9223372036854775807us"), Duration::max());
}

TEST(ParseSize, ReadsBytesAndBase1024Suffixes) {
  EXPECT_EQ(*parseSize("0"), 0u);
  EXPECT_EQ(*parseSize("4096"), 4096u);
  EXPECT_EQ(*parseSize("2K"), 2048u);
  EXPECT_EQ(*parseSize("512M"), 512ull << 20);
  EXPECT_EQ(*parseSize("1G"), 1ull << 30);
  EXPECT_EQ(*parseSize("3T"), 3ull << 40);
  EXPECT_EQ(*parseSize("1 G"), 1ull << 30);
  EXPECT_EQ(*parseSize("18446744073709551615"),
            std::numeric_limits<std::uint64_t>::max());
}

TEST(ParseSize, RejectsNegativeGarbageUnknownSuffixesAndOverflow) {
  EXPECT_EQ(sizeError("-1"), "invalid size '-1': must not be negative");
  EXPECT_EQ(sizeError("12X"),
            "invalid size '12X': unknown suffix 'X' (expected K, M, G or T)");
  EXPECT_THAT(sizeError(""), HasSubstr("empty"));
  EXPECT_THAT(sizeError("big"), HasSubstr("expected a whole number"));
  EXPECT_THAT(sizeError("1.5G"), HasSubstr("unknown suffix '.5G'"));
  EXPECT_THAT(sizeError("5k"), HasSubstr("unknown suffix 'k'"));
  EXPECT_THAT(sizeError("5KK"), HasSubstr("unknown suffix 'KK'"));
  EXPECT_THAT(sizeError("18446744073709551616"), HasSubstr("too large"));
  EXPECT_THAT(sizeError("16777216T"), HasSubstr("too large"));
}

TEST(ParseUnsigned, AcceptsNumbersInsideTheRange) {
  EXPECT_EQ(*parseUnsigned("0", 0, 10), 0u);
  EXPECT_EQ(*parseUnsigned("10", 0, 10), 10u);
  EXPECT_EQ(
      *parseUnsigned("4294967295", 1, std::numeric_limits<unsigned>::max()),
      std::numeric_limits<unsigned>::max());
}

TEST(ParseUnsigned, RejectsOutOfRangeAndNonNumbersSayingTheRange) {
  EXPECT_EQ(parseUnsigned("11", 0, 10).error().message(),
            "invalid number '11': must be between 0 and 10");
  EXPECT_EQ(parseUnsigned("1", 2, std::numeric_limits<unsigned>::max())
                .error()
                .message(),
            "invalid number '1': must be at least 2");
  EXPECT_THAT(parseUnsigned("4294967296", 0, 10).error().message(),
              HasSubstr("between 0 and 10"));
  for (std::string_view text : {"", "-1", "+1", "1x", " 1", "0x10", "1.0"}) {
    auto n = parseUnsigned(text, 0, 100);
    ASSERT_FALSE(n) << text;
    EXPECT_THAT(n.error().message(), HasSubstr("expected a whole number"));
  }
}

TEST(QuoteValue, EscapesControlCharactersAndCutsLongText) {
  EXPECT_EQ(quoteValue("abc"), "'abc'");
  EXPECT_EQ(quoteValue(std::string_view("a\0b\n", 4)), "'a\\x00b\\x0a'");
  EXPECT_EQ(quoteValue("caf\xc3\xa9\x7f"), "'caf\\xc3\\xa9\\x7f'");
  EXPECT_EQ(quoteValue(std::string(300, 'x')),
            "'" + std::string(200, 'x') + "...'");
}

}  // namespace
}  // namespace upgrader
