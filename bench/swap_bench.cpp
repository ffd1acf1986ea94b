// swap_bench DIR [N]: the swap step of Mode=binary alone (link PATH to
// PATH.old + rename the staged file over PATH + directory fsync), timed over
// N swaps of distinct ~8 MiB releases through the real binary strategy.
// Acquiring and staging (a file:// download with a pinned checksum, fsync)
// is not timed. Prints {"swap_ms_p50", "swap_ms_p99",
// "swaps"} as JSON on stdout; exits 1 with a message on any error.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/file_util.hpp"
#include "fetch/sha256.hpp"
#include "fetch/fetcher.hpp"
#include "strategy/strategy.hpp"
#include "systemd/service_manager.hpp"

namespace {

using namespace upgrader;

constexpr std::size_t kReleaseSize = 8u * 1024 * 1024 + 4096 + 17;

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "swap_bench: %s\n", message.c_str());
  std::exit(1);
}

// Writes `content` to a new file at `path` (not fsynced: a release source).
void writeNew(const std::string& path, const std::vector<char>& content,
              mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) fail("open " + path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t w = ::write(fd, content.data() + done, content.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      int err = errno;
      ::close(fd);
      fail("write " + path + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(w);
  }
  if (::close(fd) != 0) fail("close " + path + ": " + std::strerror(errno));
}

Sha256Digest digestOf(const std::vector<char>& content) {
  Sha256 h;
  h.update(content.data(), content.size());
  return h.finish();
}

// Makes `content` a release no earlier iteration had.
void makeDistinct(std::vector<char>& content, std::uint64_t n) {
  std::memcpy(content.data(), &n, sizeof n);
}

double percentile(std::vector<double> sorted, double p) {
  std::sort(sorted.begin(), sorted.end());
  // Nearest rank.
  auto rank = static_cast<std::size_t>(
      std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

unsigned long parseCount(const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    fail(std::string("N must be a number, not '") + text + "'");
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: swap_bench DIR [N]  (N >= 100, default 200)\n");
    return 2;
  }
  std::string dir = std::filesystem::absolute(argv[1]).lexically_normal().string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  unsigned long swaps = argc == 3 ? parseCount(argv[2]) : 200;
  if (swaps < 100) fail("N must be at least 100 for a p99");

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("mkdir " + dir + ": " + ec.message());
  const std::string app = dir + "/app";
  for (const std::string& p : {app, app + ".old"}) {
    if (pathExists(p)) fail("'" + p + "' exists already; give an empty DIR");
  }

  std::vector<char> content(kReleaseSize);
  {
    std::mt19937_64 rng(std::random_device{}());
    for (std::size_t i = 0; i + 8 <= content.size(); i += 8) {
      std::uint64_t r = rng();
      std::memcpy(content.data() + i, &r, 8);
    }
  }
  makeDistinct(content, 1);
  writeNew(app, content, 0755);

  // Releases are published in DIR/src and fetched from there by file://.
  const std::string sourceDir = dir + "/src";
  std::filesystem::create_directories(sourceDir, ec);
  if (ec) fail("mkdir " + sourceDir + ": " + ec.message());
  Plan plan;
  plan.source.url = "file://" + sourceDir + "/app-@v";
  plan.source.allowedSchemes = {upgrader::UrlScheme::kFile};
  plan.source.pattern = "app-@v";
  plan.source.archive = SourceConfig::Archive::kNone;
  plan.install.mode = InstallConfig::Mode::kBinary;
  plan.install.path = app;
  auto fetcher = makeCurlFetcher();
  // The strategy reads plan.source at each resolve(): each iteration pins
  // the next version and its checksum there.
  std::unique_ptr<Strategy> strategy =
      std::move(*makeStrategy(plan, {*fetcher, dir + "/state"}));

  auto currentId = strategy->currentId();
  if (!currentId) fail(currentId.error().message());
  ReleaseRef from{"1", *currentId};

  std::vector<double> ms;
  ms.reserve(swaps);
  for (unsigned long i = 0; i < swaps; ++i) {
    std::uint64_t version = i + 2;
    makeDistinct(content, version);
    const std::string published = sourceDir + "/app-" + std::to_string(version);
    writeNew(published, content, 0644);
    plan.source.version = Version(std::to_string(version));
    plan.source.checksum = digestOf(content);

    if (auto offer = strategy->resolve(); !offer) fail(offer.error().message());
    auto staged = strategy->acquire({});
    if (!staged) fail("stage " + std::to_string(version) + ": " + staged.error().message());
    if (staged->release.id != plan.source.checksum->hex()) {
      fail("staged id differs from the digest");
    }
    if (auto st = removeIfExists(published); !st) fail(st.error().message());
    ReleaseRef to = staged->release;

    auto start = std::chrono::steady_clock::now();
    Status st = strategy->swap(from, to);
    auto end = std::chrono::steady_clock::now();
    if (!st) fail("swap to " + to.version + ": " + st.error().message());
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    from = to;
  }

  // Leave DIR as it was given.
  (void)strategy->discard(from, Discard::kLeftovers);
  for (const std::string& p : {app, app + ".old"}) {
    if (auto st = removeIfExists(p); !st) fail(st.error().message());
  }
  std::filesystem::remove(sourceDir, ec);

  std::printf("{\"swap_ms_p50\": %.3f, \"swap_ms_p99\": %.3f, \"swaps\": %lu}\n",
              percentile(ms, 50), percentile(ms, 99), swaps);
  return 0;
}
