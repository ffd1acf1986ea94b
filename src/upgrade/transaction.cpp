// The order of an upgrade, top to bottom. Each step is recorded in the state
// file *before* the action it names (see docs/on-disk-states.md), so that a
// run killed at any instant leaves enough behind for the next one to finish
// or undo the work.
#include "upgrade/transaction.hpp"

#include "common/fault_injection.hpp"
#include "fetch/version.hpp"

namespace upgrader {

namespace {

bool isUpgrade(const Transaction& t) {
  return t.kind == TransactionKind::kUpgrade;
}

}  // namespace

struct UpgradeTransaction::Decision {
  Offer offer;
  ReleaseRef from;
};

UpgradeTransaction::UpgradeTransaction(const Plan& plan, Effects effects)
    : plan_(plan), fx_(effects) {}

// The wall clock through the Clock effect, as the state file writes it.
std::string UpgradeTransaction::now() const {
  return isoTime(fx_.clock.realtimeMicros());
}

Outcome UpgradeTransaction::failUnchanged(const std::string& message) {
  fx_.log.event(Event::kFailed, "prepare", message, message);
  return {OutcomeCode::kFailedUnchanged, message, {}, {}};
}

// What to install, and whether to at all: reads the network and the disk,
// changes nothing.
Result<UpgradeTransaction::Decision> UpgradeTransaction::decide() {
  auto offer = fx_.strategy.resolve();
  if (!offer) return offer.error();
  auto current = fx_.strategy.currentId();
  if (!current) {
    return current.error().withContext("Cannot tell which release is in " +
                                       fx_.strategy.place());
  }
  // The state file knows the version only if the place still holds what we
  // installed; a release changed behind our back is of unknown version
  // unless the strategy recognises it by what it is.
  std::string installed;
  if (state_.installed && state_.installed->id == *current) {
    installed = state_.installed->version;
  } else {
    installed = fx_.strategy.recognise(*current);
  }
  return Decision{*offer, ReleaseRef{installed, *current}};
}

// Loads the state and makes the service whole again: a run killed half-way
// comes first, before anything new is tried. Then removes what a run
// killed before it recorded anything (during the download, say) left:
// partial downloads, temp names; nothing uses them now. A release fetched
// ahead is no leftover: it is recorded, and stays. kDone to go on.
// A dry run changes nothing, so it neither recovers nor removes anything;
// a fetch stops no unit, so it cannot recover.
Outcome UpgradeTransaction::begin(Begin how) {
  auto loaded = fx_.state.load();
  if (!loaded) return failUnchanged(loaded.error().message());
  state_ = *loaded;
  loaded_ = true;
  if (state_.transaction && how != Begin::kRecover) {
    return failUnchanged("a previous run of '" + plan_.instance.str() +
                         "' was interrupted; 'upgrader apply " +
                         plan_.instance.str() + "' finishes it first");
  }
  if (state_.transaction) {
    Outcome recovered = recover();
    if (recovered.code != OutcomeCode::kDone) return recovered;
  }
  if (how != Begin::kReadOnly) {
    ReleaseRef fetched =
        state_.fetched ? state_.fetched->release : ReleaseRef{};
    if (auto st = fx_.strategy.discard(fetched, Discard::kLeftovers); !st) {
      fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
    }
  }
  return {OutcomeCode::kDone, "", {}, {}};
}

Outcome UpgradeTransaction::apply(const ApplyOptions& options) {
  Outcome out = upgrade(options);
  if (!options.dryRun) noteOutcome(out);
  return out;
}

Outcome UpgradeTransaction::rollback() {
  Outcome out = goBack();
  noteOutcome(out);
  return out;
}

// The outcome of every run that changed nothing is kept as the last result
// too, so `upgrader status` tells "nothing to do" from "upgraded" and
// says when the timer last ran; commits and rollbacks record theirs in
// their own saves. Only informative: a failed save is a warning.
void UpgradeTransaction::noteOutcome(const Outcome& out) {
  if (!loaded_) return;  // nothing known of the state file to save back
  // An instance with no state yet (never installed by the upgrader) keeps
  // none: a refused first run leaves nothing on disk but the journal.
  const InstanceState& s = state_;
  if (!s.installed && !s.previous && !s.last && s.quarantined.empty() &&
      s.highestVerified.empty() && !s.transaction && !s.fetched) {
    return;
  }
  const char* result = out.code == OutcomeCode::kNothingToDo ? "nothing-to-do"
                       : out.code == OutcomeCode::kFailedUnchanged
                           ? "failed-unchanged"
                           : nullptr;
  if (result == nullptr) return;
  state_.last = LastResult{result, now(), out.fromVersion,
                           out.toVersion, out.message};
  if (auto st = fx_.state.save(state_); !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
}

Outcome UpgradeTransaction::upgrade(const ApplyOptions& options) {
  // 1. Recover.
  if (Outcome begun =
          begin(options.dryRun ? Begin::kReadOnly : Begin::kRecover);
      begun.code != OutcomeCode::kDone) {
    return begun;
  }

  // 2. Decide. Nothing on this machine changes until the release is
  //    verified.
  auto decision = decide();
  if (!decision) return failUnchanged(decision.error().message());
  const Offer& offer = decision->offer;
  const std::string& to = offer.version;
  ReleaseRef from = decision->from;
  fx_.log.setContext({plan_.instance.str(), from.version, to});

  Outcome screened =
      screen(*decision, options.allowDowngrade || plan_.install.allowDowngrade);
  if (screened.code != OutcomeCode::kDone) {
    if (!options.dryRun) {
      if (from.version == to &&
          (!state_.installed || state_.installed->version != to)) {
        // Record what we found, so status and the next check know it;
        // only informative, so a failed save changes nothing of the
        // outcome. A dry run writes nothing at all.
        state_.installed = from;
        if (auto st = fx_.state.save(state_); !st) {
          fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
        }
      }
      dropFetched("it is not to be installed");
    }
    return screened;
  }
  fx_.log.event(
      Event::kStarted, "start",
      "upgrading " + plan_.instance.str() + " from " +
          (from.version.empty() ? "an unknown version" : from.version) +
          " to " + to,
      "ok");

  // 3. Acquire, verify and stage while the old version still serves: a
  //    bad release, a full disk or a failed Preflight= costs no downtime.
  //    A release fetched ahead is taken over instead, verified again.
  auto staged = stage(to, options.dryRun);
  if (!staged) return failUnchanged(staged.error().message());
  faultPoint("acquired");
  // A dry run leaves a release fetched ahead where it is.
  const bool keepStaged = options.dryRun && state_.fetched &&
                          state_.fetched->release.id == staged->release.id;
  if (auto st = preflight(from, staged->release); !st) {
    if (!keepStaged)
      (void)dropStaged(TransactionKind::kUpgrade, staged->release);
    return failUnchanged(st.error().message());
  }
  if (options.dryRun) {
    if (!keepStaged)
      (void)dropStaged(TransactionKind::kUpgrade, staged->release);
    return {OutcomeCode::kDone,
            "dry run: " + to + " verified and staged; nothing changed",
            from.version, to};
  }

  // Recorded with the transaction's first save, before anything changes.
  if (offer.ordered && (state_.highestVerified.empty() ||
                        compareVersions(to, state_.highestVerified) > 0)) {
    state_.highestVerified = to;
  }
  Transaction t;
  t.kind = TransactionKind::kUpgrade;
  t.from = from;
  t.to = staged->release;
  t.started = now();
  return install(std::move(t));
}

// Whether the offer of `d` is to be installed: kDone to go on, or the
// outcome that says why not (nothing to do, quarantined, a refused
// downgrade). Changes nothing.
Outcome UpgradeTransaction::screen(const Decision& d, bool allowDowngrade) {
  const Offer& offer = d.offer;
  const std::string& to = offer.version;
  const ReleaseRef& from = d.from;
  if (from.version == to) {
    return {OutcomeCode::kNothingToDo, "already at version " + to, to, to};
  }
  if (state_.isQuarantined(to)) {
    return {OutcomeCode::kNothingToDo,
            "version " + to +
                " is quarantined after a failed upgrade; not retrying it "
                "(upgrader unquarantine " +
                plan_.instance.str() + " " + to + ")",
            from.version, to};
  }
  if (offer.ordered && !from.version.empty() &&
      compareVersions(to, from.version) < 0 && !allowDowngrade) {
    return failUnchanged("refusing to downgrade from " + from.version + " to " +
                         to + " without --allow-downgrade");
  }
  // Anti-rollback: a release server (or a mirror, or whoever took its
  // place) that offers an older, correctly signed release than one this
  // instance already verified may be replaying a known-vulnerable version.
  // What is installed now may itself be older (after a rollback), so the
  // bar is the newest version ever verified, kept in the state file.
  if (offer.ordered && !state_.highestVerified.empty() &&
      compareVersions(to, state_.highestVerified) < 0 && !allowDowngrade) {
    return failUnchanged("refusing to install " + to + ": version " +
                         state_.highestVerified +
                         " was verified for this instance before, and an "
                         "older release is only installed with "
                         "--allow-downgrade");
  }
  return {OutcomeCode::kDone, "", from.version, to};
}

// The release `version` staged, with its evidence in the journal: the one
// a fetch left if it is that release and the strategy finds it still
// what was verified (nothing acquired again), else acquired now. A
// fetched release that is not taken over goes first (superseded, or no
// longer what was verified); one taken over is the caller's from here
// on: the next save no longer records it as fetched. A dry run takes
// over nothing: it only looks.
Result<Staged> UpgradeTransaction::stage(const std::string& version,
                                         bool dryRun) {
  if (auto adopted = takeOverFetched(version)) {
    const FetchedRelease fetched = *state_.fetched;
    if (!dryRun) state_.fetched.reset();
    fx_.log.event(Event::kVerified, "verify",
                  "release " + version + " fetched ahead at " + fetched.time +
                      " (" + fetched.evidence +
                      "); checked again: " + adopted->evidence,
                  "ok");
    return *adopted;
  }
  if (!dryRun) dropFetched("it is not the release to install");
  auto staged =
      fx_.strategy.acquire([this](std::uint64_t got, std::uint64_t total) {
        fx_.log.progress(got, total);
      });
  if (!staged) return staged.error();
  fx_.log.event(
      Event::kVerified, "verify",
      "release " + version + " verified and staged (" + staged->evidence + ")",
      "ok");
  return staged;
}

// The release a fetch left, if it is release `version` and the strategy
// takes it over (still what was verified, nothing acquired); if it is that
// release but no longer usable, a warning and none: the caller removes it
// and acquires again. Changes no record.
std::optional<Staged> UpgradeTransaction::takeOverFetched(
    const std::string& version) {
  if (!state_.fetched || state_.fetched->release.version != version) {
    return std::nullopt;
  }
  auto adopted = fx_.strategy.adopt(state_.fetched->release);
  if (adopted) return *adopted;
  fx_.log.log(Severity::kWarning,
              "release " + version + " fetched ahead is no longer usable: " +
                  adopted.error().message() + "; acquiring it again");
  return std::nullopt;
}

// Removes the release a fetch left, and its record. Nothing of it is in
// place, so a removal that fails is only clutter, tried again by the next
// run's clean-up; the record goes in any case.
void UpgradeTransaction::dropFetched(const std::string& why) {
  if (!state_.fetched) return;
  const ReleaseRef release = state_.fetched->release;
  fx_.log.log(Severity::kInfo,
              "removing release " + release.version + " fetched ahead: " + why);
  if (auto st = dropStaged(TransactionKind::kUpgrade, release); !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
  state_.fetched.reset();
  if (auto st = fx_.state.save(state_); !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
}

// Steps 1 to 3 of an upgrade, and the release kept staged: no unit is
// touched, so a fleet can fetch and verify everywhere before any host
// stops.
Outcome UpgradeTransaction::fetch(bool allowDowngrade) {
  if (Outcome begun = begin(Begin::kNoUnits);
      begun.code != OutcomeCode::kDone) {
    return begun;
  }
  auto decision = decide();
  if (!decision) return failUnchanged(decision.error().message());
  const std::string to = decision->offer.version;
  const ReleaseRef from = decision->from;
  fx_.log.setContext({plan_.instance.str(), from.version, to});
  Outcome screened =
      screen(*decision, allowDowngrade || plan_.install.allowDowngrade);
  if (screened.code != OutcomeCode::kDone) {
    dropFetched("it is not to be installed");
    return screened;
  }
  if (auto adopted = takeOverFetched(to)) {
    return {OutcomeCode::kNothingToDo,
            to + " was fetched at " + state_.fetched->time +
                " and is still as verified (" + adopted->evidence + ")",
            from.version, to};
  }
  dropFetched("it is not the release to install");
  fx_.log.log(Severity::kInfo,
              "fetching " + to + " for " + plan_.instance.str());
  auto staged =
      fx_.strategy.acquire([this](std::uint64_t got, std::uint64_t total) {
        fx_.log.progress(got, total);
      });
  if (!staged) return failUnchanged(staged.error().message());
  if (auto st = preflight(from, staged->release); !st) {
    (void)dropStaged(TransactionKind::kUpgrade, staged->release);
    return failUnchanged(st.error().message());
  }
  // Recorded in one save with the anti-rollback bar: from here on the
  // next run's clean-up keeps it.
  InstanceState next = state_;
  next.fetched = FetchedRelease{staged->release, now(), staged->evidence};
  if (decision->offer.ordered &&
      (next.highestVerified.empty() ||
       compareVersions(to, next.highestVerified) > 0)) {
    next.highestVerified = to;
  }
  if (auto st = fx_.state.save(next); !st) {
    (void)dropStaged(TransactionKind::kUpgrade, staged->release);
    return failUnchanged(st.error().message());
  }
  state_ = next;
  std::string message = "fetched " + to + " (" + staged->evidence +
                        "); 'upgrader apply " + plan_.instance.str() +
                        "' installs it";
  fx_.log.event(Event::kVerified, "verify", message, "ok");
  return {OutcomeCode::kDone, message, from.version, to};
}

Outcome UpgradeTransaction::goBack() {
  if (Outcome begun = begin(Begin::kRecover); begun.code != OutcomeCode::kDone)
    return begun;
  // The previous release is staged where a fetched one waits (binary: the
  // staged name): a release fetched ahead goes first.
  dropFetched("going back to the previous release");
  if (!state_.installed || !state_.previous) {
    return failUnchanged("no previous release of '" + plan_.instance.str() +
                         "' to roll back to");
  }
  auto current = fx_.strategy.currentId();
  if (!current || *current != state_.installed->id) {
    return failUnchanged(
        fx_.strategy.place() + " no longer holds the installed release " +
        state_.installed->version + "; refusing to guess what to roll back");
  }
  ReleaseRef from = *state_.installed;
  fx_.log.setContext(
      {plan_.instance.str(), from.version, state_.previous->version});
  fx_.log.event(Event::kStarted, "start",
                "rolling back " + plan_.instance.str() + " from " +
                    from.version + " to " + state_.previous->version,
                "ok");
  auto staged = fx_.strategy.stagePrevious(*state_.previous);
  if (!staged) return failUnchanged(staged.error().message());

  Transaction t;
  t.kind = TransactionKind::kRollback;
  t.from = from;
  t.to = *staged;
  t.started = now();
  return install(std::move(t));
}

Outcome UpgradeTransaction::check() {
  auto loaded = fx_.state.load();
  if (!loaded) return failUnchanged(loaded.error().message());
  state_ = *loaded;
  auto decision = decide();
  if (!decision) return failUnchanged(decision.error().message());
  const std::string& to = decision->offer.version;
  const std::string& from = decision->from.version;
  if (from == to) {
    return {OutcomeCode::kNothingToDo, "up to date at " + to, from, to};
  }
  if (state_.isQuarantined(to)) {
    return {OutcomeCode::kNothingToDo, to + " is available but quarantined",
            from, to};
  }
  if (decision->offer.ordered && !from.empty() &&
      compareVersions(to, from) < 0) {
    return {OutcomeCode::kNothingToDo,
            "the release offered (" + to + ") is older than " + from, from, to};
  }
  std::string fetched;
  if (state_.fetched && state_.fetched->release.version == to) {
    fetched = "; fetched at " + state_.fetched->time;
  }
  return {OutcomeCode::kDone,
          to + " is available (installed: " +
              (from.empty() ? std::string("unknown") : from) + ")" + fetched,
          from, to};
}

// The irreversible part. Every step is recorded before it is taken; from
// the first stop on, any failure ends in rollBack().
Outcome UpgradeTransaction::install(Transaction t) {
  const std::string to = t.to.version;
  // systemd must be reachable and know every unit before one is stopped: a
  // typo in Unit= or a missing bus fails here, with nothing changed, not
  // half-way through a stop sequence.
  for (const auto& unit : plan_.target.units) {
    if (auto status = fx_.units.unitStatus(unit); !status) {
      (void)dropStaged(t.kind, t.to);
      return failUnchanged(status.error().message());
    }
  }
  // Recorded before anything is stopped: if we die from here on, the next
  // run knows a staged release may be lying around.
  if (auto st = record(t, Step::kStaged); !st) {
    (void)dropStaged(t.kind, t.to);
    state_.transaction.reset();  // never saved: nothing to record later
    return failUnchanged(st.error().message());
  }
  faultPoint("staged");

  // Backups and the like (PreStop=) run while the old version still serves
  // and before the point of no return: their failure changes nothing.
  // Then the part of the swap that changes nothing the service runs: the
  // less is left for the time it is down, the shorter that time.
  Status prepared = runHooks(plan_.hooks.preStop, "PreStop", t);
  if (prepared) prepared = fx_.strategy.prepareSwap(t.from);
  if (!prepared) return abandon(t, prepared.error());
  if (auto st = record(t, Step::kStopping); !st) return abandon(t, st.error());
  faultPoint("stopping");
  if (auto st = stopUnits(); !st)
    return rollBack(t, st.error().message(), false);
  fx_.log.event(Event::kStopped, "stop", "stopped the service", "ok");
  faultPoint("stopped");

  // Swapping while stopped: what a running service was started from never
  // changes under it (no mix of old and new parts in one process).
  // Still recorded as 'stopping': recovery is the same, and a save here
  // would add downtime.
  if (auto st = fx_.strategy.swap(t.from, t.to); !st) {
    return rollBack(t, st.error().message(), false);
  }
  const std::uint64_t swappedAt = fx_.clock.realtimeMicros();
  fx_.log.event(Event::kSwapped, "swap",
                "release " + to + " is in place in " + fx_.strategy.place(),
                "ok");
  faultPoint("swapped");

  // Migrations change data the old version may not read: from here on a
  // rollback must run Restore=, so `migrated` is recorded first. Going back
  // on request migrates nothing: Migrate= only knows how to go forward.
  if (isUpgrade(t) && !plan_.hooks.migrate.empty()) {
    t.migrated = true;
    if (auto st = record(t, Step::kMigrating); !st) {
      return rollBack(t, st.error().message(), false);
    }
    if (auto st = runHooks(plan_.hooks.migrate, "Migrate", t); !st) {
      return rollBack(t, st.error().message(), true);
    }
    faultPoint("migrated");
  }

  // An application that migrates its data on its own first start changes
  // it as much as Migrate= does: from its start on, a rollback must run
  // Restore= too. Recorded before the start, since a run killed during it
  // must restore as well; only where it changes what a rollback does (a
  // Restore= to run, no Migrate= recorded), as every save here is
  // downtime.
  if (isUpgrade(t) && !t.migrated && !plan_.hooks.restore.empty()) {
    t.newStarted = true;
    if (auto st = record(t, Step::kStopping); !st) {
      t.newStarted = false;  // never started: nothing to restore
      return rollBack(t, st.error().message(), false);
    }
  }
  if (auto st = startUnitsSince(swappedAt); !st) {
    return rollBack(t, st.error().message(), true);
  }
  fx_.log.event(Event::kStartedNew, "start-new", "started " + to, "ok");
  faultPoint("started");

  if (auto st = record(t, Step::kChecking); !st) {
    return rollBack(t, st.error().message(), false);
  }
  if (auto st = fx_.health.waitHealthy(plan_.health, plan_.target.units); !st) {
    return rollBack(t, st.error().message(), true);
  }
  fx_.log.event(Event::kHealthy, "health", to + " is healthy", "ok");
  faultPoint("checked");

  // The commit point: one atomic save makes the new release the installed
  // one and ends the transaction. A rollback on request quarantines the
  // release it left in the same save: if that were a second save and it
  // failed, the timer could bring straight back what the operator removed.
  InstanceState committed = state_;
  committed.previous = t.from;
  committed.installed = t.to;
  committed.last =
      LastResult{isUpgrade(t) ? "upgraded" : "rolled-back-on-request",
                 now(), t.from.version, to, "ok"};
  if (!isUpgrade(t) && !committed.isQuarantined(t.from.version)) {
    committed.quarantined.push_back(
        {t.from.version, now(), "rolled back by the operator"});
  }
  committed.transaction.reset();
  if (auto st = fx_.state.save(committed); !st) {
    return rollBack(t, st.error().withContext("Failed to commit").message(),
                    false);
  }
  state_ = committed;
  fx_.log.event(Event::kCommitted, "commit",
                (isUpgrade(t) ? "upgraded from " : "rolled back from ") +
                    (t.from.version.empty() ? std::string("an unknown version")
                                            : t.from.version) +
                    " to " + to,
                "ok");
  faultPoint("committed");

  // After the commit nothing can undo it; failures here are only reported.
  if (auto st = isUpgrade(t)
                    ? runHooks(plan_.hooks.postUpgrade, "PostUpgrade", t)
                    : runHooks(plan_.hooks.postRollback, "PostRollback", t);
      !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
  if (auto st = fx_.strategy.prune(t.to, t.from); !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
  return {OutcomeCode::kDone,
          (isUpgrade(t) ? "upgraded " : "rolled back ") + plan_.instance.str() +
              " to " + to,
          t.from.version, to};
}

// Gives up before anything was stopped: the staged release goes, and so
// does the record of the transaction.
Outcome UpgradeTransaction::abandon(const Transaction& t, const Error& why) {
  (void)dropStaged(t.kind, t.to);
  state_.transaction.reset();
  (void)fx_.state.save(state_);
  return failUnchanged(why.message());
}

// Brings the old release back, and its data if the new release may have
// changed it (Restore=). `blameNew`: the new release itself failed
// (start, health, migration), so it is quarantined; a crash or an I/O error
// is not its fault, and it will be tried again.
Outcome UpgradeTransaction::rollBack(Transaction t, const std::string& cause,
                                     bool blameNew) {
  fx_.log.event(Event::kFailed,
                t.step == Step::kRollingBack ? "recover" : stepName(t.step),
                "upgrade to " + t.to.version + " failed: " + cause, cause);
  t.failure = cause;
  t.blameNew = t.blameNew || blameNew;
  if (auto st = record(t, Step::kRollingBack); !st) {
    fx_.log.log(Severity::kError,
                st.error().message() + ", rolling back anyway");
  }
  faultPoint("rollback-begun");

  Status restored = restoreOld(t);
  std::string what = isUpgrade(t) ? "upgrade to " : "rollback to ";
  if (!restored) {
    // The transaction stays recorded: the next run tries the rollback again.
    std::string message =
        what + t.to.version + " failed (" + cause +
        ") and so did the rollback: " + restored.error().message();
    state_.last = LastResult{"rollback-failed", now(), t.from.version,
                             t.to.version, message};
    (void)fx_.state.save(state_);
    fx_.log.event(Event::kRollbackFailed, "rollback", message,
                  restored.error().message());
    return {OutcomeCode::kRollbackFailed, message, t.from.version,
            t.to.version};
  }

  if (t.blameNew && isUpgrade(t) && !state_.isQuarantined(t.to.version)) {
    state_.quarantined.push_back({t.to.version, now(), cause});
  }
  std::string message =
      what + t.to.version + " failed (" + cause + "); rolled back to " +
      (t.from.version.empty() ? std::string("the previous release")
                              : t.from.version) +
      ", which is healthy";
  state_.last = LastResult{"rolled-back", now(), t.from.version,
                           t.to.version, message};
  state_.transaction.reset();
  if (auto st = fx_.state.save(state_); !st) {
    fx_.log.log(Severity::kError, st.error().message());
  }
  if (auto st = dropStaged(t.kind, t.to); !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
  fx_.log.event(Event::kRolledBack, "rollback", message, "ok");
  if (auto st = runHooks(plan_.hooks.postRollback, "PostRollback", t); !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
  return {OutcomeCode::kRolledBack, message, t.from.version, t.to.version};
}

// Each step is idempotent, so a rollback killed half-way is simply run
// again by the next recover().
Status UpgradeTransaction::restoreOld(const Transaction& t) {
  // Nothing is stopped for a rollback that cannot put the old release back:
  // a stuck transaction must not take the service down on every run.
  if (auto st = fx_.strategy.canRevert(t.from); !st) return st;
  // Stopped first even if it "failed": a unit waiting to auto-restart would
  // otherwise come back on whatever is in place.
  if (auto st = stopUnits(); !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", continuing");
  }
  faultPoint("rollback-stopped");
  if (auto st = fx_.strategy.revert(t.from); !st) return st;
  const std::uint64_t reverted = fx_.clock.realtimeMicros();
  faultPoint("rollback-reverted");
  if (t.migrated || t.newStarted) {
    // The data may have moved forward (Migrate=, or the new release's own
    // first start). Work a migration started may outlive its hook (a
    // container the engine runs): it stops before Restore= puts the data
    // back under it.
    if (auto st = fx_.strategy.quiesce(t.to); !st) {
      return st.error().withContext(
          "Restore= not run while the new release may still be migrating");
    }
    if (auto st = runHooks(plan_.hooks.restore, "Restore", t); !st) return st;
  }
  if (auto st = startUnitsSince(reverted); !st) return st;
  faultPoint("rollback-started");
  // RollbackTimeoutSec=, not TimeoutSec=: giving up on the release that
  // served before this run leaves the service down until the next run, so
  // it may be given longer than a new release is (slow on a loaded
  // machine, say, or replaying its journal).
  if (auto st = fx_.health.waitHealthy(plan_.health.forRollback(),
                                       plan_.target.units);
      !st) {
    return st.error().withContext("the old release is not healthy");
  }
  faultPoint("rollback-checked");
  return okStatus();
}

Outcome UpgradeTransaction::recover() {
  Transaction t = *state_.transaction;
  fx_.log.setContext({plan_.instance.str(), t.from.version, t.to.version});
  // A hook runs as a unit of its own and outlives a killed run: a Migrate=
  // must not go on writing while Restore= puts the data back under it.
  if (auto st = fx_.hooks.stopLeftovers(); !st) {
    return failUnchanged(
        st.error()
            .withContext("a previous run was interrupted, and its hooks may "
                         "still run")
            .message());
  }
  if (t.step == Step::kStaged) {
    // Nothing was stopped: drop the staged release and carry on.
    fx_.log.log(Severity::kInfo, "removing the release a previous run staged");
    // Nothing was stopped, so a leftover that cannot go now is only
    // clutter: it is tried again by the next run's clean-up.
    if (auto st = dropStaged(t.kind, t.to); !st) {
      fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
    }
    state_.transaction.reset();
    if (auto st = fx_.state.save(state_); !st) {
      return failUnchanged(st.error().message());
    }
    return {OutcomeCode::kDone, "", {}, {}};
  }
  // The service may be stopped, half-swapped or unchecked: put the old
  // release back and make sure it serves. A killed run is not the new
  // release's fault, so it is not quarantined, unless the run was already
  // rolling back because of it (t.blameNew, kept in the state file).
  std::string cause =
      t.failure.empty()
          ? std::string("a previous run was interrupted at step '") +
                stepName(t.step) + "'"
          : t.failure;
  Outcome out = rollBack(t, cause, false);
  if (out.code != OutcomeCode::kRolledBack) return out;
  fx_.log.log(Severity::kInfo, "recovered: " + out.message);
  return {OutcomeCode::kDone, out.message, {}, {}};
}

// Removes what staging t.to left behind, but never a release that is a
// rollback point: a rollback on request "stages" the previous release
// itself, and an upgrade to the version of the previous release (allowed
// downgrade) reuses its place.
Status UpgradeTransaction::dropStaged(TransactionKind kind,
                                      const ReleaseRef& to) {
  bool isRollbackPoint = kind != TransactionKind::kUpgrade ||
                         (state_.previous && state_.previous->id == to.id);
  return fx_.strategy.discard(
      to, isRollbackPoint ? Discard::kKeepRelease : Discard::kRelease);
}

Status UpgradeTransaction::record(Transaction& t, Step step) {
  t.step = step;
  state_.transaction = t;
  return fx_.state.save(state_);
}

std::optional<Duration> UpgradeTransaction::unavailable() {
  if (!downSince_) return std::nullopt;
  SteadyTime end = upAgain_ ? *upAgain_ : fx_.clock.now();
  return std::chrono::duration_cast<Duration>(end - *downSince_);
}

Status UpgradeTransaction::stopUnits() {
  if (!downSince_) downSince_ = fx_.clock.now();
  for (const auto& unit : plan_.target.units) {
    if (auto st = fx_.units.stopUnit(unit, plan_.target.stopTimeout); !st) {
      return st;
    }
  }
  return okStatus();
}

// Starts the units, then makes sure none of them runs what was in place
// before `sinceUs`: a socket-activated service is started by its socket as
// soon as a request comes in after the stop, possibly before the swap, and
// our start job then finds it running and does nothing. Such a unit is
// restarted, so what runs is what is in place now.
Status UpgradeTransaction::startUnitsSince(std::uint64_t sinceUs) {
  if (auto st = startUnits(); !st) return st;
  for (const auto& unit : plan_.target.units) {
    auto status = fx_.units.unitStatus(unit);
    if (!status) return status.error();
    std::uint64_t since = status->activeEnterTimestampUs;
    if (since == 0 || since >= sinceUs) continue;
    fx_.log.log(Severity::kInfo, "'" + unit.str() +
                                     "' was started before the swap (by its "
                                     "socket?); restarting it");
    if (auto st = fx_.units.restartUnit(unit, plan_.target.startTimeout); !st) {
      return st;
    }
  }
  if (downSince_) upAgain_ = fx_.clock.now();
  return okStatus();
}

// Reverse order: the first unit listed is usually the front that depends
// on the others.
Status UpgradeTransaction::startUnits() {
  const auto& units = plan_.target.units;
  for (auto it = units.rbegin(); it != units.rend(); ++it) {
    if (auto st = fx_.units.startUnit(*it, plan_.target.startTimeout); !st) {
      return st;
    }
  }
  return okStatus();
}

// What every hook is told: the instance, the versions, and from the
// strategy where the two releases are (paths, images).
Environment UpgradeTransaction::hookEnvironment(const ReleaseRef& from,
                                                const ReleaseRef& to) const {
  Environment env = fx_.strategy.hookEnvironment(from, to);
  env["UPGRADER_INSTANCE"] = plan_.instance.str();
  env["UPGRADER_FROM_VERSION"] = from.version;
  env["UPGRADER_TO_VERSION"] = to.version;
  return env;
}

Status UpgradeTransaction::runHooks(const std::vector<std::string>& hooks,
                                    const char* what, const Transaction& t) {
  const Environment env = hookEnvironment(t.from, t.to);
  for (const auto& hook : hooks) {
    fx_.log.log(Severity::kInfo, std::string("running ") + what + "=" + hook);
    if (auto st = fx_.hooks.run({what, hook, env, plan_.hooks.timeout}); !st) {
      return st.error().withContext(std::string(what) + "= hook failed");
    }
  }
  return okStatus();
}

Status UpgradeTransaction::preflight(const ReleaseRef& from,
                                     const ReleaseRef& staged) {
  if (plan_.install.preflight.empty()) return okStatus();
  std::string command =
      fx_.strategy.preflightCommand(plan_.install.preflight, staged);
  if (auto st = fx_.commands.runShell(command, hookEnvironment(from, staged),
                                      plan_.install.preflightTimeout);
      !st) {
    return st.error().withContext("Preflight= failed for " + staged.version +
                                  "; nothing was changed");
  }
  return okStatus();
}

}  // namespace upgrader
