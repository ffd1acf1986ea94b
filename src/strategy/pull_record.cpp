#include "strategy/pull_record.hpp"

#include <algorithm>
#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include "common/fault_injection.hpp"
#include "common/file_util.hpp"
#include "common/json_text.hpp"

namespace upgrader {

namespace {
using nlohmann::json;
constexpr std::size_t kMaxPullRecord = 1024 * 1024;

// Whether two recorded references may name one image in the engine: the
// same text, the same digest, or the same name and tag. Mode=container
// records NAME:TAG@DIGEST, Mode=compose the reference as the compose file
// names it (often NAME:TAG alone); when in doubt an image is kept.
bool mayBeSameImage(const std::string& a, const std::string& b) {
  if (a == b) return true;
  auto at = [](const std::string& r) { return r.find('@'); };
  std::string nameA = a.substr(0, at(a)), nameB = b.substr(0, at(b));
  std::string digestA = at(a) == std::string::npos ? "" : a.substr(at(a) + 1);
  std::string digestB = at(b) == std::string::npos ? "" : b.substr(at(b) + 1);
  if (!digestA.empty() && digestA == digestB) return true;
  // NAME@DIGEST has no tag: its name alone says nothing of another's tag.
  bool taggedA = nameA.find(':', nameA.rfind('/') + 1) != std::string::npos;
  return taggedA && nameA == nameB;
}
// Whether the engine holds `a` and `b` as one image (one image ID): names
// that differ in form (NAME@DIGEST, NAME:TAG) still meet there. An engine
// that cannot say might: true.
bool sameImageInEngine(ContainerEngine& engine, const std::string& a,
                       const std::string& b) {
  auto imageA = engine.inspect(a);
  auto imageB = engine.inspect(b);
  if (!imageA || !imageB) return true;
  return *imageA && *imageB && (*imageA)->id == (*imageB)->id;
}
}  // namespace

PullRecord::Entry* PullRecord::find(const std::string& reference) {
  for (auto& e : entries) {
    if (e.reference == reference) return &e;
  }
  return nullptr;
}

void PullRecord::erase(const std::string& reference) {
  std::erase_if(entries,
                [&](const Entry& e) { return e.reference == reference; });
}

Result<PullRecord> loadPullRecord(const std::string& path) {
  PullRecord record;
  if (!pathExists(path)) return record;
  auto text = readFile(path, kMaxPullRecord);
  if (!text) return text.error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("images") ||
      !j["images"].is_array()) {
    return Error(path + ": not a record of pulled images");
  }
  for (const auto& e : j["images"]) {
    if (!e.is_object() || !e.contains("reference") ||
        !e["reference"].is_string() || !e.contains("state") ||
        !e["state"].is_string()) {
      return Error(path + ": an entry without a reference or a state");
    }
    record.entries.push_back(
        {e["reference"].get<std::string>(), e["state"].get<std::string>()});
  }
  return record;
}

Status savePullRecord(const std::string& path, const PullRecord& record) {
  json j = {{"format", 1}, {"images", json::array()}};
  for (const auto& e : record.entries) {
    j["images"].push_back({{"reference", e.reference}, {"state", e.state}});
  }
  // The state directory and its parent (/var/lib/upgrader/NAME): the unit
  // makes them (StateDirectory=), a first run by hand may have to.
  const std::string dir = parentDirectory(path);
  if (auto st = ensureDirectory(parentDirectory(dir)); !st) return st;
  if (auto st = ensureDirectory(dir); !st) return st;
  // What a save killed before its rename left (see the state file).
  if (auto st = removeStaleTempFiles(path); !st) return st;
  return writeFileAtomically(path, jsonText(j, 2) + "\n", 0600);
}

