#include "upgrade/instance_lock.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include "common/file_util.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using testing::TempDir;

TEST(InstanceLock, ASecondHolderIsToldItIsAlreadyRunning) {
  TempDir dir;
  auto first = InstanceLock::acquire(dir.path(), "demo");
  ASSERT_TRUE(first);
  // flock conflicts between open file descriptions, even in one process.
  auto second = InstanceLock::acquire(dir.path(), "demo");
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("already running"),
            std::string::npos);
  EXPECT_NE(second.error().message().find(std::to_string(::getpid())),
            std::string::npos);
}

TEST(InstanceLock, DifferentInstancesDoNotConflict) {
  TempDir dir;
  auto a = InstanceLock::acquire(dir.path(), "a");
  auto b = InstanceLock::acquire(dir.path(), "b");
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
}

TEST(InstanceLock, IsReleasedWhenTheHolderGoesAway) {
  TempDir dir;
  { auto first = InstanceLock::acquire(dir.path(), "demo"); ASSERT_TRUE(first); }
  EXPECT_TRUE(InstanceLock::acquire(dir.path(), "demo"));
}

TEST(InstanceLock, NeverFollowsASymlinkPlantedAsTheLockFile) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "precious", "keep me"));
  ASSERT_EQ(::symlink((dir / "precious").c_str(), (dir / "demo.lock").c_str()), 0);
  auto lock = InstanceLock::acquire(dir.path(), "demo");
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().message().find("demo.lock"), std::string::npos);
  EXPECT_EQ(*readFile(dir / "precious"), "keep me");  // not truncated
}

TEST(InstanceLock, RefusesALockPathThatIsNotAFile) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "demo.lock").c_str(), 0600), 0);
  auto lock = InstanceLock::acquire(dir.path(), "demo");
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().message().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace upgrader
