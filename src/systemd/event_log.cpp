#include "systemd/event_log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <string>
#include <vector>

#include "common/shown_text.hpp"

namespace upgrader {

namespace {

struct EventInfo {
  const char* name;
  const char* id;
  int priority;
};

// The ids are permanent: they are what operators filter on and what the
// journal catalog (units/upgrader.catalog) is keyed by.
constexpr EventInfo kEvents[] = {
    {"started", "471537b968f34ee4a2a188490559d71d", LOG_INFO},
    {"verified", "31b98b98087b4436b403b8c4f889407f", LOG_INFO},
    {"stopped", "754aef44308a48e38ef174aa38ffa923", LOG_INFO},
    {"swapped", "62655606d54548039b9a61f0578e7c66", LOG_INFO},
    {"started-new", "ce5d7c2c4ace46d89a5dc83ecdf54493", LOG_INFO},
    {"healthy", "e1d59fd8b87b4d859f7dcc24e0a21e97", LOG_INFO},
    {"committed", "01ca268c1d9244bba20ae7ce403189ac", LOG_NOTICE},
    {"failed", "7803f8233b1148dab7e9c7091cd7b160", LOG_ERR},
    {"rolled-back", "763b65a87e314690a474819da2875604", LOG_WARNING},
    {"rollback-failed", "e8b7351c4f474f0db077db8b9c7af397", LOG_CRIT},
};

const EventInfo& info(Event e) { return kEvents[static_cast<int>(e)]; }

int priorityOf(Severity s) {
  switch (s) {
    case Severity::kDebug:
      return LOG_DEBUG;
    case Severity::kInfo:
      return LOG_INFO;
    case Severity::kWarning:
      return LOG_WARNING;
    case Severity::kError:
      return LOG_ERR;
  }
  return LOG_INFO;
}

std::string field(const char* name, std::string_view value) {
  return std::string(name) + "=" + std::string(value);
}

class JournalEventLog final : public EventLog {
 public:
  explicit JournalEventLog(bool verbose) : verbose_(verbose) {}

  void setContext(const LogContext& context) override { context_ = context; }

  void event(Event e, std::string_view step, std::string_view message,
             std::string_view result) override {
    send(info(e).priority, message,
         {field("MESSAGE_ID", info(e).id), field("UPGRADER_EVENT", eventName(e)),
          field("UPGRADER_STEP", step),
          field("UPGRADER_RESULT", shownText(result))});
  }

  void log(Severity severity, std::string_view message) override {
    if (severity == Severity::kDebug && !verbose_) return;
    send(priorityOf(severity), message, {});
  }

  void progress(std::uint64_t received, std::uint64_t total) override {
    if (total == 0) return;
    int tenth = static_cast<int>(received * 10 / total);
    if (tenth <= lastTenth_) return;
    lastTenth_ = tenth;
    send(LOG_INFO,
         "downloaded " + std::to_string(received >> 20) + " of " +
             std::to_string(total >> 20) + " MiB (" +
             std::to_string(tenth * 10) + "%)",
         {});
    if (received >= total) lastTenth_ = -1;
  }

 private:
  void send(int priority, std::string_view raw,
            std::vector<std::string> fields) {
    const std::string message = shownText(raw);
    fields.push_back(field("MESSAGE", message));
    fields.push_back(field("PRIORITY", std::to_string(priority)));
    fields.push_back(field("SYSLOG_IDENTIFIER", "upgrader"));
    if (!context_.instance.empty()) {
      fields.push_back(field("UPGRADER_INSTANCE", context_.instance));
    }
    if (!context_.fromVersion.empty()) {
      fields.push_back(field("UPGRADER_FROM_VERSION", context_.fromVersion));
    }
    if (!context_.toVersion.empty()) {
      fields.push_back(field("UPGRADER_TO_VERSION", context_.toVersion));
    }
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (auto& f : fields) iov.push_back({f.data(), f.size()});
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0) {
      // The journal is gone; stderr still reaches someone.
      std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()),
                   message.data());
    }
  }

  bool verbose_;
  int lastTenth_ = -1;
  LogContext context_;
};

class TerminalEventLog final : public EventLog {
 public:
  explicit TerminalEventLog(bool verbose) : verbose_(verbose) {}

  void setContext(const LogContext& context) override { context_ = context; }

  void event(Event, std::string_view, std::string_view message,
             std::string_view) override {
    print("", message);
  }

  void progress(std::uint64_t received, std::uint64_t total) override {
    if (!::isatty(STDERR_FILENO)) return;
    constexpr int kWidth = 30;
    if (total == 0) {
      std::fprintf(stderr, "\r%llu MiB",
                   static_cast<unsigned long long>(received >> 20));
    } else {
      received = std::min(received, total);  // a server may send more
      int filled = static_cast<int>(received * kWidth / total);
      std::fprintf(stderr, "\r[%-*s] %3d%% %llu/%llu MiB", kWidth,
                   std::string(static_cast<std::size_t>(filled), '#').c_str(),
                   static_cast<int>(received * 100 / total),
                   static_cast<unsigned long long>(received >> 20),
                   static_cast<unsigned long long>(total >> 20));
    }
    if (total != 0 && received >= total) std::fputc('\n', stderr);
  }

  void log(Severity severity, std::string_view message) override {
    if (severity == Severity::kDebug && !verbose_) return;
    const char* prefix = severity == Severity::kError     ? "error: "
                         : severity == Severity::kWarning ? "warning: "
                                                          : "";
    print(prefix, message);
  }

 private:
  void print(const char* prefix, std::string_view raw) {
    const std::string message = shownText(raw);
    std::string who = context_.instance.empty()
                          ? "upgrader"
                          : "upgrader[" + shownText(context_.instance) + "]";
    std::fprintf(stderr, "%s: %s%.*s\n", who.c_str(), prefix,
                 static_cast<int>(message.size()), message.data());
  }

  bool verbose_;
  LogContext context_;
};

}  // namespace

const char* messageId(Event event) { return info(event).id; }
const char* eventName(Event event) { return info(event).name; }

bool runningUnderSystemd() {
  // JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected to stderr;
  // it is inherited by children that may have redirected stderr since, so
  // only trust it while it still describes our stderr (as sd_journal docs
  // advise).
  if (const char* stream = std::getenv("JOURNAL_STREAM")) {
    struct stat st {};
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) == 2 &&
        ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev &&
        st.st_ino == ino) {
      return true;
    }
  }
  return std::getenv("INVOCATION_ID") != nullptr && !::isatty(STDERR_FILENO);
}

std::unique_ptr<EventLog> makeEventLog(bool verbose) {
  if (runningUnderSystemd()) return std::make_unique<JournalEventLog>(verbose);
  return std::make_unique<TerminalEventLog>(verbose);
}

}  // namespace upgrader
