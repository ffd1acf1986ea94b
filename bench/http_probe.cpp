// http_probe: what a client of a service sees while an operation runs on it
// (a restart, a manual upgrade, `systemctl start upgrade@NAME`). It sends one
// HTTP GET every few milliseconds on an absolute schedule and, when told to
// stop, writes every attempt and a summary. Used by bench/downtime.sh.
//
//   http_probe --url http://HOST:PORT/PATH --out FILE [--interval-ms N]
//              [--timeout-ms N] [--expect-version V] [--linger-ms N]
//
//   --interval-ms N   one attempt every N ms (default 2), on ticks of a fixed
//                     CLOCK_MONOTONIC schedule: an attempt that overruns its
//                     slot makes the next one late, never the whole schedule
//                     drift; slots already over are skipped (and counted).
//   --timeout-ms N    an attempt (connect + send + read to EOF) that takes
//                     longer fails as "timeout" (default 200).
//   --expect-version V   also report when V was first served (see below).
//   --linger-ms N     after SIGUSR1, stop anyway after N ms (default 10000).
//
// It probes from the start. Signals:
//   SIGTERM, SIGINT  stop now;
//   SIGUSR1          stop at the first successful attempt that begins after
//                    the signal (or after --linger-ms): "the operation is
//                    over; wait until you have seen the service again".
//
// Files, each written whole (temp file + rename), so their existence is a
// condition a script can wait on:
//   FILE.started  after the first attempt (signals are handled from then on);
//   FILE.ready    after the first successful attempt;
//   FILE.log      at exit, one line per attempt:
//                   REALTIME_US ok|fail VERSION LATENCY_US DETAIL
//                 REALTIME_US: CLOCK_REALTIME at the attempt's start;
//                 VERSION: "version" of the JSON body, "-" if none;
//                 DETAIL: "-" for ok, else refused, timeout, reset, empty,
//                 truncated, http-NNN, bad-response or error-ERRNO;
//   FILE          at exit (after FILE.log), a JSON summary:
//     attempts, ok, failed, failed_by_kind {...};
//     longest_gap_ms: the longest time from the last success before a run of
//       failures to the first success after it (start to start), i.e. the
//       unavailable window as a client sees it, 0 without failures; a run
//       of failures still going at exit counts up to the last attempt
//       ("recovered": false). Failures before the first success are not a
//       gap (nothing was available yet): see first_ok_us;
//     longest_gap_from_us, longest_gap_to_us, outages (runs of failures
//       after a success);
//     first_attempt_us, last_attempt_us, first_ok_us, first_fail_us,
//     first_ok_after_us (the first success after the first failure);
//     with --expect-version: first_expected_us, first_expected_after_fail_us,
//       other_version_ok (successes that served another version);
//     versions {VERSION: successes}, skipped_ticks, max_late_us,
//     max_latency_us. Times are CLOCK_REALTIME µs, 0 when there is none.
//
// A success is a complete response with a 2xx status. Plain sockets and
// poll(); HTTP/1.1 with "Connection: close", read to EOF.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t kMaxResponseBytes = 64 * 1024;

struct Options {
  std::string url;
  std::string out;
  std::string expectVersion;
  bool haveExpectVersion = false;
  std::int64_t intervalMs = 2;
  std::int64_t timeoutMs = 200;
  std::int64_t lingerMs = 10000;
  // From the URL.
  std::string host;
  std::string port;
  std::string path;
};

enum class Kind : std::uint8_t {
  ok,
  refused,
  timeout,
  reset,
  empty,
  truncated,
  http,
  badResponse,
  error,
};

const char* kindName(Kind k) {
  switch (k) {
    case Kind::ok: return "ok";
    case Kind::refused: return "refused";
    case Kind::timeout: return "timeout";
    case Kind::reset: return "reset";
    case Kind::empty: return "empty";
    case Kind::truncated: return "truncated";
    case Kind::http: return "http";
    case Kind::badResponse: return "bad-response";
    case Kind::error: return "error";
  }
  return "?";
}
constexpr Kind kAllFailureKinds[] = {Kind::refused,   Kind::timeout, Kind::reset,
                                     Kind::empty,     Kind::truncated, Kind::http,
                                     Kind::badResponse, Kind::error};

