// The compose env-file check against the real docker-compose: for every
// spelling of an assignment to DOCKER_HOST that the tool itself reads (its
// `config` interpolates ${DOCKER_HOST} from the env file, which shows what
// it read), the check refuses the file; and a file the check passes
// renders as the tool sees it. Needs /usr/bin/docker-compose, neither root
// nor an engine: `config` talks to none.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/file_util.hpp"
#include "compose/compose_tool.hpp"
#include "exec/command_runner.hpp"
#include "unit/support/temp_dir.hpp"

namespace upgrader {
namespace {

constexpr const char* kTool = "/usr/bin/docker-compose";

class TheComposeEnvCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!pathExists(kTool)) GTEST_SKIP() << kTool << " is not installed";
    std::ofstream(dir_ / "docker-compose.yml")
        << "services:\n  app:\n    image: \"probe:${DOCKER_HOST:-unset}\"\n";
  }

  // What the tool reads DOCKER_HOST as, from an env file holding `text`.
  std::string toolReads(const std::string& text) {
    EXPECT_TRUE(writeFileAtomically(dir_ / "probe.env", text));
    CommandLine line;
    line.argv = {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", kTool, "--ansi", "never",
                 "-p", "probe", "-f", dir_ / "docker-compose.yml", "--env-file",
                 dir_ / "probe.env", "config"};
    line.timeout = std::chrono::seconds(60);
    line.maxOutput = 64 * 1024;
    auto result = runner_->run(line);
    if (!result || result->exitStatus != 0) return "<the tool failed>";
    auto at = result->output.find("image: probe:");
    if (at == std::string::npos) return "<no image>";
    auto end = result->output.find('\n', at);
    return result->output.substr(at + 13, end - at - 13);
  }

  Status check(const std::string& text) {
    EXPECT_TRUE(writeFileAtomically(dir_ / "probe.env", text));
    return checkComposeEnvFile(dir_ / "probe.env", false);
  }

  testing::TempDir dir_;
  std::unique_ptr<CommandRunner> runner_ = makeProcessRunner();
};

TEST_F(TheComposeEnvCheck, RefusesEverySpellingTheToolReadsAsAnAssignment) {
  int readByTheTool = 0;
  for (std::string text :
       {"DOCKER_HOST=evil\n", "export DOCKER_HOST=evil\n", "'DOCKER_HOST'=evil\n",
        "DOCKER_HOST = evil\n", "  DOCKER_HOST=evil\n", "DOCKER_HOST=\"evil\"\n",
        "DOCKER_HOST=evil\r\n", "A=1\rDOCKER_HOST=evil\n", "export\tDOCKER_HOST=evil\n",
        "\xef\xbb\xbf" "DOCKER_HOST=evil\n", "DOCKER_HOST: evil\n"}) {
    std::string seen = toolReads(text);
    if (seen.find("evil") != std::string::npos) ++readByTheTool;
    EXPECT_FALSE(check(text)) << "the tool reads DOCKER_HOST as '" << seen
                              << "' from: " << text;
  }
  // The spellings that matter here are real: the tool reads most of them.
  EXPECT_GE(readByTheTool, 5);
}

TEST_F(TheComposeEnvCheck, PassesAFileTheToolReadsNoSteeringVariableFrom) {
  const std::string text = "# versions of the release\nAPP_VERSION=2\nDB_PASSWORD='x y'\n";
  EXPECT_EQ(toolReads(text), "unset");
  EXPECT_TRUE(check(text));
}

}  // namespace
}  // namespace upgrader
