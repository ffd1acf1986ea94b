#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/ini_file.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;

const std::string kFile = "/etc/upgrader/x.conf";

IniFile lex(std::string_view text) {
  auto file = parseIniFile(text, kFile);
  EXPECT_TRUE(file) << file.error().message();
  return file ? *file : IniFile{};
}

std::string errorOf(std::string_view text) {
  auto file = parseIniFile(text, kFile);
  EXPECT_FALSE(file) << "parsed without error: " << text;
  return file ? "" : file.error().message();
}

TEST(ParseIniFile, ReadsSectionsAndEntriesInOrderWithTheirLines) {
  auto file = lex("[A]\nk1=v1\nk2=v2\n[B]\nk3=v3\n");
  ASSERT_EQ(file.sections.size(), 2u);
  EXPECT_EQ(file.sections[0].name, "A");
  EXPECT_EQ(file.sections[0].line, 1u);
  ASSERT_EQ(file.sections[0].entries.size(), 2u);
  EXPECT_EQ(file.sections[0].entries[0].key, "k1");
  EXPECT_EQ(file.sections[0].entries[0].value, "v1");
  EXPECT_EQ(file.sections[0].entries[0].line, 2u);
  EXPECT_EQ(file.sections[0].entries[1].key, "k2");
  EXPECT_EQ(file.sections[1].name, "B");
  EXPECT_EQ(file.sections[1].line, 4u);
  ASSERT_EQ(file.sections[1].entries.size(), 1u);
  EXPECT_EQ(file.sections[1].entries[0].line, 5u);
}

TEST(ParseIniFile, TrimsWhitespaceAroundHeaderKeyAndValue) {
  auto file = lex("  [A]  \n  Key \t=  some value \t\r\n");
  ASSERT_EQ(file.sections.size(), 1u);
  ASSERT_EQ(file.sections[0].entries.size(), 1u);
  EXPECT_EQ(file.sections[0].entries[0].key, "Key");
  EXPECT_EQ(file.sections[0].entries[0].value, "some value");
}

TEST(ParseIniFile, KeepsEverythingAfterTheFirstEqualsSignInTheValue) {
  auto file = lex("[A]\nExpectJSON=status=ok\nEmpty=\n");
  ASSERT_EQ(file.sections[0].entries.size(), 2u);
  EXPECT_EQ(file.sections[0].entries[0].value, "status=ok");
  EXPECT_EQ(file.sections[0].entries[1].value, "");
}

TEST(ParseIniFile, IgnoresCommentsAndBlankLines) {
  auto file = lex("# comment\n; another\n\n[A]\n  # indented comment\n\nk=v\n");
  ASSERT_EQ(file.sections.size(), 1u);
  ASSERT_EQ(file.sections[0].entries.size(), 1u);
  EXPECT_EQ(file.sections[0].entries[0].line, 7u);
}

TEST(ParseIniFile, AHashInsideAValueIsNotAComment) {
  auto file = lex("[A]\nk=a # b\n");
  EXPECT_EQ(file.sections[0].entries[0].value, "a # b");
}

TEST(ParseIniFile, JoinsLinesEndingInABackslashWithASpaceLikeSystemd) {
  auto file = lex("[A]\nk=one \\\ntwo\\\nthree\nnext=x\n");
  ASSERT_EQ(file.sections[0].entries.size(), 2u);
  EXPECT_EQ(file.sections[0].entries[0].value, "one  two three");
  EXPECT_EQ(file.sections[0].entries[0].line, 2u);
  EXPECT_EQ(file.sections[0].entries[1].line, 5u);
}

TEST(ParseIniFile, SkipsCommentLinesInsideAContinuation) {
  auto file = lex("[A]\nk=one \\\n# not this\ntwo\n");
  ASSERT_EQ(file.sections[0].entries.size(), 1u);
  EXPECT_EQ(file.sections[0].entries[0].value, "one  two");
}

TEST(ParseIniFile, ABlankLineEndsAContinuation) {
  auto file = lex("[A]\nk=one \\\n\nl=two\n");
  ASSERT_EQ(file.sections[0].entries.size(), 2u);
  EXPECT_EQ(file.sections[0].entries[0].value, "one");
}

TEST(ParseIniFile, AnEscapedBackslashDoesNotContinueTheLine) {
  auto file = lex("[A]\nk=C:\\\\\nl=x\n");
  ASSERT_EQ(file.sections[0].entries.size(), 2u);
  EXPECT_EQ(file.sections[0].entries[0].value, "C:\\\\");
}

