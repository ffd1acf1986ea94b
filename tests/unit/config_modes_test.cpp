// The Mode= table: every mode has exactly one row, and each row says what
// the rest of the program asks of that mode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "config/modes.hpp"

namespace upgrader {
namespace {

using M = InstallConfig::Mode;

TEST(TheModeTable, HasOneRowPerModeWithItsOwnName) {
  std::set<M> modes;
  std::set<std::string_view> names;
  for (const auto& row : allModes()) {
    EXPECT_TRUE(modes.insert(row.mode).second) << row.name;
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    EXPECT_EQ(&modeInfo(row.mode), &row) << row.name;
  }
  EXPECT_EQ(modes, (std::set<M>{M::kBinary, M::kSymlink, M::kContainer, M::kCompose}));
}

TEST(TheModeTable, SaysWhichModesRunContainersAndWhichReleasesAreImages) {
  Plan plan;
  EXPECT_FALSE(modeInfo(M::kBinary).runsContainers);
  EXPECT_FALSE(modeInfo(M::kSymlink).imageReleases(plan));
  EXPECT_TRUE(modeInfo(M::kContainer).runsContainers);
  EXPECT_TRUE(modeInfo(M::kContainer).imageReleases(plan));
  EXPECT_TRUE(modeInfo(M::kCompose).runsContainers);
  plan.compose.variable = "APP_VERSION";
  EXPECT_TRUE(modeInfo(M::kCompose).imageReleases(plan));
  plan.compose.variable.clear();
  plan.install.releasesDirectory = "/srv/app/releases";
  EXPECT_FALSE(modeInfo(M::kCompose).imageReleases(plan));  // downloaded
}

TEST(TheModeTable, NamesTheDirectoriesEachModeWrites) {
  Plan plan;
  plan.install.path = "/opt/app/bin/app";
  EXPECT_THAT(modeInfo(M::kBinary).writable(plan), ::testing::ElementsAre("/opt/app/bin"));
  plan.install.path = "/opt/app/current";
  plan.install.releasesDirectory = "/opt/app/releases";
  EXPECT_THAT(modeInfo(M::kSymlink).writable(plan),
              ::testing::ElementsAre("/opt/app", "/opt/app/releases"));
  EXPECT_THAT(modeInfo(M::kContainer).writable(plan), ::testing::IsEmpty());
  plan.container.environmentFile = "/etc/app/image.env";
  EXPECT_THAT(modeInfo(M::kContainer).writable(plan), ::testing::ElementsAre("/etc/app"));
}

}  // namespace
}  // namespace upgrader
