// The order of an upgrade, top to bottom. Each step is recorded in the state
// file *before* the action it names (see docs/on-disk-states.md), so that a
// run killed at any instant leaves enough behind for the next one to finish
// or undo the work.
#include "upgrade/transaction.hpp"

#include <algorithm>
#include <chrono>

#include "common/file_util.hpp"
#include "fetch/release_source.hpp"
#include "fetch/version.hpp"
#include "upgrade/fault_injection.hpp"

namespace upgrader {

namespace {

std::uint64_t realtimeMicros() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// "@path" in Preflight= stands for the staged release.
std::string expandPath(std::string command, const std::string& path) {
  for (std::size_t at = command.find("@path"); at != std::string::npos;
       at = command.find("@path", at + path.size())) {
    command.replace(at, 5, path);
  }
  return command;
}

}  // namespace

struct UpgradeTransaction::Decision {
  Release release;
  ReleaseRef from;
};

UpgradeTransaction::UpgradeTransaction(const Plan& plan, Effects effects)
    : plan_(plan), fx_(effects) {}

Outcome UpgradeTransaction::failUnchanged(const std::string& message) {
  fx_.log.event(Event::kFailed, "prepare", message, message);
  return {OutcomeCode::kFailedUnchanged, message, {}, {}};
}

// What to install, and whether to at all: reads the network and the disk,
// changes nothing.
Result<UpgradeTransaction::Decision> UpgradeTransaction::decide() {
  auto release = resolveRelease(plan_.source, fx_.fetcher);
  if (!release) return release.error();
  auto current = fx_.installer.currentId();
  if (!current) {
    return current.error().withContext("Cannot tell which release of '" +
                                       plan_.install.path + "' is installed");
  }
  // The state file knows the version only if the path still holds what we
  // installed; a file changed behind our back is of unknown version.
  std::string installed;
  if (state_.installed && state_.installed->id == *current) {
    installed = state_.installed->version;
  }
  Decision d{*release, ReleaseRef{installed, *current}};
  if (installed.empty()) d.from.version = recogniseVersion(d.release, *current);
  return d;
}

// The version of a release installed before upgrader managed it, by
// content: a release directory named after its version, or an executable
// whose digest the listing has. "" if it cannot be known.
std::string UpgradeTransaction::recogniseVersion(const Release& release,
                                                 const std::string& id) const {
  if (plan_.install.mode == InstallConfig::Mode::kSymlink) {
    std::string name = baseName(id);
    return isValidVersion(name) ? name : "";
  }
  if (isArchiveRelease(plan_.source)) return "";  // digests are of archives
  if (release.expected && release.expected->hex() == id) {
    return release.version.str();
  }
  for (const auto& [version, digest] : release.listed) {
    if (digest.hex() == id) return version.str();
  }
  return "";
}

// Loads the state and makes the service whole again: a run killed half-way
// comes first, before anything new is tried. Then removes what a run
// killed before it recorded anything (during the download, say) left:
// partial downloads, temp names; nothing uses them now. kDone to go on.
// A dry run changes nothing, so it neither recovers nor removes anything.
Outcome UpgradeTransaction::begin(bool dryRun) {
  auto loaded = fx_.state.load();
  if (!loaded) return failUnchanged(loaded.error().message());
  state_ = *loaded;
  if (state_.transaction && dryRun) {
    return failUnchanged("a previous run of '" + plan_.instance.str() +
                         "' was interrupted; 'upgrader apply " +
                         plan_.instance.str() + "' finishes it first");
  }
  if (state_.transaction) {
    Outcome recovered = recover();
    if (recovered.code != OutcomeCode::kDone) return recovered;
  }
  if (!dryRun) {
    if (auto st = fx_.installer.discard({}); !st) {
      fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
    }
  }
  return {OutcomeCode::kDone, "", {}, {}};
}

Outcome UpgradeTransaction::apply(const ApplyOptions& options) {
  // 1. Recover.
  if (Outcome begun = begin(options.dryRun); begun.code != OutcomeCode::kDone) {
    return begun;
  }

  // 2. Decide. Nothing on this machine changes until the release is
  //    verified.
  auto decision = decide();
  if (!decision) return failUnchanged(decision.error().message());
  const Release& release = decision->release;
  const std::string& to = release.version.str();
  ReleaseRef from = decision->from;
  fx_.log.setContext({plan_.instance.str(), from.version, to});

  if (from.version == to) {
    if (!state_.installed || state_.installed->version != to) {
      // Record what we found, so status and the next check know it.
      state_.installed = from;
      (void)fx_.state.save(state_);
    }
    return {OutcomeCode::kNothingToDo, "already at version " + to, to, to};
  }
  if (state_.isQuarantined(to)) {
    return {OutcomeCode::kNothingToDo,
            "version " + to +
                " is quarantined after a failed upgrade; not retrying it "
                "(upgrader unquarantine " + plan_.instance.str() + " " + to + ")",
            from.version, to};
  }
  bool allowDowngrade = options.allowDowngrade || plan_.install.allowDowngrade;
  if (!from.version.empty() && compareVersions(to, from.version) < 0 &&
      !allowDowngrade) {
    return failUnchanged("refusing to downgrade from " + from.version +
                         " to " + to + " without --allow-downgrade");
  }
  fx_.log.event(Event::kStarted, "start",
                "upgrading " + plan_.instance.str() + " from " +
                    (from.version.empty() ? "an unknown version" : from.version) +
                    " to " + to,
                "ok");

  // 3. Download, verify and stage while the old version still serves: a
  //    bad release, a full disk or a failed Preflight= costs no downtime.
  auto fetched = fx_.fetcher.fetchToFile(
      release.url, fx_.installer.downloadDirectory(),
      fetchOptionsFrom(plan_.source),
      [this](std::uint64_t got, std::uint64_t total) {
        fx_.log.progress(got, total);
      });
  if (!fetched) return failUnchanged(fetched.error().message());
  if (!release.expected || fetched->digest != *release.expected) {
    (void)removeIfExists(fetched->path);
    return failUnchanged("checksum mismatch for '" + release.url +
                         "': expected sha256 " +
                         (release.expected ? release.expected->hex() : "?") +
                         ", got " + fetched->digest.hex());
  }
  auto staged = fx_.installer.stage(*fetched, release);
  if (!staged) return failUnchanged(staged.error().message());
  fx_.log.event(Event::kVerified, "verify",
                "release " + to + " verified (sha256 " + fetched->digest.hex() +
                    ") and staged at " + fx_.installer.stagedPath(*staged),
                "ok");
  if (auto st = preflight(*staged); !st) {
    (void)dropStaged("upgrade", *staged);
    return failUnchanged(st.error().message());
  }
  if (options.dryRun) {
    (void)dropStaged("upgrade", *staged);
    return {OutcomeCode::kDone,
            "dry run: " + to + " verified and staged; nothing changed",
            from.version, to};
  }

  Transaction t;
  t.kind = "upgrade";
  t.from = from;
  t.to = *staged;
  t.stagedPath = fx_.installer.stagedPath(*staged);
  t.started = isoTimeNow();
  return install(std::move(t));
}

Outcome UpgradeTransaction::rollback() {
  if (Outcome begun = begin(false); begun.code != OutcomeCode::kDone) return begun;
  if (!state_.installed || !state_.previous) {
    return failUnchanged("no previous release of '" + plan_.instance.str() +
                         "' to roll back to");
  }
  auto current = fx_.installer.currentId();
  if (!current || *current != state_.installed->id) {
    return failUnchanged("'" + plan_.install.path +
                         "' no longer holds the installed release " +
                         state_.installed->version +
                         "; refusing to guess what to roll back");
  }
  ReleaseRef from = *state_.installed;
  fx_.log.setContext({plan_.instance.str(), from.version,
                      state_.previous->version});
  fx_.log.event(Event::kStarted, "start",
                "rolling back " + plan_.instance.str() + " from " +
                    from.version + " to " + state_.previous->version,
                "ok");
  auto staged = fx_.installer.stagePrevious(*state_.previous);
  if (!staged) return failUnchanged(staged.error().message());

  Transaction t;
  t.kind = "rollback";
  t.from = from;
  t.to = *staged;
  t.stagedPath = fx_.installer.stagedPath(*staged);
  t.started = isoTimeNow();
  Outcome out = install(std::move(t));
  if (out.code == OutcomeCode::kDone) {
    // The operator left this release on purpose: a timer must not bring it
    // straight back.
    state_.quarantined.push_back(
        {from.version, isoTimeNow(), "rolled back by the operator"});
    (void)fx_.state.save(state_);
  }
  return out;
}

Outcome UpgradeTransaction::check() {
  auto loaded = fx_.state.load();
  if (!loaded) return failUnchanged(loaded.error().message());
  state_ = *loaded;
  auto decision = decide();
  if (!decision) return failUnchanged(decision.error().message());
  const std::string to = decision->release.version.str();
  const std::string& from = decision->from.version;
  if (from == to) {
    return {OutcomeCode::kNothingToDo, "up to date at " + to, from, to};
  }
  if (state_.isQuarantined(to)) {
    return {OutcomeCode::kNothingToDo, to + " is available but quarantined",
            from, to};
  }
  if (!from.empty() && compareVersions(to, from) < 0) {
    return {OutcomeCode::kNothingToDo,
            "the release offered (" + to + ") is older than " + from, from,
            to};
  }
  return {OutcomeCode::kDone,
          to + " is available (installed: " +
              (from.empty() ? std::string("unknown") : from) + ")",
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
    return failUnchanged(st.error().message());
  }
  faultPoint("staged");

  // Backups and the like (PreStop=) run while the old version still serves
  // and before the point of no return: their failure changes nothing.
  // Then the part of the swap that changes nothing the service runs: the
  // less is left for the time it is down, the shorter that time.
  Status prepared = runHooks(plan_.hooks.preStop, "PreStop", t);
  if (prepared) prepared = fx_.installer.prepareSwap(t.from);
  if (!prepared) return abandon(t, prepared.error());
  if (auto st = record(t, Step::kStopping); !st) return abandon(t, st.error());
  faultPoint("stopping");
  if (auto st = stopUnits(); !st) return rollBack(t, st.error().message(), false);
  fx_.log.event(Event::kStopped, "stop", "stopped the service", "ok");
  faultPoint("stopped");

  // Swapping while stopped: the files of a running service never change
  // under it (symlink mode: no mix of old and new files in one process).
  // Still recorded as 'stopping': recovery is the same, and a save here
  // would add downtime.
  if (auto st = fx_.installer.swap(t.from, t.to); !st) {
    return rollBack(t, st.error().message(), false);
  }
  const std::uint64_t swappedAt = realtimeMicros();
  fx_.log.event(Event::kSwapped, "swap",
                "release " + to + " is in place at " + plan_.install.path,
                "ok");
  faultPoint("swapped");

  // Migrations change data the old version may not read: from here on a
  // rollback must run Restore=, so `migrated` is recorded first. Going back
  // on request migrates nothing: Migrate= only knows how to go forward.
  if (t.kind == "upgrade" && !plan_.hooks.migrate.empty()) {
    t.migrated = true;
    if (auto st = record(t, Step::kMigrating); !st) {
      return rollBack(t, st.error().message(), false);
    }
    if (auto st = runHooks(plan_.hooks.migrate, "Migrate", t); !st) {
      return rollBack(t, st.error().message(), true);
    }
    faultPoint("migrated");
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
  // one and ends the transaction.
  InstanceState committed = state_;
  committed.previous = t.from;
  committed.installed = t.to;
  committed.last = LastResult{t.kind == "upgrade" ? "upgraded" : "rolled-back-on-request",
                              isoTimeNow(), t.from.version, to, "ok"};
  committed.transaction.reset();
  if (auto st = fx_.state.save(committed); !st) {
    return rollBack(t, st.error().withContext("Failed to commit").message(),
                    false);
  }
  state_ = committed;
  fx_.log.event(Event::kCommitted, "commit",
                (t.kind == "upgrade" ? "upgraded from " : "rolled back from ") +
                    (t.from.version.empty() ? std::string("an unknown version")
                                            : t.from.version) +
                    " to " + to,
                "ok");
  faultPoint("committed");

  // After the commit nothing can undo it; failures here are only reported.
  bool upgrade = t.kind == "upgrade";
  if (auto st = upgrade ? runHooks(plan_.hooks.postUpgrade, "PostUpgrade", t)
                        : runHooks(plan_.hooks.postRollback, "PostRollback", t);
      !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
  if (auto st = fx_.installer.prune(t.to, t.from); !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", ignoring");
  }
  return {OutcomeCode::kDone,
          (t.kind == "upgrade" ? "upgraded " : "rolled back ") +
              plan_.instance.str() + " to " + to,
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

// Brings the old release back. `blameNew`: the new release itself failed
// (start, health, migration), so it is quarantined; a crash or an I/O error
// is not its fault, and it will be tried again.
Outcome UpgradeTransaction::rollBack(Transaction t, const std::string& cause,
                                     bool blameNew) {
  fx_.log.event(Event::kFailed, t.step == Step::kRollingBack ? "recover" : stepName(t.step),
                "upgrade to " + t.to.version + " failed: " + cause, cause);
  t.failure = cause;
  t.blameNew = t.blameNew || blameNew;
  if (auto st = record(t, Step::kRollingBack); !st) {
    fx_.log.log(Severity::kError, st.error().message() + ", rolling back anyway");
  }
  faultPoint("rollback-begun");

  Status restored = restoreOld(t);
  std::string what = t.kind == "upgrade" ? "upgrade to " : "rollback to ";
  if (!restored) {
    // The transaction stays recorded: the next run tries the rollback again.
    std::string message = what + t.to.version + " failed (" + cause +
                          ") and so did the rollback: " +
                          restored.error().message();
    state_.last = LastResult{"rollback-failed", isoTimeNow(), t.from.version,
                             t.to.version, message};
    (void)fx_.state.save(state_);
    fx_.log.event(Event::kRollbackFailed, "rollback", message,
                  restored.error().message());
    return {OutcomeCode::kRollbackFailed, message, t.from.version,
            t.to.version};
  }

  if (t.blameNew && t.kind == "upgrade" && !state_.isQuarantined(t.to.version)) {
    state_.quarantined.push_back({t.to.version, isoTimeNow(), cause});
  }
  std::string message = what + t.to.version + " failed (" + cause +
                        "); rolled back to " +
                        (t.from.version.empty() ? std::string("the previous release")
                                                : t.from.version) +
                        ", which is healthy";
  state_.last = LastResult{"rolled-back", isoTimeNow(), t.from.version,
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
  if (auto st = fx_.installer.canRevert(t.from); !st) return st;
  // Stopped first even if it "failed": a unit waiting to auto-restart would
  // otherwise come back on whatever the path holds.
  if (auto st = stopUnits(); !st) {
    fx_.log.log(Severity::kWarning, st.error().message() + ", continuing");
  }
  faultPoint("rollback-stopped");
  if (auto st = fx_.installer.revert(t.from, t.kind != "upgrade"); !st) return st;
  const std::uint64_t reverted = realtimeMicros();
  faultPoint("rollback-reverted");
  if (t.migrated) {
    if (auto st = runHooks(plan_.hooks.restore, "Restore", t); !st) return st;
  }
  if (auto st = startUnitsSince(reverted); !st) return st;
  faultPoint("rollback-started");
  if (auto st = fx_.health.waitHealthy(plan_.health, plan_.target.units); !st) {
    return st.error().withContext("the old release is not healthy");
  }
  faultPoint("rollback-checked");
  return okStatus();
}

Outcome UpgradeTransaction::recover() {
  Transaction t = *state_.transaction;
  fx_.log.setContext({plan_.instance.str(), t.from.version, t.to.version});
  if (t.step == Step::kStaged) {
    // Nothing was stopped: drop the staged release and carry on.
    fx_.log.log(Severity::kInfo, "removing the release a previous run staged");
    if (auto st = dropStaged(t.kind, t.to); !st) {
      return failUnchanged(st.error().message());
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
  std::string cause = t.failure.empty()
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
Status UpgradeTransaction::dropStaged(const std::string& kind,
                                       const ReleaseRef& to) {
  bool isRollbackPoint =
      kind != "upgrade" || (state_.previous && state_.previous->id == to.id);
  return fx_.installer.discard(isRollbackPoint ? ReleaseRef{to.version, ""} : to);
}

Status UpgradeTransaction::record(Transaction& t, Step step) {
  t.step = step;
  state_.transaction = t;
  return fx_.state.save(state_);
}

Status UpgradeTransaction::stopUnits() {
  for (const auto& unit : plan_.target.units) {
    if (auto st = fx_.units.stopUnit(unit, plan_.target.stopTimeout); !st) {
      return st;
    }
  }
  return okStatus();
}

// Starts the units, then makes sure none of them runs what the path held
// before `sinceUs`: a socket-activated service is started by its socket as
// soon as a request comes in after the stop, possibly before the swap, and
// our start job then finds it running and does nothing. Such a unit is
// restarted, so what runs is what the path holds now.
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

Status UpgradeTransaction::runHooks(const std::vector<std::string>& hooks,
                                    const char* what, const Transaction& t) {
  Environment env = {
      {"UPGRADER_INSTANCE", plan_.instance.str()},
      {"UPGRADER_FROM_VERSION", t.from.version},
      {"UPGRADER_TO_VERSION", t.to.version},
      {"UPGRADER_PATH", plan_.install.path},
      {"UPGRADER_STAGED_PATH", t.stagedPath},
      {"UPGRADER_OLD_PATH", fx_.installer.previousPath(t.from)},
  };
  for (const auto& hook : hooks) {
    fx_.log.log(Severity::kInfo, std::string("running ") + what + "=" + hook);
    if (auto st = fx_.commands.run(hook, env, plan_.hooks.timeout); !st) {
      return st.error().withContext(std::string(what) + "= hook failed");
    }
  }
  return okStatus();
}

Status UpgradeTransaction::preflight(const ReleaseRef& staged) {
  if (plan_.install.preflight.empty()) return okStatus();
  std::string command =
      expandPath(plan_.install.preflight, fx_.installer.stagedPath(staged));
  Environment env = {{"UPGRADER_INSTANCE", plan_.instance.str()},
                     {"UPGRADER_TO_VERSION", staged.version},
                     {"UPGRADER_STAGED_PATH", fx_.installer.stagedPath(staged)}};
  if (auto st = fx_.commands.run(command, env, plan_.install.preflightTimeout);
      !st) {
    return st.error().withContext("Preflight= failed for " + staged.version +
                                  "; nothing was changed");
  }
  return okStatus();
}

}  // namespace upgrader