struct Attempt {
  std::int64_t realtimeUs = 0;
  std::int64_t latencyUs = 0;
  Kind kind = Kind::error;
  int detail = 0;  // HTTP status for Kind::http, errno for Kind::error
  std::string version;
};

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "http_probe: %s\n"
               "usage: http_probe --url http://HOST:PORT/PATH --out FILE [--interval-ms N]\n"
               "                  [--timeout-ms N] [--expect-version V] [--linger-ms N]\n",
               message);
  std::exit(2);
}

std::int64_t clockUs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}
std::int64_t monoUs() { return clockUs(CLOCK_MONOTONIC); }
std::int64_t realUs() { return clockUs(CLOCK_REALTIME); }

std::int64_t parsePositive(const char* text, const char* what) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v <= 0 || v > 3600000) {
    usage((std::string("invalid ") + what).c_str());
  }
  return v;
}

// http://HOST[:PORT][/PATH]; HOST may be [IPv6].
void parseUrl(Options& o) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = o.url;
  if (rest.substr(0, kScheme.size()) != kScheme) usage("--url must start with http://");
  rest.remove_prefix(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  o.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view host = authority;
  std::string_view port = "80";
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) usage("bad IPv6 host in --url");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') usage("bad --url");
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty()) usage("bad --url");
  o.host = std::string(host);
  o.port = std::string(port);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage("every option takes a value");
    const char* value = argv[++i];
    if (arg == "--url") {
      o.url = value;
    } else if (arg == "--out") {
      o.out = value;
    } else if (arg == "--interval-ms") {
      o.intervalMs = parsePositive(value, "--interval-ms");
    } else if (arg == "--timeout-ms") {
      o.timeoutMs = parsePositive(value, "--timeout-ms");
    } else if (arg == "--linger-ms") {
      o.lingerMs = parsePositive(value, "--linger-ms");
    } else if (arg == "--expect-version") {
      o.expectVersion = value;
      o.haveExpectVersion = true;
    } else {
      usage("unknown option");
    }
  }
  if (o.url.empty() || o.out.empty()) usage("--url and --out are required");
  parseUrl(o);
  return o;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits until fd is ready for `events` or the monotonic deadline passes.
bool waitReady(int fd, short events, std::int64_t deadlineUs) {
  for (;;) {
    const std::int64_t left = deadlineUs - monoUs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int rc = poll(&p, 1, static_cast<int>((left + 999) / 1000));
    if (rc > 0) return true;  // errors and hang-ups show up in the next call
    if (rc < 0 && errno != EINTR) return false;
  }
}

Kind kindOfErrno(int err) {
  switch (err) {
    case ECONNREFUSED: return Kind::refused;
    case ETIMEDOUT: return Kind::timeout;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED: return Kind::reset;
    default: return Kind::error;
  }
}

// Only characters that keep the log's columns and the JSON simple; anything
// else becomes '?'.
std::string cleanVersion(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 64)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || std::strchr("._~+-^:", c) != nullptr;
    out += plain ? c : '?';
  }
  return out;
}

// "version":"X" anywhere in the body (the JSON of /healthz is flat).
std::string versionOf(std::string_view body) {
  const auto key = body.find("\"version\"");
  if (key == std::string_view::npos) return "";
  std::size_t i = key + 9;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\t')) ++i;
  if (i >= body.size() || body[i] != ':') return "";
  ++i;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\t')) ++i;
  if (i >= body.size() || body[i] != '"') return "";
  const auto end = body.find('"', i + 1);
  if (end == std::string_view::npos) return "";
  return cleanVersion(body.substr(i + 1, end - i - 1));
}

