#include "systemd/journal_reader.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>
#include <vector>

namespace upgrader {

namespace {

constexpr const char* kJournalVarlink =
    "/run/systemd/journal/io.systemd.journal";
// journald answers within milliseconds; a wedged one must not hold up an
// upgrade that only wants a hook's last lines.
constexpr int kSyncTimeoutMs = 5000;
// How long the journal must stay unchanged before the tail is taken as
// complete, and the most time spent waiting for that (or for a first
// line: on a loaded machine journald may take longer than a quiet moment
// to read what a hook that just ended wrote). Only a failed hook's message
// waits on it, and only a hook that printed nothing waits it out, so the
// limit is what a silent failed Migrate= adds to the downtime. (Misses on
// a busy machine that looked like journald lag, at 2 s, 6 s and even 15 s,
// were by all signs lines older than systemd's start timestamp of the hook,
// cut off as another unit's: the lower bound is now taken before systemd
// is asked.)
constexpr auto kQuiet = std::chrono::milliseconds(100);
constexpr auto kSettleLimit = std::chrono::seconds(5);

// Asks journald, over its Varlink socket (what `journalctl --sync` does),
// to process and write out everything it received before the request, so
// the lines of a hook that has just ended are readable. Best effort: on any
// failure the journal is read as it is.
void synchronizeJournal() {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, kJournalVarlink, sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    // A Varlink message is one JSON object ended by a NUL byte.
    static constexpr char kRequest[] =
        "{\"method\":\"io.systemd.Journal.Synchronize\",\"parameters\":{}}";
    if (::send(fd, kRequest, sizeof kRequest, MSG_NOSIGNAL) ==
        static_cast<ssize_t>(sizeof kRequest)) {
      auto deadline = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(kSyncTimeoutMs);
      char buf[512];
      for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        // The reply (ok or an error) ends with NUL; either way we are done.
        if (n <= 0 || std::memchr(buf, '\0', static_cast<std::size_t>(n))) {
          break;
        }
      }
    }
  }
  ::close(fd);
}

// The value of `field` in the current entry of `j`, "" if it has none.
std::string_view fieldOf(sd_journal* j, const char* field) {
  const void* data = nullptr;
  std::size_t length = 0;
  if (sd_journal_get_data(j, field, &data, &length) < 0) return {};
  std::string_view value(static_cast<const char*>(data), length);
  value.remove_prefix(std::min(value.size(), std::strlen(field) + 1));
  return value;
}

// The last lines of `unit`'s invocation `invocationId`, started at
// `sinceUsec`, in the journal `j` (matched to the unit already), oldest
// first.
Result<std::string> collectTail(sd_journal* j, const UnitName& unit,
                                const std::string& invocationId,
                                std::uint64_t sinceUsec, std::size_t maxLines,
                                std::size_t maxBytes) {
  int r = sd_journal_seek_tail(j);
  std::vector<std::string> lines;
  std::size_t bytes = 0;
  bool more = false;
  while (r >= 0 && (r = sd_journal_previous(j)) > 0) {
    // A line journald read after the hook had exited and systemd had
    // collected its unit carries no invocation ID (journald finds the unit
    // by the name the stream announced, but no longer its invocation), so
    // the ID cannot be a match: lines without one are taken, and the search
    // ends at a line of another invocation or from before this one started
    // (a unit of the same name earlier, in this boot or another: the names
    // hold only a pid and a counter).
    const std::string_view invocation = fieldOf(j, "_SYSTEMD_INVOCATION_ID");
    if (!invocation.empty() && invocation != invocationId) break;
    std::uint64_t at = 0;
    if (sinceUsec != 0 && sd_journal_get_realtime_usec(j, &at) >= 0 &&
        at < sinceUsec) {
      break;
    }
    if (lines.size() == maxLines) {
      more = true;
      break;
    }
    const void* data = nullptr;
    std::size_t length = 0;
    if (sd_journal_get_data(j, "MESSAGE", &data, &length) < 0) continue;
    std::string_view field(static_cast<const char*>(data), length);
    field.remove_prefix(std::min(field.size(), sizeof "MESSAGE=" - 1));
    if (!lines.empty() && bytes + field.size() > maxBytes) {
      more = true;
      break;
    }
    bytes += field.size() + 1;
    lines.emplace_back(field.substr(0, maxBytes));
  }
  if (r < 0) {
    return Error("cannot read the journal of '" + unit.str() +
                 "': " + std::strerror(-r));
  }
  std::string out = more ? "..." : "";
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it != lines.rbegin()) out += '\n';
    out += *it;
  }
  return out;
}

class SystemJournalReader final : public JournalReader {
 public:
  Result<std::string> lastLines(const UnitName& unit,
                                const std::string& invocationId,
                                std::uint64_t sinceUsec, std::size_t maxLines,
                                std::size_t maxBytes) override {
    sd_journal* raw = nullptr;
    int r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (r < 0) {
      return Error(std::string("cannot open the journal: ") +
                   std::strerror(-r));
    }
    std::unique_ptr<sd_journal, decltype(&sd_journal_close)> j(
        raw, sd_journal_close);
    // A field longer than this comes back cut: one huge line cannot make
    // us read megabytes.
    sd_journal_set_data_threshold(j.get(), maxBytes);
    // By unit only: which of its lines are this invocation's is up to
    // collectTail. (Not _BOOT_ID: the unit's ProcSubset=pid hides the boot
    // ID from us.)
    const std::string unitMatch = "_SYSTEMD_UNIT=" + unit.str();
    if ((r = sd_journal_add_match(j.get(), unitMatch.data(),
                                  unitMatch.size())) < 0) {
      return Error("cannot read the journal of '" + unit.str() +
                   "': " + std::strerror(-r));
    }
    // The unit has ended, but journald may not have read the last of what
    // it wrote to its stdout stream: Synchronize (systemd 252) writes out
    // what journald has read, not what still waits in a stream's socket.
    // So the tail is read again whenever the journal changes, until it has
    // been quiet for a moment with something in it, or the limit passed
    // (a busy journal is never quiet; a hook may have printed nothing).
    synchronizeJournal();
    auto tail =
        collectTail(j.get(), unit, invocationId, sinceUsec, maxLines, maxBytes);
    const auto deadline = std::chrono::steady_clock::now() + kSettleLimit;
    while (tail) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) break;
      auto wait = std::min<std::chrono::steady_clock::duration>(left, kQuiet);
      r = sd_journal_wait(
          j.get(),
          static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(wait)
                  .count()));
      if (r < 0) break;  // cannot watch
      // Quiet, and the tail has arrived; with nothing yet, wait on.
      if (r == SD_JOURNAL_NOP && !tail->empty()) break;
      tail = collectTail(j.get(), unit, invocationId, sinceUsec, maxLines,
                         maxBytes);
    }
    return tail;
  }
};

}  // namespace

std::unique_ptr<JournalReader> makeSystemJournalReader() {
  return std::make_unique<SystemJournalReader>();
}

}  // namespace upgrader
