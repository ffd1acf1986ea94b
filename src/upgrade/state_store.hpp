// The per-instance state file, /var/lib/upgrader/NAME/state.json: what is
// installed, what came before, the last result, the quarantined versions,
// and the step of a transaction in progress. It is written (atomically)
// before every irreversible action, so a process that dies at any point
// leaves enough behind for the next run to finish or undo its work.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/release_ref.hpp"
#include "common/result.hpp"

namespace upgrader {

/// The steps of a transaction as recorded on disk, in the order they happen.
/// See docs/on-disk-states.md.
enum class Step {
  kStaged,       ///< release verified and staged; service untouched
  /// From the first stop until the units run again: stopped, the path
  /// holding the old or the new release, units starting. Recovery does the
  /// same (roll back) for all of these, so nothing more is recorded while
  /// the service is down: every save there would be downtime.
  kStopping,
  kMigrating,    ///< new release in place; Migrate= hooks running
  kChecking,     ///< new release started; health checks under way
  kRollingBack,  ///< putting the old release back
};

const char* stepName(Step step);
std::optional<Step> stepFromName(const std::string& name);

/// What a transaction does: install a new release, or go back to the
/// previous one on an operator's request.
enum class TransactionKind { kUpgrade, kRollback };

const char* kindName(TransactionKind kind);

/// An unfinished transaction.
struct Transaction {
  TransactionKind kind = TransactionKind::kUpgrade;
  Step step = Step::kStaged;
  ReleaseRef from;
  ReleaseRef to;
  bool migrated = false;  ///< Migrate= began (so a rollback must Restore=)
  /// The new release was started, or its start was about to begin: its
  /// first start may have migrated the data itself, so a rollback must
  /// Restore= as after Migrate=. Set only where there is a Restore= and
  /// no Migrate= ran.
  bool newStarted = false;
  /// The rollback under way is the new release's fault: it is quarantined
  /// even if the rollback is finished by a later run.
  bool blameNew = false;
  std::string started;    ///< ISO 8601 UTC
  std::string failure;    ///< why a rollback began, if one did
};

struct QuarantineEntry {
  std::string version;
  std::string time;
  std::string reason;
};

struct LastResult {
  std::string result;  ///< "upgraded", "rolled-back", "rollback-failed", ...
  std::string time;
  std::string from;
  std::string to;
  std::string message;
};

/// A release `upgrader fetch` acquired, verified and left staged, with the
/// service untouched, for a later apply to put in place without acquiring
/// it again (see Strategy::adopt()).
struct FetchedRelease {
  ReleaseRef release;
  std::string time;      ///< ISO 8601 UTC
  std::string evidence;  ///< how it was verified, for status and the journal
};

struct InstanceState {
  std::optional<ReleaseRef> installed;
  std::optional<ReleaseRef> previous;
  std::optional<LastResult> last;
  std::vector<QuarantineEntry> quarantined;
  std::optional<Transaction> transaction;
  /// Staged ahead by `upgrader fetch`; never at the same time as a
  /// transaction (apply takes it over in the transaction's first save).
  std::optional<FetchedRelease> fetched;
  /// The newest version ever verified for this instance (ordered versions
  /// only): nothing older is installed again without --allow-downgrade, so
  /// a mirror replaying an old, correctly signed release gets nowhere.
  std::string highestVerified;

  bool isQuarantined(const std::string& version) const;
};

/// Abstract so the transaction can be unit-tested with an in-memory store.
class StateStore {
 public:
  virtual ~StateStore() = default;
  /// The saved state; an empty state if none was ever saved.
  virtual Result<InstanceState> load() = 0;
  /// Replaces the saved state atomically and durably.
  virtual Status save(const InstanceState& state) = 0;
};

/// The state file DIR/state.json; DIR is created (0700) on first save.
std::unique_ptr<StateStore> makeFileStateStore(const std::string& dir);

/// JSON text of a state, and back (the file format; also for --json).
std::string stateToJson(const InstanceState& state);
Result<InstanceState> stateFromJson(const std::string& text,
                                    const std::string& source);

/// A CLOCK_REALTIME time (Clock::realtimeMicros()) as ISO 8601 UTC
/// ("2026-11-22T15:40:00Z").
std::string isoTime(std::uint64_t realtimeMicros);

}  // namespace upgrader