void classifyResponse(std::string_view resp, Attempt& a) {
  if (resp.empty()) {
    a.kind = Kind::empty;
    return;
  }
  const auto headEnd = resp.find("\r\n\r\n");
  if (resp.substr(0, 5) != "HTTP/" || headEnd == std::string_view::npos) {
    a.kind = resp.size() < 12 || headEnd == std::string_view::npos ? Kind::truncated
                                                                     : Kind::badResponse;
    return;
  }
  const auto sp = resp.find(' ');
  if (sp == std::string_view::npos || sp + 4 > resp.size()) {
    a.kind = Kind::badResponse;
    return;
  }
  int status = 0;
  for (std::size_t i = sp + 1; i < sp + 4; ++i) {
    if (resp[i] < '0' || resp[i] > '9') {
      a.kind = Kind::badResponse;
      return;
    }
    status = status * 10 + (resp[i] - '0');
  }
  const std::string_view head = resp.substr(0, headEnd);
  const std::string_view body = resp.substr(headEnd + 4);
  // A body cut short (the server died mid-response) is no success.
  std::string lower(head);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  if (const auto cl = lower.find("\r\ncontent-length:"); cl != std::string::npos) {
    const unsigned long long want = std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
    if (body.size() < want) {
      a.kind = Kind::truncated;
      return;
    }
  }
  a.version = versionOf(body);
  if (status >= 200 && status < 300) {
    a.kind = Kind::ok;
  } else {
    a.kind = Kind::http;
    a.detail = status;
  }
}

// One GET: connect, send, read to EOF, all within the deadline.
void attempt(const addrinfo& ai, const std::string& request, std::int64_t deadlineUs,
             Attempt& a) {
  const Fd fd(socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    a.kind = Kind::error;
    a.detail = errno;
    return;
  }
  auto fail = [&](int err) {
    a.kind = kindOfErrno(err);
    if (a.kind == Kind::error) a.detail = err;
  };
  if (connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return fail(errno);
    if (!waitReady(fd.get(), POLLOUT, deadlineUs)) {
      a.kind = Kind::timeout;
      return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return fail(errno);
    if (err != 0) return fail(err);
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!waitReady(fd.get(), POLLOUT, deadlineUs)) {
        a.kind = Kind::timeout;
        return;
      }
    } else {
      return fail(n < 0 ? errno : EPIPE);
    }
  }
  std::string resp;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      resp.append(buf, static_cast<std::size_t>(n));
      if (resp.size() > kMaxResponseBytes) {
        a.kind = Kind::badResponse;
        return;
      }
    } else if (n == 0) {
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!waitReady(fd.get(), POLLIN, deadlineUs)) {
        a.kind = Kind::timeout;
        return;
      }
    } else if (errno == ECONNRESET && !resp.empty()) {
      break;  // a complete response followed by a reset still counts below
    } else {
      return fail(errno);
    }
  }
  classifyResponse(resp, a);
}

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\u%04x", static_cast<unsigned>(c));
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool writeWhole(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "http_probe: %s: %s\n", tmp.c_str(), std::strerror(errno));
    return false;
  }
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "http_probe: writing %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  return true;
}

std::string detailText(const Attempt& a) {
  switch (a.kind) {
    case Kind::ok: return "-";
    case Kind::http: return "http-" + std::to_string(a.detail);
    case Kind::error: return "error-" + std::to_string(a.detail);
    default: return kindName(a.kind);
  }
}

std::string logText(const std::vector<Attempt>& attempts) {
  std::string out;
  out.reserve(attempts.size() * 40);
  for (const auto& a : attempts) {
    out += std::to_string(a.realtimeUs);
    out += a.kind == Kind::ok ? " ok " : " fail ";
    out += a.version.empty() ? "-" : a.version;
    out += ' ';
    out += std::to_string(a.latencyUs);
    out += ' ';
    out += detailText(a);
    out += '\n';
  }
  return out;
}

struct ScheduleStats {
  std::int64_t skippedTicks = 0;
  std::int64_t maxLateUs = 0;
};

