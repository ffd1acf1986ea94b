// What `docker-compose config` renders to, read as hostile YAML, and the
// env files a compose release may bring.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/file_util.hpp"
#include "compose/compose_tool.hpp"
#include "support/temp_dir.hpp"
#include "support/transaction_fakes.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;
using testing::FakeCommands;
using testing::TempDir;

TEST(ParseRenderedConfig, ListsEveryServiceWithItsImageInNameOrder) {
  auto model = parseRenderedConfig(
      "services:\n"
      "  web:\n"
      "    image: 127.0.0.1:5000/svc:1\n"
      "    command:\n    - --port\n    - '8080'\n"
      "  db:\n"
      "    image: postgres:16@sha256:" + std::string(64, 'a') + "\n"
      "version: '3.7'\n"
      "volumes:\n  data: {}\n",
      "p");
  ASSERT_TRUE(model) << model.error().message();
  ASSERT_EQ(model->services.size(), 2u);
  EXPECT_EQ(model->services[0].name, "db");
  EXPECT_EQ(model->services[0].image,
            "postgres:16@sha256:" + std::string(64, 'a'));
  EXPECT_EQ(model->services[1].name, "web");
  EXPECT_EQ(model->services[1].image, "127.0.0.1:5000/svc:1");
}

TEST(ParseRenderedConfig, RefusesAServiceThatComposeWouldBuild) {
  auto model = parseRenderedConfig(
      "services:\n  web:\n    build: .\n", "rendering 'x'");
  ASSERT_FALSE(model);
  EXPECT_THAT(model.error().message(),
              HasSubstr("rendering 'x': service 'web' names no image"));
}

TEST(ParseRenderedConfig, RefusesWhatIsNotAConfigurationOfImages) {
  for (const char* text :
       {"", "[1, 2]", "services: [a]", "services:\n  web: 3\n",
        "services:\n  web:\n    image: [a]\n", "{{{{", "services: {}\n",
        "services:\n  web:\n    image: 'no spaces:1'\n",
        "services:\n  web:\n    image: untagged\n",
        "services:\n  \"a\\x1b[31m\":\n    image: x:1\n"}) {
    auto model = parseRenderedConfig(text, "p");
    EXPECT_FALSE(model) << text;
  }
}

TEST(ParseRenderedConfig, FollowsAnchorsAsComposeWrites) {
  auto model = parseRenderedConfig(
      "services:\n"
      "  a: &s\n    image: x/y:2\n"
      "  b: *s\n",
      "p");
  ASSERT_TRUE(model) << model.error().message();
  ASSERT_EQ(model->services.size(), 2u);
  EXPECT_EQ(model->services[1].image, "x/y:2");
}

TEST(ParseRenderedConfig, SurvivesDeepNesting) {
  std::string deep(100000, '[');
  EXPECT_FALSE(parseRenderedConfig("services: " + deep, "p"));
}

TEST(ComposeEnvFile, RefusesVariablesThatSteerComposeItselfHoweverSpelt) {
  TempDir dir;
  const std::string path = dir / ".env";
  // Every spelling python-dotenv (compose 1.29) or compose-go (v2) reads
  // as an assignment, and some they read as nothing: all refused.
  for (std::string line : {"DOCKER_HOST=unix:///evil.sock",
                           "export COMPOSE_PROJECT_NAME=other",
                           "  COMPOSE_FILE=/etc/x.yml",
                           "'DOCKER_HOST'=tcp://10.0.0.1:2375",
                           "\"DOCKER_HOST\"=tcp://10.0.0.1:2375",
                           "export\tDOCKER_HOST = tcp://x",
                           "DOCKER_HOST: tcp://x",
                           "DOCKER_CONTEXT=evil\r",
                           "X=1\rDOCKER_HOST=tcp://x",
                           "\xef\xbb\xbf" "DOCKER_HOST=tcp://x",
                           "# DOCKER_HOST=x is set by the unit"}) {
    ASSERT_TRUE(writeFileAtomically(path, "A=1\n" + line + "\n"));
    auto st = checkComposeEnvFile(path, false);
    ASSERT_FALSE(st) << line;
    EXPECT_THAT(st.error().message(), HasSubstr("'" + path + "' line 2"));
    EXPECT_THAT(st.error().message(), ::testing::ContainsRegex("'(DOCKER|COMPOSE)_[A-Z_]+'"));
  }
  ASSERT_TRUE(writeFileAtomically(path, std::string("A=1\nB=x\0DOCKER_HOST=y\n", 22)));
  EXPECT_FALSE(checkComposeEnvFile(path, false));
  ASSERT_TRUE(writeFileAtomically(path, "# the release's versions\nVERSION=1\nDB_PASSWORD=x\n"));
  EXPECT_TRUE(checkComposeEnvFile(path, false));
}

