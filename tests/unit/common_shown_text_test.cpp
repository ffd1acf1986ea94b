// What reaches a terminal, the journal or a state file can neither drive a
// terminal nor reveal a password.
#include "common/shown_text.hpp"

#include <gtest/gtest.h>

namespace upgrader {
namespace {

TEST(ShownText, EscapesControlBytesThatCouldRewriteATerminal) {
  // ESC [2J clears the screen; BEL, CR and DEL could hide what came before.
  EXPECT_EQ(shownText("release \x1b[2Jok\r\a\x7f"),
            "release \\x1b[2Jok\\x0d\\x07\\x7f");
}

TEST(ShownText, KeepsNewlinesTabsAndUtf8) {
  EXPECT_EQ(shownText("line one\n\tline two caf\xc3\xa9"),
            "line one\n\tline two caf\xc3\xa9");
}

TEST(ShownText, HidesThePasswordOfAUrl) {
  EXPECT_EQ(shownText("GET https://ci:s3cret@releases.example/x failed"),
            "GET https://ci:***@releases.example/x failed");
}

TEST(RedactCredentials, HidesATokenWithoutAUserName) {
  EXPECT_EQ(redactCredentials("https://ghp_abc123@host/path"),
            "https://***@host/path");
}

TEST(RedactCredentials, HidesEverySecretInTheText) {
  EXPECT_EQ(redactCredentials("from 'http://a:b@one/x' to http://c:d@two:8080"),
            "from 'http://a:***@one/x' to http://c:***@two:8080");
}

TEST(RedactCredentials, LeavesTextWithoutUserinfoAlone) {
  for (const char* text :
       {"https://host/path?mail=a@b", "plain words, me@example.org",
        "odd :// end", "://@", "http://host/#frag@x"}) {
    EXPECT_EQ(redactCredentials(text), text) << text;
  }
}

}  // namespace
}  // namespace upgrader
