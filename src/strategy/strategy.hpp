// Release strategies: the one place that knows what a release of a service
// is and how it lands on this machine. Each strategy resolves the release
// its configuration points at, acquires it (download, pull), verifies it
// (SHA-256, image digest), stages it beside the release in service, and
// puts it in place and takes it back with atomic steps only:
//   binary   one executable at Path=, the previous kept as Path.old;
//   symlink  a `current` link flipped between release directories;
//   image    a container image pinned by digest in an environment file the
//            service's unit reads;
//   compose  a compose project: its env file or its directory (as above),
//            and every image it names pulled before anything stops.
// The transaction (upgrade/transaction.hpp) orders and records these steps
// and is written once for all of them: a new strategy never touches it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/release_ref.hpp"
#include "common/result.hpp"
#include "config/plan.hpp"
#include "exec/command_runner.hpp"
#include "fetch/fetcher.hpp"
#include "systemd/service_manager.hpp"

namespace upgrader {

/// The release a source offers now (resolve()).
struct Offer {
  std::string version;
  /// Whether versions of this source are ordered (compareVersions()): a
  /// release named by its digest has no order, so "older" means nothing.
  bool ordered = true;
};

/// What discard() does with the release it is given.
enum class Discard {
  /// Only what killed runs left (temp names, partial downloads, images
  /// pulled but never installed). The release given, if any, is one
  /// fetched ahead (`upgrader fetch`): it stays staged as it is, staged
  /// copy, directory and images included.
  kLeftovers,
  /// The release failed or was never put in place: it goes as well,
  /// unless it is in place.
  kRelease,
  /// The release is a rollback point (a rollback on request staged it, or
  /// an upgrade went back to the previous version): only the staged copy
  /// goes; the release itself (a directory, an image) stays.
  kKeepRelease,
};

/// A release that is acquired, verified and staged (acquire()).
struct Staged {
  ReleaseRef release;
  /// How it was verified and where it waits, for the journal:
  /// "sha256 3f2a..., staged at '/usr/bin/.app.upgrader-staged'".
  std::string evidence;
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  /// Where releases go, for messages: "'/usr/bin/progressdb'".
  virtual std::string place() const = 0;

  /// The identity of the release in place now. Error if there is none.
  virtual Result<std::string> currentId() const = 0;

  /// Finds the release the configuration points at: the pinned version, or
  /// the newest the source lists. Reads the network; changes nothing.
  virtual Result<Offer> resolve() = 0;

  /// The version of the release `id` names, known from what it is (a
  /// digest the listing has, a directory or a tag named after it); "" if it
  /// cannot be known. Call after resolve(), whose listing it may use.
  virtual std::string recognise(const std::string& id) const = 0;

  /// Acquires, verifies and stages the release the last resolve() offered,
  /// while the service runs on: nothing it runs changes. On failure nothing
  /// acquired is left behind (no file, no image) and the error names what
  /// was refused and why ("checksum mismatch for 'URL': ...").
  virtual Result<Staged> acquire(const ProgressFn& progress) = 0;

  /// Takes over `fetched`, a release an earlier acquire() staged and a
  /// fetch kept, as if acquire() had staged it now: checks that it is
  /// still staged, still what it was when it was verified, and still the
  /// release the last resolve() offered, and that the places it goes to
  /// are still writable by root alone. Acquires nothing (no download, no
  /// pull). Error, with nothing changed, if any of that fails: the caller
  /// then discards it and acquires again.
  virtual Result<Staged> adopt(const ReleaseRef& fetched) = 0;

  /// Stages the rollback point `previous` again, for `upgrader rollback`.
  /// Error if it is no longer where a rollback takes it from.
  virtual Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) = 0;

  /// Does, while the service still runs, whatever part of the swap does
  /// not change what is in place (binary: PATH.old becomes a link to the
  /// current release), so that the swap itself - done while the service is
  /// down - is as short as it can be. swap() does not depend on it.
  virtual Status prepareSwap(const ReleaseRef& from) = 0;

  /// Puts the staged release `to` in place, keeping `from` as the rollback
  /// point. Idempotent: a swap interrupted at any point can be run again.
  virtual Status swap(const ReleaseRef& from, const ReleaseRef& to) = 0;

  /// Ok if revert(from) can succeed: `from` is in place or where a revert
  /// takes it from. Changes nothing.
  virtual Status canRevert(const ReleaseRef& from) const = 0;

  /// Puts `from` back in place, and the rollback point as it was before
  /// the attempt: a run that does not commit leaves the machine as it
  /// found it. Idempotent. Error (and nothing changed) if `from` can no
  /// longer be found by its id.
  virtual Status revert(const ReleaseRef& from) = 0;

  /// Removes what staging `to` left that is not in place, as `what` says,
  /// and what killed runs left. Ok if there is none.
  virtual Status discard(const ReleaseRef& to, Discard what) = 0;

  /// Stops whatever of `release` still runs outside the service's units,
  /// which are stopped: a container a Migrate= hook started through the
  /// engine outlives the hook, and Restore= must not put data back under
  /// a migration still writing it. Files need nothing here: every
  /// process a hook started is stopped with its unit.
  virtual Status quiesce(const ReleaseRef& release) = 0;

  /// After a commit: makes `previous` the rollback point where the
  /// strategy keeps it by name (PATH.old), removes leftovers and old
  /// releases beyond what the configuration keeps, never `installed` or
  /// `previous`. Failures are only reported; the next run's clean-up
  /// (discard) finishes what is left.
  virtual Status prune(const ReleaseRef& installed,
                       const ReleaseRef& previous) = 0;

  /// The UPGRADER_* variables that tell hooks where `from` and `to` are
  /// (UPGRADER_PATH, UPGRADER_STAGED_PATH, UPGRADER_OLD_PATH;
  /// UPGRADER_IMAGE, UPGRADER_OLD_IMAGE).
  virtual Environment hookEnvironment(const ReleaseRef& from,
                                      const ReleaseRef& to) const = 0;

  /// Preflight= as it runs against the staged release `staged`: its
  /// placeholder ("@path", "@image") replaced.
  virtual std::string preflightCommand(const std::string& configured,
                                       const ReleaseRef& staged) const = 0;
};

class Registry;
class ContainerEngine;
class ComposeTool;

/// A container engine's clients, for Mode=container and Mode=compose: the
/// caller builds them (the wiring, cli.cpp) and they outlive the strategy.
struct EngineClients {
  Registry& registry;
  ContainerEngine& engine;
  ComposeTool& compose;
  /// Where registry credentials may be (for the engine's pulls).
  std::vector<std::string> authFiles;
};

/// What the strategies act through besides the file system.
struct StrategyDeps {
  /// Downloads (binary, symlink; signed listings of image digests).
  Fetcher& fetcher;
  /// The instance's state directory (/var/lib/upgrader/NAME): the image
  /// strategy keeps its environment file and its record of pulls there.
  std::string stateDirectory;
  /// Required by Mode=container and Mode=compose; null for the others.
  const EngineClients* engine = nullptr;
};

/// The strategy [Install] Mode= names. Error if the mode needs a
/// container engine and `deps` has none.
Result<std::unique_ptr<Strategy>> makeStrategy(const Plan& plan,
                                               StrategyDeps deps);

/// Replaces every `placeholder` in `command` with `value`.
std::string replacePlaceholder(std::string command,
                               std::string_view placeholder,
                               const std::string& value);

}  // namespace upgrader
