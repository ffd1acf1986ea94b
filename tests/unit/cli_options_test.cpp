#include "cli/options.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace upgrader {
namespace {

Result<Options> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "upgrader");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parseOptions(static_cast<int>(args.size()), argv.data());
}

TEST(ParseOptions, ReadsACommandWithItsInstanceAndFlags) {
  auto o = parse({"--json", "--config", "/x.conf", "apply", "--dry-run", "demo"});
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->command, Command::kApply);
  EXPECT_EQ(o->instance, "demo");
  EXPECT_EQ(o->configFile, "/x.conf");
  EXPECT_TRUE(o->json);
  EXPECT_TRUE(o->dryRun);
}

TEST(ParseOptions, UnquarantineTakesAnOptionalVersion) {
  auto o = parse({"unquarantine", "demo", "3"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->argument, "3");
  EXPECT_TRUE(parse({"unquarantine", "demo"}));
}

TEST(ParseOptions, ListNeedsNoInstance) {
  auto o = parse({"list"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::kList);
}

TEST(ParseOptions, RejectsAnUnknownCommandByName) {
  auto o = parse({"upgrade", "demo"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message().find("'upgrade'"), std::string::npos);
}

TEST(ParseOptions, RejectsAnUnknownOption) {
  auto o = parse({"--frobnicate", "apply", "demo"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message().find("--frobnicate"), std::string::npos);
}

TEST(ParseOptions, RejectsAMissingInstance) {
  auto o = parse({"apply"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message().find("NAME"), std::string::npos);
}

TEST(ParseOptions, RejectsExtraArguments) {
  EXPECT_FALSE(parse({"status", "a", "b"}));
  EXPECT_FALSE(parse({"list", "a"}));
}

TEST(ParseOptions, RejectsDryRunOutsideApply) {
  EXPECT_FALSE(parse({"--dry-run", "rollback", "demo"}));
}

TEST(ParseOptions, HelpAndVersionNeedNoCommand) {
  EXPECT_EQ(parse({"--help"})->command, Command::kHelp);
  EXPECT_EQ(parse({"--version"})->command, Command::kVersion);
}

}  // namespace
}  // namespace upgrader
