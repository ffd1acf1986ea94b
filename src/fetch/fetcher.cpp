#include "fetch/fetcher.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <system_error>
#include <cerrno>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/duration_text.hpp"
#include "common/file_util.hpp"
#include "fetch/curl_handle.hpp"
#include "fetch/sha256.hpp"

// libcurl < 7.87 has no name for "abort the transfer" from a write callback;
// any value other than the byte count does it.
#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

namespace upgrader {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kPartialSuffix = ".partial";
constexpr std::size_t kRandomChars = 6;  // mkostemps' XXXXXX
constexpr long kMaxRedirects = 5;
constexpr long kLowSpeedBytesPerSecond = 1024;
constexpr long kBufferSize = 128 * 1024;
// How much is written before its writeback is started (sync_file_range).
constexpr std::uint64_t kWritebackChunk = 8 * 1024 * 1024;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
// How early libcurl may end a transfer before the timeout it was given.
constexpr auto kCurlClockSlack = std::chrono::milliseconds(10);

bool isAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

// Where the bytes of a transfer go. A retry asks it how much it already
// holds, to resume after that, or clears it to start over.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::uint64_t size() const = 0;
  virtual Status append(const char* data, std::size_t n) = 0;
  virtual Status clear() = 0;
  virtual bool resumable() const = 0;
};

// SHA-256 on a second thread. The receiving thread only copies each chunk
// into a small pool of buffers; hashing (about as costly as receiving and
// writing together on loopback) then runs beside the network and the disk
// instead of after every chunk. A bounded pool keeps memory flat whatever
// the release's size. Without a thread it hashes inline.
class BackgroundHasher {
 public:
  BackgroundHasher() {
    for (auto& b : buffers_) free_.push_back(&b);
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {
      inline_ = true;
    }
  }
  ~BackgroundHasher() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  BackgroundHasher(const BackgroundHasher&) = delete;
  BackgroundHasher& operator=(const BackgroundHasher&) = delete;

  void update(const char* data, std::size_t n) {
    if (inline_) return hash_.update(data, n);
    while (n > 0) {
      if (filling_ == nullptr) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !free_.empty(); });
        filling_ = free_.back();
        free_.pop_back();
        filling_->size = 0;
      }
      std::size_t take = std::min(n, kChunk - filling_->size);
      std::memcpy(filling_->data.data() + filling_->size, data, take);
      filling_->size += take;
      data += take;
      n -= take;
      if (filling_->size == kChunk) submit();
    }
  }

  /// The digest of everything passed to update() since the last finish()
  /// or reset().
  Sha256Digest finish() {
    drain();
    return hash_.finish();
  }

  void reset() {
    drain();
    hash_.reset();
  }

 private:
  static constexpr std::size_t kChunk = 128 * 1024;
  struct Buffer {
    std::array<char, kChunk> data;
    std::size_t size = 0;
  };

  void submit() {
    {
      std::lock_guard lock(mutex_);
      ready_.push_back(filling_);
    }
    filling_ = nullptr;
    changed_.notify_all();
  }

  // Waits until the worker has hashed everything submitted.
  void drain() {
    if (inline_) return;
    if (filling_ != nullptr) submit();
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return ready_.empty() && !busy_; });
  }

  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stop_ || !ready_.empty(); });
      if (ready_.empty()) return;  // stop_
      Buffer* b = ready_.front();
      ready_.pop_front();
      busy_ = true;
      lock.unlock();
      hash_.update(b->data.data(), b->size);
      lock.lock();
      busy_ = false;
      free_.push_back(b);
      changed_.notify_all();
    }
  }

  std::array<Buffer, 4> buffers_;
  Buffer* filling_ = nullptr;  ///< owned by the caller's thread
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Buffer*> free_;
  std::deque<Buffer*> ready_;
  bool busy_ = false;
  bool stop_ = false;
  bool inline_ = false;
  Sha256 hash_;  ///< touched by the worker only, except when drained
  std::thread thread_;
};

