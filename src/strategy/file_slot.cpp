#include "strategy/file_slot.hpp"

#include "common/fault_injection.hpp"
#include "common/file_util.hpp"

namespace upgrader {

FileSlot::FileSlot(std::string path, IdOf idOf)
    : path_(std::move(path)),
      dir_(parentDirectory(path_)),
      old_(path_ + ".old"),
      staged_(dir_ + "/." + baseName(path_) + ".upgrader-staged"),
      replaced_(dir_ + "/." + baseName(path_) + ".upgrader-replaced"),
      idOf_(std::move(idOf)) {}

Status FileSlot::prepareSwap(const ReleaseRef& from) {
  auto current = idOf_(path_);
  if (!current || *current != from.id) return okStatus();  // swap() decides
  return keepReplaced(from);
}

// The replaced name becomes a link to PATH, which holds `from`. What it
// names now, if anything else, is the rollback point of a commit killed
// before it settled: it is settled first, never overwritten.
Status FileSlot::keepReplaced(const ReleaseRef& from) {
  if (pathExists(replaced_)) {
    auto kept = idOf_(replaced_);
    if (kept && *kept == from.id) return okStatus();
    if (auto st = settle(); !st) return st;
  }
  return hardLinkAtomically(path_, replaced_);
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
    // new, and never nothing: first keep the old one under a name of its
    // own (prepareSwap() did, unless it was skipped), then rename over.
    // PATH.old is left alone: until the commit it is the rollback point
    // the operator had before this attempt.
    if (auto st = keepReplaced(from); !st) return st;
    faultPoint("swap-kept-old");
  }
  return renameDurably(staged_, path_);
}

Status FileSlot::canRevert(const ReleaseRef& from) const {
  for (const auto* where : {&path_, &replaced_, &old_}) {
    auto id = idOf_(*where);
    if (id && *id == from.id) return okStatus();
  }
  return Error("cannot restore " + from.version + ": neither '" + path_ +
               "' nor '" + replaced_ + "' holds it (" + from.id + ")");
}

Status FileSlot::revert(const ReleaseRef& from) {
  auto current = idOf_(path_);
  auto kept = idOf_(replaced_);
  if (current && *current == from.id) {
    // Never swapped, or reverted already: the replaced name is a second
    // name of PATH, or gone (or a rollback point still to settle, which
    // removeLeftovers() settles).
    if (kept && *kept == from.id) return removeIfExists(replaced_);
    return okStatus();
  }
  if (kept && *kept == from.id) {
    // One rename: PATH names the old release again, the new one loses its
    // last name, and PATH.old was never touched.
    if (auto st = renameDurably(replaced_, path_); !st) {
      return st.error().withContext("Failed to restore " + from.version);
    }
    return okStatus();
  }
  if (auto st = canRevert(from); !st) return st;
  // Only a transaction begun by an earlier version of the upgrader, which
  // linked the release it replaced to PATH.old before the swap, gets here.
  return hardLinkAtomically(old_, path_);
}

Status FileSlot::settle() {
  if (!pathExists(replaced_)) return okStatus();
  return renameDurably(replaced_, old_);
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

Status FileSlot::removeLeftovers(bool keepStaged) {
  if (!keepStaged) {
    if (auto st = removeIfExists(staged_); !st) return st;
  }
  if (auto st = removeStaleTempFiles(path_); !st) return st;
  if (auto st = removeStaleTempFiles(old_); !st) return st;
  if (auto st = removeStaleTempFiles(replaced_); !st) return st;
  // The staged file is written through a temp name too (image, compose).
  if (auto st = removeStaleTempFiles(staged_); !st) return st;
  if (!pathExists(replaced_)) return okStatus();
  // Never removed on a guess: it may be the only copy of a release.
  auto kept = idOf_(replaced_);
  if (!kept) {
    return kept.error().withContext("Cannot tell what '" + replaced_ +
                                    "' holds; leaving it");
  }
  auto current = idOf_(path_);
  if (current && *current == *kept) return removeIfExists(replaced_);
  // PATH moved on and no transaction is under way: a commit was killed
  // before the release it replaced became the rollback point.
  return settle();
}

}  // namespace upgrader
