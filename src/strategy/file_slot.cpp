#include "strategy/file_slot.hpp"

#include "common/fault_injection.hpp"
#include "common/file_util.hpp"

namespace upgrader {

FileSlot::FileSlot(std::string path, IdOf idOf)
    : path_(std::move(path)),
      dir_(parentDirectory(path_)),
      old_(path_ + ".old"),
      staged_(dir_ + "/." + baseName(path_) + ".upgrader-staged"),
      idOf_(std::move(idOf)) {}

Status FileSlot::prepareSwap(const ReleaseRef& from) {
  auto current = idOf_(path_);
  if (!current || *current != from.id) return okStatus();  // swap() decides
  return hardLinkAtomically(path_, old_);
}

Status FileSlot::swap(const ReleaseRef& from, const ReleaseRef& to) {
  auto current = idOf_(path_);
  if (current && *current == to.id) {
    // Already swapped (a repeated swap after a crash): drop the copy.
    return removeIfExists(staged_);
  }
  if (!pathExists(staged_)) {
    return Error("the staged release '" + staged_ + "' is missing");
  }
  if (current) {
    if (*current != from.id) {
      return Error("'" + path_ + "' is neither the release to replace (" +
                   from.version + ") nor the new one (" + to.version +
                   "); refusing to overwrite it");
    }
    // Two atomic steps, so that PATH always names a complete file, old or
    // new, and never nothing: first keep the old one, then rename over.
    if (auto st = hardLinkAtomically(path_, old_); !st) return st;
    faultPoint("swap-kept-old");
  }
  return renameDurably(staged_, path_);
}

Status FileSlot::canRevert(const ReleaseRef& from) const {
  auto current = idOf_(path_);
  if (current && *current == from.id) return okStatus();
  auto old = idOf_(old_);
  if (old && *old == from.id) return okStatus();
  return Error("cannot restore " + from.version + ": neither '" + path_ +
               "' nor '" + old_ + "' holds it (" + from.id + ")");
}

Status FileSlot::revert(const ReleaseRef& from, bool keepLeft) {
  auto current = idOf_(path_);
  if (current && *current == from.id) return okStatus();
  if (auto st = canRevert(from); !st) return st;
  // Either way PATH names a complete file at every instant. An exchange
  // keeps the release taken out as PATH.old; a link leaves PATH.old a
  // second copy of the restored one, so `mv PATH.old PATH` from a vendor's
  // runbook can never bring back a release that failed.
  if (keepLeft) {
    if (auto st = exchangePaths(path_, old_); !st) {
      return st.error().withContext("Failed to restore " + from.version);
    }
    return okStatus();
  }
  return hardLinkAtomically(old_, path_);
}

Status FileSlot::stageOld(const ReleaseRef& previous) {
  auto oldId = idOf_(old_);
  if (!oldId || *oldId != previous.id) {
    return Error("the previous release " + previous.version +
                 " is no longer at '" + old_ + "'");
  }
  if (auto st = removeIfExists(staged_); !st) return st;
  if (auto st = copyFile(old_, staged_); !st) {
    (void)removeIfExists(staged_);
    return st;
  }
  return okStatus();
}

Status FileSlot::preserve(const ReleaseRef& release) {
  if (canRevert(release)) return okStatus();
  auto staged = idOf_(staged_);
  if (!staged || *staged != release.id) return okStatus();
  // The staged copy is the last one: it becomes the rollback point again.
  return hardLinkAtomically(staged_, old_);
}

Status FileSlot::removeLeftovers() {
  if (auto st = removeIfExists(staged_); !st) return st;
  if (auto st = removeStaleTempFiles(path_); !st) return st;
  return removeStaleTempFiles(old_);
}

}  // namespace upgrader
