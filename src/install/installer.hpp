// Installing a verified release: the one place that knows how a release
// lands on disk. Each strategy (binary, symlink; container next) puts the
// new release in place and takes it back with atomic steps only, and says
// which release is in place by content, so the transaction
// (upgrade/transaction.hpp) is written once for all of them.
#pragma once

#include <memory>
#include <string>

#include "common/result.hpp"
#include "config/plan.hpp"
#include "fetch/fetcher.hpp"
#include "fetch/release_source.hpp"
#include "upgrade/state_store.hpp"

namespace upgrader {

class Installer {
 public:
  virtual ~Installer() = default;

  /// Where downloads go: a directory on the same file system as the final
  /// path, so that putting a staged file in place is a rename.
  virtual std::string downloadDirectory() const = 0;

  /// The release in place now (its id only; the caller knows the version).
  /// Error if nothing is installed at the configured path.
  virtual Result<std::string> currentId() const = 0;

  /// Turns a downloaded, verified file into a staged release ready to be
  /// swapped in: extracted if it is an archive, owner and mode of the
  /// current release, fsynced. Consumes `fetched` (it is renamed or
  /// removed). Returns the staged release with its id; on failure nothing
  /// staged is left behind. The service is not touched.
  virtual Result<ReleaseRef> stage(const FetchedFile& fetched,
                                   const Release& release) = 0;

  /// Stages the release that `previous` names (for `upgrader rollback`):
  /// a copy of the rollback point. Error if it is no longer on disk.
  virtual Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) = 0;

  /// The path the staged release can be tried at (Preflight=).
  virtual std::string stagedPath(const ReleaseRef& staged) const = 0;

  /// Where the rollback point `from` is kept once a swap is done (PATH.old,
  /// or the old release directory), for hooks.
  virtual std::string previousPath(const ReleaseRef& from) const = 0;

  /// Does, while the service still runs, whatever part of the swap does not
  /// change what the path holds (binary: PATH.old becomes a link to the
  /// current release), so that the swap itself — done while the service is
  /// down — is as short as it can be. swap() does not depend on it.
  virtual Status prepareSwap(const ReleaseRef& from) = 0;

  /// Puts the staged release `to` in place, keeping `from` as the rollback
  /// point. Idempotent: a swap interrupted at any point can be run again.
  virtual Status swap(const ReleaseRef& from, const ReleaseRef& to) = 0;

  /// Ok if revert(from) can succeed: `from` is in place or where a revert
  /// takes it from. Changes nothing.
  virtual Status canRevert(const ReleaseRef& from) const = 0;

  /// Puts `from` back in place. Idempotent. Error (and nothing changed) if
  /// `from` can no longer be found by its id. With `keepLeft`, the release
  /// taken out becomes the rollback point (a rollback on request that
  /// failed must not lose the release it was going back to); otherwise a
  /// failed new release is never kept where an operator would restore from.
  virtual Status revert(const ReleaseRef& from, bool keepLeft) = 0;

  /// Removes what staging `to` left that is not in place (a staged file or
  /// directory; with an empty `to.id` none in symlink mode), and what killed
  /// runs left: temp names, partial downloads of this source. Ok if there is
  /// none.
  virtual Status discard(const ReleaseRef& to) = 0;

  /// After a commit: removes leftovers and releases beyond KeepReleases=,
  /// never `installed` or `previous`. Failures are only reported.
  virtual Status prune(const ReleaseRef& installed,
                       const ReleaseRef& previous) = 0;
};

/// Whether the release of `source` is an archive (Archive=, or by the
/// suffix of URL=).
bool isArchiveRelease(const SourceConfig& source);

/// The strategy [Install] Mode= names, working on the real file system.
std::unique_ptr<Installer> makeInstaller(const Plan& plan);

}  // namespace upgrader