// A temp file and the hash of exactly the bytes in it: every append goes to
// both, every clear() resets both, so the digest never needs a second read.
class FileSink : public Sink {
 public:
  FileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  std::uint64_t size() const override { return size_; }

  Status append(const char* data, std::size_t n) override {
    std::size_t done = 0;
    while (done < n) {
      ssize_t w = ::write(fd_, data + done, n - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        return systemError("write", path_, errno);
      }
      done += static_cast<std::size_t>(w);
    }
    hash_.update(data, n);
    size_ += n;
    // Start writing back what has arrived, without waiting for it: the
    // disk works while the network and the hash do, so the final fsync
    // finds little left to flush (and dirty memory stays bounded). Only a
    // hint; the fsync before the rename is what makes the file durable.
    if (size_ - flushed_ >= kWritebackChunk) {
      (void)::sync_file_range(fd_, static_cast<off_t>(flushed_),
                              static_cast<off_t>(size_ - flushed_),
                              SYNC_FILE_RANGE_WRITE);
      flushed_ = size_;
    }
    return okStatus();
  }

  Status clear() override {
    if (::ftruncate(fd_, 0) < 0) return systemError("truncate", path_, errno);
    if (::lseek(fd_, 0, SEEK_SET) < 0) return systemError("seek", path_, errno);
    hash_.reset();
    size_ = 0;
    flushed_ = 0;
    return okStatus();
  }

  bool resumable() const override { return true; }

  Sha256Digest digest() { return hash_.finish(); }

 private:
  int fd_;
  std::string path_;
  BackgroundHasher hash_;
  std::uint64_t size_ = 0;
  std::uint64_t flushed_ = 0;  ///< bytes handed to writeback so far
};

// A small resource in memory; always refetched whole, it is not worth a
// Range request.
class StringSink : public Sink {
 public:
  std::uint64_t size() const override { return text_.size(); }
  Status append(const char* data, std::size_t n) override {
    text_.append(data, n);
    return okStatus();
  }
  Status clear() override {
    text_.clear();
    return okStatus();
  }
  bool resumable() const override { return false; }
  std::string& text() { return text_; }

 private:
  std::string text_;
};

// State shared with the C callbacks of one curl_easy_perform(). The
// callbacks must not throw through libcurl, so they record what went wrong
// here and abort the transfer.
struct Transfer {
  CURL* curl = nullptr;
  Sink* sink = nullptr;
  std::uint64_t limit = 0;
  const ProgressFn* progress = nullptr;
  // Per attempt:
  std::uint64_t resumedFrom = 0;
  bool mustSeePartialContent = false;
  bool limitExceeded = false;
  bool rangeIgnored = false;
  std::optional<Error> sinkError;
  SteadyClock::time_point lastProgress{};
};

size_t onData(char* data, size_t size, size_t nmemb, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  std::size_t n = size * nmemb;
  try {
    if (t.mustSeePartialContent) {
      t.mustSeePartialContent = false;
      // Bytes are only a continuation of the file if the server honoured
      // the Range request; anything else (a full 200, a 416 error page)
      // would be spliced onto the wrong offset.
      long code = 0;
      curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &code);
      if (code != 206) {
        t.rangeIgnored = true;
        return CURL_WRITEFUNC_ERROR;
      }
    }
    // Servers need not send Content-Length (and may lie), so the limit is
    // enforced on the bytes themselves, before they reach the disk.
    if (n > t.limit - std::min(t.limit, t.sink->size())) {
      t.limitExceeded = true;
      return CURL_WRITEFUNC_ERROR;
    }
    if (Status s = t.sink->append(data, n); !s) {
      t.sinkError = s.error();
      return CURL_WRITEFUNC_ERROR;
    }
    return n;
  } catch (const std::exception& e) {
    t.sinkError = Error(e.what());
    return CURL_WRITEFUNC_ERROR;
  }
}

