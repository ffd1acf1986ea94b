// One file that is replaced as a whole while the one before is kept: PATH,
// its rollback point PATH.old, the staged replacement .NAME.upgrader-staged,
// and during an attempt .NAME.upgrader-replaced, a second name of the
// release being replaced; all in one directory so that every step is a
// link or a rename. PATH names a complete file, old or new, at every
// instant; a process still running the old file keeps its inode.
//
// PATH.old is not touched until the new release is committed: an attempt
// that fails, is refused or is killed leaves the rollback point exactly as
// it found it, and the way back is the replaced name, which a revert
// renames over PATH (so no two names share an inode after it). The commit
// makes the replaced release the new rollback point (settle()). The binary
// strategy swaps executables with it, the image strategy the environment
// file that pins a container's image, the compose strategy a project's env
// file.
#pragma once

#include <functional>
#include <string>

#include "common/release_ref.hpp"
#include "common/result.hpp"
#include "strategy/strategy.hpp"

namespace upgrader {

class FileSlot {
 public:
  /// What identifies the content of a file (a digest, a pinned reference).
  using IdOf = std::function<Result<std::string>(const std::string& path)>;

  /// `idOf` must stay valid as long as the slot.
  FileSlot(std::string path, IdOf idOf);

  const std::string& path() const { return path_; }
  const std::string& oldPath() const { return old_; }
  const std::string& stagedPath() const { return staged_; }
  const std::string& replacedPath() const { return replaced_; }
  const std::string& directory() const { return dir_; }

  /// The id of what PATH holds now.
  Result<std::string> currentId() const { return idOf_(path_); }

  /// While the service runs: the replaced name becomes a link to PATH if
  /// PATH holds `from`; otherwise swap() decides. Changes neither PATH nor
  /// PATH.old.
  Status prepareSwap(const ReleaseRef& from);

  /// The staged file becomes PATH; `from` stays under the replaced name.
  /// A repeated swap (PATH holds `to` already) only removes the staged
  /// copy. Refuses to overwrite a PATH that holds neither `from` nor `to`.
  Status swap(const ReleaseRef& from, const ReleaseRef& to);

  /// Whether PATH or the replaced name holds `from` (or PATH.old, where a
  /// transaction begun by an earlier version kept it).
  Status canRevert(const ReleaseRef& from) const;

  /// PATH holds `from` again, and the replaced name is gone; PATH.old is
  /// as it was before the attempt.
  Status revert(const ReleaseRef& from);

  /// After a commit: the replaced release becomes PATH.old, the rollback
  /// point. Ok if there is no replaced name (settled already). Also how
  /// the next run finishes a commit killed before it settled.
  Status settle();

  /// Copies the rollback point to the staged name if it holds `previous`
  /// (for a rollback on request, which then swaps like an upgrade).
  Status stageOld(const ReleaseRef& previous);

  /// Removes the staged file (unless `keepStaged`: a release fetched ahead
  /// waits there) and the temp names a killed run may have left beside
  /// PATH and PATH.old. A replaced name that PATH still holds (an
  /// attempt given up before its swap) goes; one that PATH does not hold
  /// is a commit killed before settle(), which this finishes. Call only
  /// when no transaction is under way, or the attempt never swapped.
  Status removeLeftovers(bool keepStaged = false);

 private:
  Status keepReplaced(const ReleaseRef& from);

  std::string path_;
  std::string dir_;
  std::string old_;
  std::string staged_;
  std::string replaced_;
  IdOf idOf_;
};

/// What every strategy whose release is one file in a FileSlot shares:
/// putting it in place and taking it back are the slot's steps. Binary
/// (the executable), image (the environment file that pins the image) and
/// compose with Variable= (the project's env file).
class FileSlotStrategy : public Strategy {
 public:
  std::string place() const override { return "'" + slot_.path() + "'"; }
  Result<std::string> currentId() const override { return slot_.currentId(); }
  Status prepareSwap(const ReleaseRef& from) override {
    return slot_.prepareSwap(from);
  }
  Status swap(const ReleaseRef& from, const ReleaseRef& to) override {
    return slot_.swap(from, to);
  }
  Status canRevert(const ReleaseRef& from) const override {
    return slot_.canRevert(from);
  }
  Status revert(const ReleaseRef& from) override { return slot_.revert(from); }

 protected:
  explicit FileSlotStrategy(FileSlot slot) : slot_(std::move(slot)) {}

  FileSlot slot_;
};

}  // namespace upgrader