std::string summaryText(const Options& o, const std::vector<Attempt>& attempts,
                        const ScheduleStats& sched) {
  std::int64_t ok = 0, failed = 0, outages = 0, maxLatency = 0;
  std::map<Kind, std::int64_t> byKind;
  std::map<std::string, std::int64_t> versions;
  std::int64_t firstOk = 0, firstFail = 0, firstOkAfter = 0;
  std::int64_t firstExpected = 0, firstExpectedAfterFail = 0, otherVersionOk = 0;
  std::int64_t lastOk = 0, gapFrom = 0, gapTo = 0, longestGap = 0;
  bool inFailureRun = false;  // failures since the last success
  for (const auto& a : attempts) {
    maxLatency = std::max(maxLatency, a.latencyUs);
    if (a.kind != Kind::ok) {
      ++failed;
      ++byKind[a.kind];
      if (firstFail == 0) firstFail = a.realtimeUs;
      if (lastOk != 0 && !inFailureRun) ++outages;
      inFailureRun = true;
      continue;
    }
    ++ok;
    ++versions[a.version.empty() ? "-" : a.version];
    if (firstOk == 0) firstOk = a.realtimeUs;
    if (firstFail != 0 && firstOkAfter == 0) firstOkAfter = a.realtimeUs;
    if (o.haveExpectVersion) {
      if (a.version == o.expectVersion) {
        if (firstExpected == 0) firstExpected = a.realtimeUs;
        if (firstFail != 0 && firstExpectedAfterFail == 0) firstExpectedAfterFail = a.realtimeUs;
      } else {
        ++otherVersionOk;
      }
    }
    if (inFailureRun && lastOk != 0 && a.realtimeUs - lastOk > longestGap) {
      longestGap = a.realtimeUs - lastOk;
      gapFrom = lastOk;
      gapTo = a.realtimeUs;
    }
    inFailureRun = false;
    lastOk = a.realtimeUs;
  }
  const bool recovered = !(inFailureRun && lastOk != 0);
  if (!recovered && attempts.back().realtimeUs - lastOk > longestGap) {
    longestGap = attempts.back().realtimeUs - lastOk;
    gapFrom = lastOk;
    gapTo = attempts.back().realtimeUs;
  }

  std::string s = "{\n";
  auto num = [&](const char* key, std::int64_t v) {
    s += "  \"" + std::string(key) + "\": " + std::to_string(v) + ",\n";
  };
  s += "  \"url\": " + jsonString(o.url) + ",\n";
  num("interval_ms", o.intervalMs);
  num("timeout_ms", o.timeoutMs);
  num("attempts", static_cast<std::int64_t>(attempts.size()));
  num("ok", ok);
  num("failed", failed);
  s += "  \"failed_by_kind\": {";
  bool first = true;
  for (Kind k : kAllFailureKinds) {
    s += std::string(first ? "" : ", ") + jsonString(kindName(k)) + ": " +
         std::to_string(byKind[k]);
    first = false;
  }
  s += "},\n";
  char gap[64];
  std::snprintf(gap, sizeof(gap), "%.3f", static_cast<double>(longestGap) / 1000.0);
  s += "  \"longest_gap_ms\": " + std::string(gap) + ",\n";
  num("longest_gap_from_us", gapFrom);
  num("longest_gap_to_us", gapTo);
  num("outages", outages);
  s += std::string("  \"recovered\": ") + (recovered ? "true" : "false") + ",\n";
  num("first_attempt_us", attempts.empty() ? 0 : attempts.front().realtimeUs);
  num("last_attempt_us", attempts.empty() ? 0 : attempts.back().realtimeUs);
  num("first_ok_us", firstOk);
  num("first_fail_us", firstFail);
  num("first_ok_after_us", firstOkAfter);
  if (o.haveExpectVersion) {
    s += "  \"expect_version\": " + jsonString(o.expectVersion) + ",\n";
    num("first_expected_us", firstExpected);
    num("first_expected_after_fail_us", firstExpectedAfterFail);
    num("other_version_ok", otherVersionOk);
  }
  s += "  \"versions\": {";
  first = true;
  for (const auto& [version, count] : versions) {
    s += std::string(first ? "" : ", ") + jsonString(version) + ": " + std::to_string(count);
    first = false;
  }
  s += "},\n";
  num("skipped_ticks", sched.skippedTicks);
  num("max_late_us", sched.maxLateUs);
  s += "  \"max_latency_us\": " + std::to_string(maxLatency) + "\n}\n";
  return s;
}

