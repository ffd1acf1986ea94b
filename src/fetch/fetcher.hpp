// Downloading: the network and file-system side effect of fetching a
// release, behind a small interface so the logic that decides what to fetch
// is tested with a fake, while CurlFetcher is tested against a real nginx.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/types.hpp"
#include "common/url.hpp"
#include "config/plan.hpp"

namespace upgrader {

/// Limits and trust for one fetch.
struct FetchOptions {
  /// The schemes the URL and every redirect may use.
  UrlSchemes allowedSchemes;
  /// Extra CA bundle for https; "" for the system store only.
  std::string caFile;
  Duration connectTimeout = std::chrono::seconds(10);
  /// A transfer slower than 1 KiB/s for this long is aborted (and retried).
  Duration lowSpeedTimeout = std::chrono::seconds(30);
  /// Attempts after the first one, for transient errors only.
  unsigned retries = 3;
  /// The whole fetch, every attempt and wait included, ends by then.
  Duration timeout = std::chrono::hours(1);
  /// The most bytes accepted, whatever the server announces.
  std::uint64_t maxSize = 1024ull * 1024 * 1024;
  /// Wait before the first retry; doubled for each further one, capped at
  /// 30 s.
  Duration retryBackoff = std::chrono::milliseconds(200);
};

/// The FetchOptions a [Source] section asks for.
FetchOptions fetchOptionsFrom(const SourceConfig& source);

/// Called with the bytes received so far and the expected total (0 if the
/// server did not say), at most about 10 times a second.
using ProgressFn =
    std::function<void(std::uint64_t received, std::uint64_t total)>;

/// A downloaded file, complete and fsynced, not yet verified.
struct FetchedFile {
  std::string path;
  /// SHA-256 of the bytes in `path`.
  Sha256Digest digest;
  std::uint64_t size = 0;
};

/// Fetches http, https and file URLs.
class Fetcher {
 public:
  virtual ~Fetcher() = default;

  /// Downloads `url` into a new file in `dir` (created with O_EXCL, mode
  /// 0600, named so that isPartialDownloadName() recognises it), hashing
  /// the bytes as they arrive, and fsyncs it. The caller verifies and
  /// renames it. On any failure the file is removed: nothing is left in
  /// `dir`.
  virtual Result<FetchedFile> fetchToFile(const std::string& url,
                                          const std::string& dir,
                                          const FetchOptions& options,
                                          const ProgressFn& progress) = 0;

  /// Fetches a small text resource (e.g. SHA256SUMS) into memory; error if
  /// it is larger than `maxBytes` (or options.maxSize). Leaves nothing
  /// behind.
  virtual Result<std::string> fetchText(const std::string& url,
                                        const FetchOptions& options,
                                        std::uint64_t maxBytes) = 0;
};

/// The real Fetcher, on libcurl. Only options.allowedSchemes are fetched;
/// redirects are followed (at most 5, never from https to http, never to
/// a file), TLS peers are always verified, transient failures
/// are retried with exponential backoff, resuming where the server allows
/// it. Errors read "Failed to fetch 'URL': cause". Safe to use from several
/// threads, one call per thread.
std::unique_ptr<Fetcher> makeCurlFetcher();

/// Whether `fileName` (no directory) is a download in progress as named by
/// fetchToFile(): ".<name>.XXXXXX.partial". Any such file in a download
/// directory when no upgrade runs is left from a crash and may be removed.
bool isPartialDownloadName(std::string_view fileName);

/// `fileName` as it appears in a partial download's name: characters other
/// than [A-Za-z0-9._+~-] replaced by '_', at most 200 of them.
std::string partialDownloadBaseName(std::string_view fileName);


}  // namespace upgrader
