// JSON text is valid UTF-8 whatever bytes its strings carry.
#include "common/json_text.hpp"

#include <gtest/gtest.h>

#include "common/url.hpp"

namespace upgrader {
namespace {

TEST(JsonText, ReplacesBytesThatAreNotUtf8InsteadOfThrowing) {
  nlohmann::json j = {{"message", "hook said caf\xe9 \xff"}, {"ok", "caf\xc3\xa9"}};
  std::string text;
  ASSERT_NO_THROW(text = jsonText(j));
  EXPECT_TRUE(isValidUtf8(text));
  EXPECT_NE(text.find("caf\xef\xbf\xbd"), std::string::npos);  // U+FFFD
  EXPECT_NE(text.find("caf\xc3\xa9"), std::string::npos);      // kept as it was
  EXPECT_EQ(jsonText(nlohmann::json{{"a", 1}}, 2), "{\n  \"a\": 1\n}");
}

}  // namespace
}  // namespace upgrader
