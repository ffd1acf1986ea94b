// The manual cannot drift from the parser: every key the parser accepts is
// documented in upgrader.conf(5), under its own section's heading.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "common/file_util.hpp"
#include "config/plan_loader.hpp"

namespace upgrader {
namespace {

std::string manual() {
  auto text =
      readFile(parentDirectory(__FILE__) + "/../../man/upgrader.conf.5.scd");
  EXPECT_TRUE(text) << text.error().message();
  return text ? *text : "";
}

// The text under "# [SECTION] SECTION", up to the next heading.
std::string sectionOf(const std::string& manual, const std::string& section) {
  std::string upper = section;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  std::string heading = "\n# [" + upper + "] SECTION\n";
  auto start = manual.find(heading);
  if (start == std::string::npos) return "";
  auto end = manual.find("\n# ", start + heading.size());
  return manual.substr(
      start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(TheConfigurationManual, DocumentsEveryKeyTheParserAccepts) {
  const std::string text = manual();
  for (const auto& key : configurationKeys()) {
    std::string section = sectionOf(text, key.section);
    ASSERT_FALSE(section.empty())
        << "no section [" << key.section << "] in upgrader.conf(5)";
    EXPECT_NE(section.find("\n*" + key.key + "="), std::string::npos)
        << "[" << key.section << "] " << key.key << "= is not documented";
  }
}

}  // namespace
}  // namespace upgrader
