// What the upgrader tells operators while it works. Under systemd each event
// goes to the journal with a MESSAGE_ID and UPGRADER_* fields, so
// `journalctl MESSAGE_ID=...` or `UPGRADER_INSTANCE=x` find it; on a terminal
// it is one short line on stderr.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace upgrader {

/// The events of an upgrade, each with its own journal MESSAGE_ID.
enum class Event {
  kStarted,         ///< an apply or rollback began
  kVerified,        ///< the release is downloaded and verified
  kStopped,         ///< the service's units are stopped
  kSwapped,         ///< the new release is in place
  kStartedNew,      ///< the units were started on the new release
  kHealthy,         ///< the health checks passed
  kCommitted,       ///< the upgrade is final
  kFailed,          ///< the upgrade failed
  kRolledBack,      ///< the old release is back and healthy
  kRollbackFailed,  ///< the old release could not be brought back
};

/// The MESSAGE_ID of an event, 32 lowercase hex digits.
const char* messageId(Event event);
/// A short lowercase name of an event ("rolled-back").
const char* eventName(Event event);

enum class Severity { kDebug, kInfo, kWarning, kError };

/// Who the log lines are about; attached to every line.
struct LogContext {
  std::string instance;
  std::string fromVersion;
  std::string toVersion;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  virtual void setContext(const LogContext& context) = 0;
  /// A milestone of the transaction. `step` names the step, `result` is
  /// "ok" or the failure's message.
  virtual void event(Event event, std::string_view step,
                     std::string_view message, std::string_view result) = 0;
  /// Download progress: a bar on a terminal, a line per 10% in the journal.
  /// `total` is 0 when the size is unknown.
  virtual void progress(std::uint64_t received, std::uint64_t total) = 0;
  /// A free-form line (progress, details).
  virtual void log(Severity severity, std::string_view message) = 0;
};

/// The journal when run by systemd (JOURNAL_STREAM or INVOCATION_ID set),
/// stderr otherwise. Debug lines only with `verbose`.
std::unique_ptr<EventLog> makeEventLog(bool verbose);

/// Whether our stderr leads to the journal rather than a person.
bool runningUnderSystemd();

}  // namespace upgrader
