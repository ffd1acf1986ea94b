// One file that is replaced as a whole while the one before is kept: PATH,
// its rollback point PATH.old, and the staged replacement
// .NAME.upgrader-staged, all in one directory so that every step is a link
// or a rename. PATH names a complete file, old or new, at every instant; a
// process still running the old file keeps its inode. The binary strategy
// swaps executables with it, the image strategy the environment file that
// pins a container's image.
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
  const std::string& directory() const { return dir_; }

  /// The id of what PATH holds now.
  Result<std::string> currentId() const { return idOf_(path_); }

  /// While the service runs: PATH.old becomes a link to PATH if PATH holds
  /// `from`; otherwise swap() decides.
  Status prepareSwap(const ReleaseRef& from);

  /// The staged file becomes PATH, PATH.old keeps `from`. A repeated swap
  /// (PATH holds `to` already) only removes the staged copy. Refuses to
  /// overwrite a PATH that holds neither `from` nor `to`.
  Status swap(const ReleaseRef& from, const ReleaseRef& to);

  /// Whether PATH or PATH.old holds `from`.
  Status canRevert(const ReleaseRef& from) const;

  /// PATH holds `from` again. With `keepLeft` PATH and PATH.old are
  /// exchanged in one step, so the release taken out stays as PATH.old;
  /// otherwise PATH.old is linked over PATH and both hold `from`.
  Status revert(const ReleaseRef& from, bool keepLeft);

  /// Copies PATH.old to the staged name if it holds `previous` (for a
  /// rollback on request, which then swaps like an upgrade).
  Status stageOld(const ReleaseRef& previous);

  /// Makes sure `release` survives the removal of the staged file: if
  /// neither PATH nor PATH.old holds it but the staged file does (a
  /// rollback on request interrupted after PATH.old was relinked), PATH.old
  /// becomes that file again. Ok if nothing holds it.
  Status preserve(const ReleaseRef& release);

  /// Removes the staged file and the temp names a killed run may have left
  /// beside PATH and PATH.old.
  Status removeLeftovers();

 private:
  std::string path_;
  std::string dir_;
  std::string old_;
  std::string staged_;
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
  Status revert(const ReleaseRef& from, bool keepLeft) override {
    return slot_.revert(from, keepLeft);
  }

 protected:
  explicit FileSlotStrategy(FileSlot slot) : slot_(std::move(slot)) {}

  FileSlot slot_;
};

}  // namespace upgrader