TEST(ParseIniFile, AContinuationAtTheEndOfTheFileEndsThere) {
  auto file = lex("[A]\nk=v\\");
  ASSERT_EQ(file.sections[0].entries.size(), 1u);
  EXPECT_EQ(file.sections[0].entries[0].value, "v");
}

TEST(ParseIniFile, MergesARepeatedSectionKeepingEntryOrder) {
  auto file = lex("[A]\nk=1\n[B]\nm=2\n[A]\nk=3\n");
  ASSERT_EQ(file.sections.size(), 2u);
  EXPECT_EQ(file.sections[0].name, "A");
  ASSERT_EQ(file.sections[0].entries.size(), 2u);
  EXPECT_EQ(file.sections[0].entries[0].value, "1");
  EXPECT_EQ(file.sections[0].entries[1].value, "3");
  EXPECT_EQ(file.sections[0].entries[1].line, 6u);
  EXPECT_EQ(file.sections[1].name, "B");
}

TEST(ParseIniFile, ReadsAFileWithoutFinalNewlineCrlfOrByteOrderMark) {
  auto file = lex("\xEF\xBB\xBF[A]\r\nk=v\r\nl=w");
  ASSERT_EQ(file.sections.size(), 1u);
  EXPECT_EQ(file.sections[0].name, "A");
  ASSERT_EQ(file.sections[0].entries.size(), 2u);
  EXPECT_EQ(file.sections[0].entries[0].value, "v");
  EXPECT_EQ(file.sections[0].entries[1].value, "w");
}

TEST(ParseIniFile, AnEmptyFileHasNoSections) {
  EXPECT_TRUE(lex("").sections.empty());
  EXPECT_TRUE(lex("# only a comment\n\n").sections.empty());
}

TEST(ParseIniFile, RejectsAKeyBeforeAnySectionNamingFileLineAndKey) {
  EXPECT_EQ(errorOf("# c\nURL=https://x\n[Source]\n"),
            "/etc/upgrader/x.conf:2: URL=: assignment before any [Section] "
            "header");
}

TEST(ParseIniFile, RejectsALineWithoutEqualsNamingFileLineAndSection) {
  EXPECT_EQ(errorOf("[Source]\nURL=x\njust words\n"),
            "/etc/upgrader/x.conf:3: [Source]: missing '=' in 'just words'");
}

TEST(ParseIniFile, RejectsAnAssignmentWithoutKey) {
  auto message = errorOf("[Source]\n = value\n");
  EXPECT_THAT(message, HasSubstr("x.conf:2: [Source]: missing key before '='"));
}

TEST(ParseIniFile, RejectsMalformedSectionHeaders) {
  for (std::string_view text :
       {"[Source\nk=v\n", "[]\n", "[Sou]rce]\n", "[Source] x\n", "[[A]]\n"}) {
    auto message = errorOf(text);
    EXPECT_THAT(message, HasSubstr("/etc/upgrader/x.conf:1: invalid section "
                                   "header"))
        << text;
  }
}

TEST(ParseIniFile, RejectsSectionAndKeyNamesWithSpacesOrControlBytes) {
  EXPECT_THAT(errorOf("[My Section]\n"), HasSubstr("invalid section header"));
  EXPECT_THAT(errorOf("[A\x01]\n"), HasSubstr("invalid section header"));
  EXPECT_EQ(errorOf("[A]\nTwo Words=v\n"),
            "/etc/upgrader/x.conf:2: [A]: invalid key 'Two Words': expected "
            "letters, digits and punctuation");
  EXPECT_THAT(errorOf("[A]\nK\xc3\xa9=v\n"),
              HasSubstr("invalid key 'K\\xc3\\xa9'"));
}

TEST(ParseIniFile, ReportsTheFirstLineOfAContinuedBadLine) {
  auto message = errorOf("[A]\nk=v\nbad \\\nline\n");
  EXPECT_THAT(message, HasSubstr("x.conf:3:"));
}

TEST(ParseIniFile, ShowsControlCharactersEscapedInMessages) {
  auto message = errorOf(std::string_view("[A]\nbad\x01line\n"));
  EXPECT_THAT(message, HasSubstr("'bad\\x01line'"));
}

}  // namespace
}  // namespace upgrader