int onProgress(void* user, curl_off_t dlTotal, curl_off_t, curl_off_t,
               curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  if (t.progress == nullptr || !*t.progress) return 0;
  auto now = SteadyClock::now();
  if (now - t.lastProgress < kProgressInterval) return 0;
  t.lastProgress = now;
  std::uint64_t total =
      dlTotal > 0 ? t.resumedFrom + static_cast<std::uint64_t>(dlTotal) : 0;
  try {
    (*t.progress)(t.sink->size(), total);
  } catch (const std::exception& e) {
    t.sinkError = Error(std::string("progress report failed: ") + e.what());
    return 1;
  }
  return 0;
}

// Everything here is part of the security of an upgrade, so a libcurl that
// refuses any of it (too old, built without a feature) fails the fetch
// instead of running with weaker settings.
// libcurl's list form of `schemes`: "https,http,file".
std::string curlProtocols(const UrlSchemes& schemes) {
  std::string list = schemes.names();
  std::replace(list.begin(), list.end(), ' ', ',');
  return list;
}

CURLcode configure(CURL* c, const std::string& url, UrlScheme scheme,
                   const FetchOptions& options, Transfer& t,
                   char* errorBuffer) {
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(c, option, value);
  };
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_ERRORBUFFER, errorBuffer);
  set(CURLOPT_NOSIGNAL, 1L);
  const std::string protocols = curlProtocols(options.allowedSchemes);
  set(CURLOPT_PROTOCOLS_STR, protocols.c_str());
  // A redirect may upgrade http to https but never downgrade https: the
  // first URL's scheme is what the administrator chose to trust. Never to
  // a file either: a server must not make root read a local path. And only
  // to what the source allows.
  UrlSchemes redirectable =
      scheme == UrlScheme::kHttp
          ? UrlSchemes{UrlScheme::kHttp, UrlScheme::kHttps}
          : UrlSchemes{UrlScheme::kHttps};
  std::string redirectProtocols;
  for (UrlScheme s : {UrlScheme::kHttps, UrlScheme::kHttp}) {
    if (!redirectable.allows(s) || !options.allowedSchemes.allows(s)) continue;
    if (!redirectProtocols.empty()) redirectProtocols += ',';
    redirectProtocols += urlSchemeName(s);
  }
  bool follow = scheme != UrlScheme::kFile && !redirectProtocols.empty();
  if (follow) set(CURLOPT_REDIR_PROTOCOLS_STR, redirectProtocols.c_str());
  set(CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  set(CURLOPT_MAXREDIRS, kMaxRedirects);
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  // CAINFO replaces libcurl's default bundle file; the default CA *path*
  // (on Debian /etc/ssl/certs) stays in use, which makes CAFile= an extra
  // CA rather than the only one.
  if (!options.caFile.empty()) set(CURLOPT_CAINFO, options.caFile.c_str());
  auto connectMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                       options.connectTimeout)
                       .count();
  if (connectMs > 0)
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connectMs));
  auto lowSpeedSeconds =
      std::chrono::ceil<std::chrono::seconds>(options.lowSpeedTimeout).count();
  if (lowSpeedSeconds > 0) {
    set(CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
    set(CURLOPT_LOW_SPEED_TIME, static_cast<long>(lowSpeedSeconds));
  }
  set(CURLOPT_FAILONERROR, 1L);
  // Rejects an announced oversize body before any byte arrives; onData()
  // covers servers that announce nothing.
  set(CURLOPT_MAXFILESIZE_LARGE,
      static_cast<curl_off_t>(std::min<std::uint64_t>(
          t.limit, static_cast<std::uint64_t>(INT64_MAX))));
  set(CURLOPT_BUFFERSIZE, kBufferSize);
  // No CURLOPT_ACCEPT_ENCODING: the digest is of the bytes as published,
  // so libcurl must not decode a Content-Encoding on the way.
  set(CURLOPT_WRITEFUNCTION, &onData);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  set(CURLOPT_NOPROGRESS, 0L);
  set(CURLOPT_XFERINFOFUNCTION, &onProgress);
  set(CURLOPT_XFERINFODATA, static_cast<void*>(&t));
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_USERAGENT, "upgrader/" UPGRADER_VERSION);
  return rc;
}