TEST(ComposeEnvFile, AMissingOptionalFileIsFine) {
  TempDir dir;
  EXPECT_TRUE(checkComposeEnvFile(dir / ".env", true));
  EXPECT_FALSE(checkComposeEnvFile(dir / ".env", false));
}

TEST(TheComposeTool, RendersWithAnEmptyEnvironmentAndAbsolutePaths) {
  FakeCommands runner;
  runner.answer = {0, "services:\n  web:\n    image: r/x:2\n", ""};
  auto tool = makeComposeTool(runner, "/usr/bin/docker-compose",
                              "unix:///run/docker.sock");
  auto model = tool->render({"app", "/srv/app/dc.yml", "/srv/app/.env.staged"});
  ASSERT_TRUE(model) << model.error().message();
  ASSERT_EQ(runner.commands.size(), 1u);
  EXPECT_EQ(describeArgv(runner.commands[0].argv),
            "/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "
            "DOCKER_HOST=unix:///run/docker.sock /usr/bin/docker-compose "
            "--ansi never -p app -f /srv/app/dc.yml --env-file "
            "/srv/app/.env.staged config");
  EXPECT_TRUE(runner.commands[0].env.empty());
  EXPECT_EQ(runner.commands[0].maxOutput, 1024u * 1024u);
}

TEST(TheComposeTool, SaysWhichProjectFailedToRenderAndWhy) {
  FakeCommands runner;
  runner.answer = {1, "", "ERROR: Missing mandatory value for \"image\""};
  auto tool = makeComposeTool(runner, "/usr/bin/docker-compose", "unix:///x");
  auto model = tool->render({"app", "/srv/app/dc.yml", ""});
  ASSERT_FALSE(model);
  EXPECT_THAT(model.error().message(),
              HasSubstr("rendering the compose project 'app' from "
                        "'/srv/app/dc.yml': /usr/bin/docker-compose exited "
                        "with status 1: ERROR: Missing mandatory value"));
  runner.answer = {0, "services:\n  web:\n    image: r/x:1\n",
                   "WARNING: The V variable is not set. Defaulting to a blank "
                   "string.\n"};
  model = tool->render({"app", "/srv/app/dc.yml", ""});
  ASSERT_FALSE(model);
  EXPECT_THAT(model.error().message(), HasSubstr("The V variable is not set"));
}

TEST(ComposeInvocationFor, PassesTheEnvFileOrTheReleaseDirectory) {
  Plan plan;
  plan.compose.project = "nc";
  plan.compose.file = "/srv/nc/docker-compose.yml";
  plan.compose.variable = "V";
  auto in = composeInvocation(plan, "/srv/nc/.release.env.staged");
  EXPECT_EQ(in.file, "/srv/nc/docker-compose.yml");
  EXPECT_EQ(in.envFile, "/srv/nc/.release.env.staged");
  plan.compose.variable.clear();
  plan.compose.file = "docker-compose.yml";
  in = composeInvocation(plan, "/srv/cvat/releases/2.0");
  EXPECT_EQ(in.file, "/srv/cvat/releases/2.0/docker-compose.yml");
  EXPECT_EQ(in.envFile, "");
  EXPECT_EQ(in.project, "nc");
}

}  // namespace
}  // namespace upgrader
