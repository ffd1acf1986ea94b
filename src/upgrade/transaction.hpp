// The upgrade transaction: acquire, verify and stage, stop, swap, start,
// health-check, commit or roll back, and recover what a killed run left.
// Written once for every release strategy: what a release is and how it
// lands on this machine is the Strategy's business; the order of the steps
// and what is recorded before each is this module's. Every side effect
// comes in through Effects, so the same logic runs against fakes in unit
// tests and against real systemd and engines in the test bed.
#pragma once

#include <optional>
#include <string>

#include "common/clock.hpp"
#include "config/plan.hpp"
#include "exec/command_runner.hpp"
#include "exec/hook_runner.hpp"
#include "health/health_checker.hpp"
#include "strategy/strategy.hpp"
#include "systemd/event_log.hpp"
#include "systemd/service_manager.hpp"
#include "upgrade/state_store.hpp"

namespace upgrader {

/// The side effects a transaction acts through.
struct Effects {
  ServiceManager& units;
  Strategy& strategy;
  HealthChecker& health;
  /// Preflight= (in this process, inside the upgrader's sandbox).
  CommandRunner& commands;
  /// [Hooks] (each its own transient service, outside the sandbox).
  HookRunner& hooks;
  StateStore& state;
  EventLog& log;
  Clock& clock;
};

/// How a command ended, in the terms of the documented exit codes.
enum class OutcomeCode {
  kDone,             ///< upgraded (or rolled back on request) and committed
  kNothingToDo,      ///< already current, no newer or only quarantined
  kFailedUnchanged,  ///< failed before the service was touched
  kRolledBack,       ///< failed, and the old release is back and healthy
  kRollbackFailed,   ///< failed, and the old release could not be restored
};

struct Outcome {
  OutcomeCode code = OutcomeCode::kDone;
  std::string message;
  std::string fromVersion;
  std::string toVersion;
};

struct ApplyOptions {
  /// Stop once the release is verified and staged; then discard it.
  bool dryRun = false;
  bool allowDowngrade = false;
};

class UpgradeTransaction {
 public:
  /// `plan` and `effects` must outlive the transaction. The caller holds the
  /// instance lock.
  UpgradeTransaction(const Plan& plan, Effects effects);

  /// Upgrades to the release the plan points at (after recovering an
  /// interrupted run). Never leaves the service stopped if it can be
  /// started: every failure after the first stop ends in a rollback.
  Outcome apply(const ApplyOptions& options);

  /// Acquires, verifies and stages the release apply would install, and
  /// keeps it staged with the service untouched, so that the apply that
  /// follows only swaps, starts and checks: kDone when fetched now,
  /// kNothingToDo when there is nothing to install or it was fetched
  /// already (and is still what was verified). Talks to no service
  /// manager: a run interrupted half-way is left for apply to finish.
  Outcome fetch(bool allowDowngrade = false);

  /// Goes back to the previous release with the same safety as apply, and
  /// quarantines the release it leaves so a timer does not bring it back.
  Outcome rollback();

  /// Whether a newer, not quarantined release is available (kDone) or not
  /// (kNothingToDo). Changes nothing.
  Outcome check();

  /// How long the service was down in this run: from the first stop job
  /// to the units' start after it (of the new release, or of the old one
  /// after a rollback); until now if they never started again. None if
  /// nothing was stopped. For the metrics.
  std::optional<Duration> unavailable();

 private:
  struct Decision;
  /// What begin() may do before a run's own work.
  enum class Begin {
    kRecover,   ///< finish or undo an interrupted transaction, then clean up
    kNoUnits,   ///< clean up; an interrupted transaction is refused (fetch)
    kReadOnly,  ///< change nothing; an interrupted transaction is refused
  };
  Outcome upgrade(const ApplyOptions& options);
  Outcome goBack();
  void noteOutcome(const Outcome& out);
  std::string now() const;
  Outcome begin(Begin how);
  Result<Decision> decide();
  Outcome screen(const Decision& d, bool allowDowngrade);
  Result<Staged> stage(const std::string& version, bool dryRun);
  std::optional<Staged> takeOverFetched(const std::string& version);
  void dropFetched(const std::string& why);
  /// Finishes or undoes a transaction a killed run left in the state file.
  Outcome recover();
  /// Stop, swap, start, check, commit; rollBack() on any failure.
  Outcome install(Transaction t);
  Outcome abandon(const Transaction& t, const Error& why);
  Outcome rollBack(Transaction t, const std::string& cause, bool blameNew);
  Status restoreOld(const Transaction& t);
  Status record(Transaction& t, Step step);
  Status dropStaged(TransactionKind kind, const ReleaseRef& to);
  Status stopUnits();
  Status startUnits();
  Status startUnitsSince(std::uint64_t sinceUs);
  Status runHooks(const std::vector<std::string>& hooks, const char* what,
                  const Transaction& t);
  Environment hookEnvironment(const ReleaseRef& from,
                              const ReleaseRef& to) const;
  Status preflight(const ReleaseRef& from, const ReleaseRef& staged);
  Outcome failUnchanged(const std::string& message);

  const Plan& plan_;
  Effects fx_;
  InstanceState state_;
  bool loaded_ = false;  ///< state_ is what the state file holds
  std::optional<SteadyTime> downSince_;  ///< the first stop of this run
  std::optional<SteadyTime> upAgain_;    ///< the last start after it
};

}  // namespace upgrader