// Worth another attempt: the network or the server may do better in a
// moment. A 404, a certificate that does not verify or a file that is too
// big will not.
bool isTransient(CURLcode rc, long httpStatus) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    case CURLE_HTTP_RETURNED_ERROR:
      return httpStatus >= 500 || httpStatus == 429;
    default:
      return false;
  }
}

std::string describe(CURLcode rc, long httpStatus, const char* errorBuffer) {
  if (rc == CURLE_HTTP_RETURNED_ERROR && httpStatus > 0) {
    return "HTTP " + std::to_string(httpStatus);
  }
  std::string text = curl_easy_strerror(rc);
  if (errorBuffer[0] != '\0' && text != errorBuffer) {
    std::string detail = errorBuffer;
    while (!detail.empty() && detail.back() == '\n') detail.pop_back();
    text += " (" + detail + ")";
  }
  return text;
}

// A file:// source must be a regular file: a FIFO would block the read (and
// the instance lock) forever, a device like /dev/zero never ends.
Status checkFileSource(const std::string& url) {
  std::string encoded = url.substr(std::string_view("file://").size());
  encoded = encoded.substr(0, encoded.find_first_of("?#"));
  int length = 0;
  char* decoded = curl_easy_unescape(nullptr, encoded.c_str(),
                                     static_cast<int>(encoded.size()), &length);
  if (decoded == nullptr) return Error("cannot decode the file URL");
  std::string path(decoded, static_cast<std::size_t>(length));
  curl_free(decoded);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return Error("'" + path + "' is not a regular file");
  }
  return okStatus();  // a missing file is libcurl's to report
}

SteadyClock::duration backoff(Duration first, unsigned retry) {
  auto wait = first * (1ull << std::min(retry, 16u));
  return std::min<SteadyClock::duration>(wait, kMaxBackoff);
}