void touch(const std::string& path) { (void)writeWhole(path, ""); }

}  // namespace

int main(int argc, char** argv) {
  const Options opts = parseArgs(argc, argv);

  // Every signal we act on is taken synchronously (sigtimedwait), so none
  // can be lost between a check and a wait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
    std::perror("http_probe: sigprocmask");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  // Wake-ups on time, not up to 50 µs late.
  (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* resolved = nullptr;
  if (const int rc = getaddrinfo(opts.host.c_str(), opts.port.c_str(), &hints, &resolved);
      rc != 0 || resolved == nullptr) {
    std::fprintf(stderr, "http_probe: cannot resolve %s:%s: %s\n", opts.host.c_str(),
                 opts.port.c_str(), gai_strerror(rc));
    return 1;
  }
  const std::string hostHeader =
      opts.host.find(':') != std::string::npos ? "[" + opts.host + "]:" + opts.port
                                                : opts.host + ":" + opts.port;
  const std::string request = "GET " + opts.path + " HTTP/1.1\r\nHost: " + hostHeader +
                              "\r\nUser-Agent: http_probe\r\nAccept: */*\r\n"
                              "Connection: close\r\n\r\n";

  std::vector<Attempt> attempts;
  attempts.reserve(1 << 16);
  ScheduleStats sched;
  const std::int64_t intervalUs = opts.intervalMs * 1000;
  const std::int64_t timeoutUs = opts.timeoutMs * 1000;
  const std::int64_t startUs = monoUs();
  std::int64_t tick = 0;  // index of the next slot: startUs + tick * intervalUs
  bool armed = false;     // SIGUSR1 received: stop at the next success
  std::int64_t armedAtUs = 0;
  bool ready = false;
  bool stop = false;

  while (!stop) {
    // Sleep until the slot, taking signals as they come.
    const std::int64_t slotUs = startUs + tick * intervalUs;
    for (;;) {
      const std::int64_t left = std::max<std::int64_t>(0, slotUs - monoUs());
      const timespec ts{static_cast<time_t>(left / 1000000),
                        static_cast<long>(left % 1000000) * 1000};
      const int sig = sigtimedwait(&signals, nullptr, &ts);
      if (sig == SIGTERM || sig == SIGINT) {
        stop = true;
        break;
      }
      if (sig == SIGUSR1) {
        if (!armed) {
          armed = true;
          armedAtUs = monoUs();
        }
        continue;
      }
      if (sig < 0 && errno == EINTR) continue;
      break;  // EAGAIN: the slot has come
    }
    if (stop) break;
    if (armed && monoUs() - armedAtUs >= opts.lingerMs * 1000) break;

    Attempt a;
    const std::int64_t beganUs = monoUs();
    sched.maxLateUs = std::max(sched.maxLateUs, beganUs - slotUs);
    a.realtimeUs = realUs();
    attempt(*resolved, request, beganUs + timeoutUs, a);
    a.latencyUs = monoUs() - beganUs;
    const bool ok = a.kind == Kind::ok;
    attempts.push_back(std::move(a));

    if (attempts.size() == 1) touch(opts.out + ".started");
    if (ok && !ready) {
      ready = true;
      touch(opts.out + ".ready");
    }
    if (armed && ok && beganUs >= armedAtUs) break;

    // The next slot still to come; the current one if we are inside it
    // (late rather than skipped), never one already over.
    const std::int64_t inSlot = (monoUs() - startUs) / intervalUs;
    const std::int64_t next = std::max(tick + 1, inSlot);
    sched.skippedTicks += next - (tick + 1);
    tick = next;
  }
  freeaddrinfo(resolved);

  const bool logged = writeWhole(opts.out + ".log", logText(attempts));
  const bool summarised = writeWhole(opts.out, summaryText(opts, attempts, sched));
  return logged && summarised ? 0 : 1;
}
