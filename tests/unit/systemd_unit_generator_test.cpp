// upgrader-generator: which directories each instance may write, how they
// are written into a drop-in, and that a bad configuration costs only its
// own instance.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "common/file_util.hpp"
#include "support/temp_dir.hpp"
#include "systemd/unit_generator.hpp"

namespace upgrader {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::TempDir;

Plan binaryAt(const std::string& path) {
  Plan plan;
  plan.instance = InstanceName("demo");
  plan.configFile = "/etc/upgrader/demo.conf";
  plan.install.mode = InstallConfig::Mode::kBinary;
  plan.install.path = path;
  return plan;
}

TEST(WritablePaths, OfABinaryAreItsDirectory) {
  auto paths = writablePaths(binaryAt("/usr/bin/progressdb"));
  ASSERT_TRUE(paths) << paths.error().message();
  EXPECT_THAT(*paths, ElementsAre("/usr/bin"));
}

TEST(WritablePaths, AreLexicallyNormal) {
  auto paths = writablePaths(binaryAt("/opt//demo/./bin/../bin/demo"));
  ASSERT_TRUE(paths);
  EXPECT_THAT(*paths, ElementsAre("/opt/demo/bin"));
}

TEST(WritablePaths, OfASymlinkAreTheLinksDirectoryAndTheReleases) {
  Plan plan = binaryAt("/srv/app/current");
  plan.install.mode = InstallConfig::Mode::kSymlink;
  plan.install.releasesDirectory = "/var/opt/app/releases";
  auto paths = writablePaths(plan);
  ASSERT_TRUE(paths);
  EXPECT_THAT(*paths, ElementsAre("/srv/app", "/var/opt/app/releases"));
}

TEST(WritablePaths, LeaveOutADirectoryInsideAnother) {
  // One bind mount, not two: a rename from one to the other would cross
  // mount points (EXDEV).
  Plan plan = binaryAt("/opt/app/current");
  plan.install.mode = InstallConfig::Mode::kSymlink;
  plan.install.releasesDirectory = "/opt/app/releases/";
  auto paths = writablePaths(plan);
  ASSERT_TRUE(paths);
  EXPECT_THAT(*paths, ElementsAre("/opt/app"));
}

TEST(WritablePaths, OfAContainerAreNone) {
  Plan plan = binaryAt("");
  plan.install.mode = InstallConfig::Mode::kContainer;
  auto paths = writablePaths(plan);
  ASSERT_TRUE(paths);
  EXPECT_THAT(*paths, IsEmpty());
}

TEST(WritablePaths, OfAContainerWithItsOwnEnvironmentFileAreThatFilesDirectory) {
  Plan plan = binaryAt("");
  plan.install.mode = InstallConfig::Mode::kContainer;
  plan.container.environmentFile = "/etc/containers/app/image.env";
  auto paths = writablePaths(plan);
  ASSERT_TRUE(paths);
  EXPECT_THAT(*paths, ElementsAre("/etc/containers/app"));
}

TEST(WritablePaths, NeverAreTheWholeFileSystem) {
  auto paths = writablePaths(binaryAt("/progressdb"));
  ASSERT_FALSE(paths);
  EXPECT_THAT(paths.error().message(),
              HasSubstr("refusing to make all of '/' writable"));
}

TEST(UnitFileWord, QuotesAndEscapesWhatAUnitFileWouldReadOtherwise) {
  EXPECT_EQ(unitFileWord("/opt/demo/bin"), "\"-/opt/demo/bin\"");
  EXPECT_EQ(unitFileWord("/opt/my app/100%"), "\"-/opt/my app/100%%\"");
  EXPECT_EQ(unitFileWord("/a\"b\\c"), "\"-/a\\\"b\\\\c\"");
  EXPECT_EQ(unitFileWord("/new\nline/caf\xc3\xa9"),
            "\"-/new\\x0aline/caf\\xc3\\xa9\"");
  EXPECT_EQ(unitFileWord("/etc/upgrader/x.conf", false),
            "\"/etc/upgrader/x.conf\"");
}

TEST(PathsDropIn, GrantsEachPathAndNamesItsSource) {
  std::string text = pathsDropIn(binaryAt("/usr/bin/progressdb"), {"/usr/bin"});
  EXPECT_THAT(text, HasSubstr("\n[Service]\nReadWritePaths=\"-/usr/bin\"\n"));
  // Unquoted: systemd does not unquote SourcePath= (it would warn "path
  // is not absolute" on every run).
  EXPECT_THAT(text, HasSubstr("\n[Unit]\nSourcePath=/etc/upgrader/demo.conf\n"));
  EXPECT_THAT(text, HasSubstr("systemctl daemon-reload"));
}

TEST(EngineService, IsTheUsualSocketsServiceOfAContainersEngine) {
  Plan plan = binaryAt("");
  EXPECT_EQ(engineServiceFor(plan), "");
  plan.install.mode = InstallConfig::Mode::kContainer;
  EXPECT_EQ(engineServiceFor(plan), "podman.service");
  plan.container.engine = ContainerConfig::Engine::kDocker;
  EXPECT_EQ(engineServiceFor(plan), "docker.service");
  // Another socket: what serves it is not known, so nothing is started.
  plan.container.socket = "/run/user/1000/podman/podman.sock";
  EXPECT_EQ(engineServiceFor(plan), "");
  plan.container.socket.clear();
  plan.install.mode = InstallConfig::Mode::kCompose;
  EXPECT_EQ(engineServiceFor(plan), "");
}

TEST(EngineDropIn, WantsTheServiceWithoutWaitingForIt) {
  std::string text = engineDropIn(binaryAt(""), "podman.service");
  EXPECT_THAT(text, HasSubstr("\n[Unit]\nSourcePath=/etc/upgrader/demo.conf\n"
                              "Wants=podman.service\n"));
  // After= would put the engine's start before the upgrader's instead of
  // beside it.
  EXPECT_THAT(text, Not(HasSubstr("After=")));
}

TEST(SourcePathLine, IsThePathAsSystemdReadsItOrNothing) {
  EXPECT_EQ(sourcePathLine("/etc/upgrader/a.conf"), "SourcePath=/etc/upgrader/a.conf\n");
  EXPECT_EQ(sourcePathLine("/etc/upgrader/100%.conf"), "SourcePath=/etc/upgrader/100%%.conf\n");
  EXPECT_EQ(sourcePathLine("/etc/upgrader/my app.conf"), "");
  EXPECT_EQ(sourcePathLine("/etc/upgrader/new\nline.conf"), "");
  EXPECT_EQ(sourcePathLine("/etc/upgrader/\"q\".conf"), "");
  EXPECT_EQ(sourcePathLine("relative.conf"), "");
}

class AGeneratorRun : public ::testing::Test {
 protected:
  AGeneratorRun() { ::mkdir((dir_ / "out").c_str(), 0755); }
  void config(const std::string& name, const std::string& path) {
    std::ofstream(dir_ / ("etc/" + name))
        << "[Source]\nURL=https://example.com/app-@v\n"
           "ChecksumsURL=https://example.com/SHA256SUMS\n"
           "[Install]\nMode=binary\nPath="
        << path << "\n[Target]\nUnit=app.service\n[Trust]\nAllowUnsigned=yes\n";
  }
  std::string dropIn(const std::string& instance) {
    auto text = readFile(dir_ / ("out/upgrade@" + instance +
                                 ".service.d/50-upgrader-paths.conf"));
    return text ? *text : "";
  }
  void run() {
    generateUnits(dir_ / "etc", dir_ / "out",
                  [this](const std::string& m) { warnings_.push_back(m); });
  }