// Runs the transfer, retrying transient failures. Returns the cause of the
// last failure (the caller names the URL).
Status perform(const std::string& url, const FetchOptions& options, Sink& sink,
               std::uint64_t limit, const std::string& limitMessage,
               const ProgressFn* progress) {
  auto scheme = urlSchemeOf(url);
  if (!scheme || !options.allowedSchemes.allows(*scheme)) {
    return Error("the URL's scheme is not allowed here (allowed: " +
                 options.allowedSchemes.names() + ")");
  }
  if (*scheme == UrlScheme::kFile) {
    if (Status st = checkFileSource(url); !st) return st;
  }
  CurlHandle curl(curl_easy_init());
  if (!curl) return Error("could not create a libcurl handle");
  char errorBuffer[CURL_ERROR_SIZE] = {};
  Transfer t;
  t.curl = curl.get();
  t.sink = &sink;
  t.limit = limit;
  t.progress = progress;
  if (CURLcode rc =
          configure(curl.get(), url, *scheme, options, t, errorBuffer);
      rc != CURLE_OK) {
    return Error(std::string("libcurl refused a required option: ") +
                 curl_easy_strerror(rc));
  }

  // One deadline for every attempt and every wait between them: the
  // low-speed limit alone lets a server that drips just enough bytes hold
  // the run, and the instance lock, for days.
  const SteadyTime deadline = saturatingAdd(SteadyClock::now(), options.timeout);
  auto overdue = [&](const std::string& lastCause) {
    std::string text = "not done within " + durationText(options.timeout) +
                       " (DownloadTimeoutSec=)";
    if (!lastCause.empty()) text += "; last error: " + lastCause;
    return Error(text);
  };
  std::string lastCause;
  for (unsigned attempt = 0;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - SteadyClock::now());
    if (left.count() <= 0) return overdue(lastCause);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::min<std::int64_t>(
                         left.count(), std::numeric_limits<long>::max())));
    errorBuffer[0] = '\0';
    t.resumedFrom = sink.size();
    // file:// resumes by seeking and has no status to check.
    t.mustSeePartialContent =
        t.resumedFrom > 0 && *scheme != UrlScheme::kFile;
    t.limitExceeded = false;
    t.rangeIgnored = false;
    t.sinkError.reset();
    curl_easy_setopt(curl.get(), CURLOPT_RESUME_FROM_LARGE,
                     static_cast<curl_off_t>(t.resumedFrom));
    CURLcode rc = curl_easy_perform(curl.get());
    if (rc == CURLE_OK) return okStatus();
    if (t.limitExceeded || rc == CURLE_FILESIZE_EXCEEDED) {
      return Error(limitMessage);
    }
    if (t.sinkError) return *t.sinkError;
    if (t.resumedFrom > 0 && (t.rangeIgnored || rc == CURLE_RANGE_ERROR)) {
      // The server will not continue where we stopped: start over at byte
      // 0 right away. Not a new attempt, since nothing failed this time;
      // it cannot loop, as a transfer from byte 0 asks for no range.
      if (Status s = sink.clear(); !s) return s;
      continue;
    }
    long httpStatus = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &httpStatus);
    std::string cause = describe(rc, httpStatus, errorBuffer);
    // The attempt was given exactly the time left, and libcurl, counting
    // elapsed time in truncated milliseconds, can end it up to one
    // millisecond early: a timeout that close is the deadline's, and says
    // so (DownloadTimeoutSec=), retries or not.
    if (rc == CURLE_OPERATION_TIMEDOUT &&
        SteadyClock::now() + kCurlClockSlack >= deadline) {
      return overdue(cause);
    }
    if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
      // The URL itself was checked above, so a redirect led here.
      char* last = nullptr;
      curl_easy_getinfo(curl.get(), CURLINFO_EFFECTIVE_URL, &last);
      if (last != nullptr && url != last) {
        cause = "refusing the redirect to '" + std::string(last) + "' (" +
                cause + ")";
      }
    }
    if (!isTransient(rc, httpStatus) || attempt >= options.retries) {
      if (attempt > 0) {
        cause += ", after " + std::to_string(attempt + 1) + " attempts";
      }
      return Error(cause);
    }
    lastCause = cause;
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(
        backoff(options.retryBackoff, attempt),
        std::max<SteadyClock::duration>(deadline - SteadyClock::now(), {})));
    ++attempt;
    if (!sink.resumable()) {
      if (Status s = sink.clear(); !s) return s;
    }
  }
}

// Keeps the temp name readable (it shows which download it was) but free of
// anything the file system or a glob could misread.
std::string partialBaseName(const std::string& url) {
  std::string base = partialDownloadBaseName(fileNameOfUrl(url));
  return base.empty() ? "download" : base;
}

class CurlFetcher : public Fetcher {
 public:
  explicit CurlFetcher(CURLcode initResult) : initResult_(initResult) {}

