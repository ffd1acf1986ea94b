// The images an instance pulled or uses, kept in a small JSON file in its
// state directory, so that an image a killed run pulled (or a release that
// failed) is found and removed again, and only images the upgrader pulled
// are ever removed. An image is recorded "pulling" before the pull starts
// and becomes "pulled" once a commit puts it in service; one the engine
// held already is recorded "using": this instance needs it, but never
// removes it. Instances share one engine, so an image any other instance
// records is never removed by this one (releasePull()).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "container/credentials.hpp"
#include "container/engine_client.hpp"

namespace upgrader {

struct PullRecord {
  struct Entry {
    std::string reference;
    std::string state;  ///< "pulling", "pulled" or "using"
  };
  /// Oldest first.
  std::vector<Entry> entries;

  Entry* find(const std::string& reference);
  void erase(const std::string& reference);
};

/// Reads the record at `path` (an empty record if there is none).
Result<PullRecord> loadPullRecord(const std::string& path);
Status savePullRecord(const std::string& path, const PullRecord& record);

/// Pulls `reference` through `engine`, recorded "pulling" at `recordPath`
/// first, so that a run killed during the pull leaves something the next
/// run knows to remove. A failed pull is removed again.
Status pullRecorded(const std::string& recordPath, ContainerEngine& engine,
                    const std::string& reference,
                    const std::optional<Credentials>& credentials,
                    const std::string& registry, Duration timeout);

/// Removes `reference` from `engine` and from the record (releasePull()).
Status forgetPull(const std::string& recordPath, ContainerEngine& engine,
                  const std::string& reference);

/// Records that this instance uses `reference`, which the engine held
/// before it (state "using", unless it is recorded already). True if this
/// added the entry (forgetPull() takes it back without touching the
/// engine).
Result<bool> recordUse(const std::string& recordPath,
                       const std::string& reference);

/// Gives up this instance's claim on `reference`: the engine removes it if
/// this instance pulled it and no other instance's record (a sibling
/// directory's images.json) names it, in any state; then it leaves
/// `record` (the caller saves it). An image this instance only used
/// ("using") just leaves the record. One it pulled that another instance
/// records stays in the engine (that instance may run it, or roll back to
/// it) and in `record`, so that a later run removes it once nothing else
/// names it. Error, and still recorded, if the engine refuses (in use):
/// tried again later.
Status releasePull(PullRecord& record, const std::string& recordPath,
                   ContainerEngine& engine, const std::string& reference);

/// What settlePullRecord() does with an entry.
enum class PullFate {
  kKeep,
  /// It becomes "pulled": a commit put it in service.
  kPromote,
  /// releasePull(): out of the record, and out of the engine if this
  /// instance pulled it and no other records it.
  kRelease,
};

/// The one way entries leave the record or change state: `fate` is asked
/// about every entry, newest first (so that it may keep the newest N),
/// and the record is saved once if anything changed. An image the engine
/// refuses to remove (in use, the engine away) stays on record for a
/// later run; the first such error is returned once the others are done.
Status settlePullRecord(
    const std::string& recordPath, ContainerEngine& engine,
    const std::function<PullFate(const PullRecord::Entry&)>& fate);

/// Whether the record of an instance other than the one at `recordPath`
/// names `reference`, or may name the same image: the same digest, the
/// same name and tag, or (with `engine`) one the engine holds as the same
/// image ID - Mode=container records NAME@DIGEST, Mode=compose the
/// reference as its file names it. An unreadable record, or an engine
/// that cannot say, might: true.
bool otherInstanceRecords(const std::string& recordPath,
                          const std::string& reference,
                          ContainerEngine* engine = nullptr);

}  // namespace upgrader