  TempDir dir_;
  std::vector<std::string> warnings_;
};

TEST_F(AGeneratorRun, WritesADropInPerInstanceAndSkipsOnlyTheBadOnes) {
  ::mkdir((dir_ / "etc").c_str(), 0755);
  config("a.conf", "/opt/a/bin/a");
  config("b.conf", "/b");  // everything: refused
  std::ofstream(dir_ / "etc/c.conf") << "[Install]\nMode=binary\n";
  config("bad name.conf", "/opt/x/x");
  ASSERT_EQ(
      ::symlink((dir_ / "etc/a.conf").c_str(), (dir_ / "etc/d.conf").c_str()),
      0);
  config("e.conf", "/opt/e/bin/e");
  run();
  EXPECT_THAT(dropIn("a"), HasSubstr("ReadWritePaths=\"-/opt/a/bin\"\n"));
  EXPECT_THAT(dropIn("e"), HasSubstr("ReadWritePaths=\"-/opt/e/bin\"\n"));
  EXPECT_EQ(dropIn("b"), "");
  EXPECT_EQ(dropIn("c"), "");
  EXPECT_EQ(dropIn("d"), "");
  ASSERT_EQ(warnings_.size(), 4u);
  EXPECT_THAT(
      warnings_[0],
      HasSubstr("/b.conf: upgrade@b.service gets no writable paths: refusing"));
  EXPECT_THAT(warnings_[1], HasSubstr("bad name.conf: upgrade@bad name.service "
                                      "gets no writable paths: instance name"));
  EXPECT_THAT(warnings_[2],
              HasSubstr("/c.conf: upgrade@c.service gets no writable paths: "));
  EXPECT_THAT(warnings_[3], HasSubstr("/d.conf: upgrade@d.service gets no "
                                      "writable paths: not a regular file"));
}

TEST_F(AGeneratorRun, StartsTheEngineAlongWithAContainerInstance) {
  ::mkdir((dir_ / "etc").c_str(), 0755);
  std::ofstream(dir_ / "etc/web.conf")
      << "[Install]\nMode=container\n[Container]\nEngine=podman\n"
         "Image=registry.example.com/web:@v\n[Target]\nUnit=web.service\n"
         "[Trust]\nAllowUnsigned=yes\n";
  config("a.conf", "/opt/a/bin/a");
  run();
  EXPECT_THAT(warnings_, IsEmpty());
  EXPECT_EQ(dropIn("web"), "");  // no writable paths
  auto engine = readFile(dir_ / "out/upgrade@web.service.d/50-upgrader-engine.conf");
  ASSERT_TRUE(engine);
  EXPECT_THAT(*engine, HasSubstr("Wants=podman.service\n"));
  EXPECT_FALSE(pathExists(dir_ / "out/upgrade@a.service.d/50-upgrader-engine.conf"));
}

TEST_F(AGeneratorRun, GivesTheFetchUnitTheSameDropInsAsTheUpgradeUnit) {
  ::mkdir((dir_ / "etc").c_str(), 0755);
  std::ofstream(dir_ / "etc/web.conf")
      << "[Install]\nMode=container\n[Container]\nEngine=podman\n"
         "Image=registry.example.com/web:@v\n[Target]\nUnit=web.service\n"
         "[Trust]\nAllowUnsigned=yes\n";
  config("a.conf", "/opt/a/bin/a");
  run();
  EXPECT_THAT(warnings_, IsEmpty());
  for (const char* file : {"a.service.d/50-upgrader-paths.conf",
                           "web.service.d/50-upgrader-engine.conf"}) {
    auto upgrade = readFile(dir_ / (std::string("out/upgrade@") + file));
    auto fetch = readFile(dir_ / (std::string("out/upgrade-fetch@") + file));
    ASSERT_TRUE(upgrade) << file;
    ASSERT_TRUE(fetch) << file;
    EXPECT_EQ(*fetch, *upgrade) << file;
  }
}

TEST_F(AGeneratorRun, NeverWritesThroughALinkPlantedInItsOutput) {
  ::mkdir((dir_ / "etc").c_str(), 0755);
  ::mkdir((dir_ / "elsewhere").c_str(), 0755);
  config("a.conf", "/opt/a/bin/a");
  ASSERT_EQ(::symlink((dir_ / "elsewhere").c_str(),
                      (dir_ / "out/upgrade@a.service.d").c_str()),
            0);
  run();
  EXPECT_FALSE(pathExists(dir_ / "elsewhere/50-upgrader-paths.conf"));
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_THAT(warnings_[0], HasSubstr("upgrade@a.service.d"));
}

TEST_F(AGeneratorRun,
       WithoutAConfigurationDirectoryWritesNothingAndSaysNothing) {
  run();
  EXPECT_THAT(warnings_, IsEmpty());
}

TEST(SystemError, OnAReadOnlyFileSystemSaysHowToMakeItWritable) {
  EXPECT_EQ(systemError("create a file in", "/opt/x", EROFS).message(),
            "Failed to create a file in '/opt/x': Read-only file system "
            "(upgrade@.service may write only the directories its "
            "configuration names: after adding or changing "
            "/etc/upgrader/NAME.conf, run 'systemctl daemon-reload')");
}

}  // namespace
}  // namespace upgrader
