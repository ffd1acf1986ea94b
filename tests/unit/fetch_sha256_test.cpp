#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "common/file_util.hpp"
#include "fetch/sha256.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using testing::TempDir;

// Reference values from `openssl dgst -sha256`.
constexpr char kEmpty[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kMiBOfZeros[] =
    "30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58";

TEST(Sha256, HashesNothingToTheEmptyDigest) {
  Sha256 hash;
  EXPECT_EQ(hash.finish().hex(), kEmpty);
}

TEST(Sha256, HashesAbcToTheKnownVector) {
  Sha256 hash;
  hash.update("abc", 3);
  EXPECT_EQ(hash.finish().hex(), kAbc);
}

TEST(Sha256, GivesTheSameDigestWhateverTheChunking) {
  std::vector<char> zeros(1024 * 1024, 0);
  Sha256 hash;
  std::size_t chunk = 1;
  for (std::size_t done = 0; done < zeros.size(); chunk = chunk * 3 + 1) {
    std::size_t n = std::min(chunk, zeros.size() - done);
    hash.update(zeros.data() + done, n);
    done += n;
  }
  EXPECT_EQ(hash.finish().hex(), kMiBOfZeros);
}

TEST(Sha256, StartsOverAfterFinishAndReset) {
  Sha256 hash;
  hash.update("abc", 3);
  EXPECT_EQ(hash.finish().hex(), kAbc);
  EXPECT_EQ(hash.finish().hex(), kEmpty);
  hash.update("xyz", 3);
  hash.reset();
  hash.update("abc", 3);
  EXPECT_EQ(hash.finish().hex(), kAbc);
}

TEST(Sha256, KeepsItsStateWhenMoved) {
  Sha256 a;
  a.update("ab", 2);
  Sha256 b(std::move(a));
  b.update("c", 1);
  Sha256 c;
  c = std::move(b);
  EXPECT_EQ(c.finish().hex(), kAbc);
}

TEST(Sha256OfFile, HashesAMebibyteOfZeros) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "zeros", std::string(1 << 20, '\0')));
  auto digest = sha256OfFile(dir / "zeros");
  ASSERT_TRUE(digest) << digest.error().message();
  EXPECT_EQ(digest->hex(), kMiBOfZeros);
}

TEST(Sha256OfFile, FailsNamingAMissingFile) {
  TempDir dir;
  auto digest = sha256OfFile(dir / "missing");
  ASSERT_FALSE(digest);
  EXPECT_NE(digest.error().message().find(dir / "missing"), std::string::npos);
  EXPECT_NE(digest.error().message().find("No such file or directory"),
            std::string::npos);
}

TEST(Sha256OfFile, RefusesAFifoAndADeviceInsteadOfHanging) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_FALSE(sha256OfFile(dir / "fifo"));
  auto zero = sha256OfFile("/dev/zero");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message(), "'/dev/zero' is not a regular file");
}

}  // namespace
}  // namespace upgrader