  Result<FetchedFile> fetchToFile(const std::string& url,
                                  const std::string& dir,
                                  const FetchOptions& options,
                                  const ProgressFn& progress) override {
    const std::string context = "Failed to fetch '" + url + "'";
    if (initResult_ != CURLE_OK) return initError().withContext(context);
    std::string name = dir + "/." + partialBaseName(url) + "." +
                       std::string(kRandomChars, 'X') +
                       std::string(kPartialSuffix);
    std::vector<char> path(name.begin(), name.end());
    path.push_back('\0');
    int fd = ::mkostemps(path.data(), static_cast<int>(kPartialSuffix.size()),
                         O_CLOEXEC);
    if (fd < 0) {
      return systemError("create a file in", dir, errno).withContext(context);
    }
    name.assign(path.data());

    FileSink sink(fd, name);
    // A download never fills the file system it lands in (the service's
    // own data may live there): it stops where freeSpaceIn()'s margin
    // begins, whatever the server announces.
    std::uint64_t limit = options.maxSize;
    std::string tooLarge =
        "exceeds MaxSize= (" + std::to_string(options.maxSize) + " bytes)";
    if (auto space = freeSpaceIn(dir); space && space->usable < limit) {
      limit = space->usable;
      tooLarge = "does not fit: " + describe(*space);
    }
    Status status = perform(url, options, sink, limit, tooLarge, &progress);
    // The caller renames this file into place next; its data must be on
    // disk first, or a crash could leave an empty file under a final name.
    if (status && ::fsync(fd) < 0) status = systemError("fsync", name, errno);
    if (::close(fd) < 0 && status) status = systemError("close", name, errno);
    if (!status) {
      ::unlink(name.c_str());
      return status.error().withContext(context);
    }
    if (progress) progress(sink.size(), sink.size());
    return FetchedFile{name, sink.digest(), sink.size()};
  }

  Result<std::string> fetchText(const std::string& url,
                                const FetchOptions& options,
                                std::uint64_t maxBytes) override {
    const std::string context = "Failed to fetch '" + url + "'";
    if (initResult_ != CURLE_OK) return initError().withContext(context);
    std::uint64_t limit = std::min(maxBytes, options.maxSize);
    StringSink sink;
    Status status =
        perform(url, options, sink, limit,
                "larger than " + std::to_string(limit) + " bytes", nullptr);
    if (!status) return status.error().withContext(context);
    return std::move(sink.text());
  }

 private:
  Error initError() const {
    return Error(std::string("libcurl failed to initialise: ") +
                 curl_easy_strerror(initResult_));
  }

  CURLcode initResult_;
};

}  // namespace

FetchOptions fetchOptionsFrom(const SourceConfig& source) {
  FetchOptions options;
  options.caFile = source.caFile;
  options.connectTimeout = source.connectTimeout;
  options.lowSpeedTimeout = source.lowSpeedTimeout;
  options.retries = source.retries;
  options.maxSize = source.maxSize;
  options.allowedSchemes = source.allowedSchemes;
  options.timeout = source.downloadTimeout;
  return options;
}

std::unique_ptr<Fetcher> makeCurlFetcher() {
  // Once per process, before any thread could race on it (libcurl's global
  // state is not thread-safe to set up in older versions).
  static const CURLcode initResult = curl_global_init(CURL_GLOBAL_DEFAULT);
  return std::make_unique<CurlFetcher>(initResult);
}

std::string partialDownloadBaseName(std::string_view fileName) {
  std::string base(fileName);
  for (char& c : base) {
    if (!isAlnum(c) && c != '.' && c != '_' && c != '-' && c != '+' &&
        c != '~') {
      c = '_';
    }
  }
  if (base.size() > 200) base.resize(200);  // NAME_MAX is 255
  return base;
}

bool isPartialDownloadName(std::string_view fileName) {
  // "." + at least one character of base + "." + XXXXXX + ".partial"
  constexpr std::size_t kMinSize = 1 + 1 + 1 + kRandomChars + 8;
  if (fileName.size() < kMinSize || fileName.front() != '.' ||
      fileName.substr(fileName.size() - kPartialSuffix.size()) !=
          kPartialSuffix) {
    return false;
  }
  std::string_view rest =
      fileName.substr(0, fileName.size() - kPartialSuffix.size());
  std::string_view random = rest.substr(rest.size() - kRandomChars);
  if (!std::all_of(random.begin(), random.end(), isAlnum)) return false;
  return rest[rest.size() - kRandomChars - 1] == '.' &&
         fileName.find('/') == std::string_view::npos;
}

}  // namespace upgrader