Status pullRecorded(const std::string& recordPath, ContainerEngine& engine,
                    const std::string& reference,
                    const std::optional<Credentials>& credentials,
                    const std::string& registry, Duration timeout) {
  auto record = loadPullRecord(recordPath);
  if (!record) return record.error();
  if (record->find(reference) == nullptr) {
    record->entries.push_back({reference, "pulling"});
  } else {
    record->find(reference)->state = "pulling";
  }
  if (auto st = savePullRecord(recordPath, *record); !st) return st;
  Status pulled = engine.pull(reference, credentials, registry, timeout);
  faultPoint("pulled");
  if (!pulled) {
    // Whatever the engine kept of a failed pull goes.
    (void)forgetPull(recordPath, engine, reference);
    return pulled;
  }
  // Still "pulling": it becomes "pulled" only once a commit pins it, so
  // a run killed before that (in Preflight=, say) leaves it to be
  // removed.
  return okStatus();
}

Status forgetPull(const std::string& recordPath, ContainerEngine& engine,
                  const std::string& reference) {
  auto record = loadPullRecord(recordPath);
  if (!record) return record.error();
  if (record->find(reference) == nullptr) {
    record->entries.push_back({reference, "pulling"});
  }
  if (auto st = releasePull(*record, recordPath, engine, reference); !st) {
    return st;
  }
  return savePullRecord(recordPath, *record);
}

Result<bool> recordUse(const std::string& recordPath,
                       const std::string& reference) {
  auto record = loadPullRecord(recordPath);
  if (!record) return record.error();
  if (record->find(reference) != nullptr) return false;
  record->entries.push_back({reference, "using"});
  if (auto st = savePullRecord(recordPath, *record); !st) return st.error();
  return true;
}

Status releasePull(PullRecord& record, const std::string& recordPath,
                   ContainerEngine& engine, const std::string& reference) {
  const PullRecord::Entry* entry = record.find(reference);
  bool ours = entry != nullptr && entry->state != "using";
  if (ours) {
    // Another instance runs it, or may go back to it: it stays, and so
    // does this record of it, so that the image is removed once no other
    // instance names it (a later run tries again).
    if (otherInstanceRecords(recordPath, reference, &engine)) return okStatus();
    if (auto st = engine.remove(reference); !st) return st;
  }
  record.erase(reference);
  return okStatus();
}

Status settlePullRecord(
    const std::string& recordPath, ContainerEngine& engine,
    const std::function<PullFate(const PullRecord::Entry&)>& fate) {
  auto record = loadPullRecord(recordPath);
  if (!record) return record.error();
  Status result = okStatus();
  bool changed = false;
  // A copy: releasePull() erases from the record.
  const std::vector<PullRecord::Entry> entries = record->entries;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    switch (fate(*it)) {
      case PullFate::kKeep:
        break;
      case PullFate::kPromote:
        if (it->state != "pulled") {
          record->find(it->reference)->state = "pulled";
          changed = true;
        }
        break;
      case PullFate::kRelease:
        if (auto st = releasePull(*record, recordPath, engine, it->reference);
            !st) {
          if (result) result = st;
          break;
        }
        changed = true;
        break;
    }
  }
  if (changed) {
    if (auto st = savePullRecord(recordPath, *record); !st) return st;
  }
  return result;
}

bool otherInstanceRecords(const std::string& recordPath,
                          const std::string& reference,
                          ContainerEngine* engine) {
  const std::string own = parentDirectory(recordPath);
  const std::string root = parentDirectory(own);
  const std::string file = baseName(recordPath);
  boost::system::error_code ec;
  for (boost::filesystem::directory_iterator it(root, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string dir = it->path().string();
    if (dir == own || !pathExists(dir + "/" + file)) continue;
    auto other = loadPullRecord(dir + "/" + file);
    if (!other) return true;
    for (const auto& e : other->entries) {
      if (mayBeSameImage(e.reference, reference)) return true;
      if (engine != nullptr && sameImageInEngine(*engine, e.reference, reference)) {
        return true;
      }
    }
  }
  // A root that cannot be listed hides who else may use the image.
  return static_cast<bool>(ec);
}

}  // namespace upgrader
