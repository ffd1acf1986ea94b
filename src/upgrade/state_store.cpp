#include "upgrade/state_store.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/file_util.hpp"
#include "common/json_text.hpp"
#include "common/shown_text.hpp"

namespace upgrader {

namespace {

using nlohmann::json;

constexpr const char* kStepNames[] = {"staged",    "stopping", "migrating",
                                      "checking",
                                      "rolling-back"};

json refToJson(const ReleaseRef& r) {
  return {{"version", r.version}, {"id", r.id}};
}
ReleaseRef refFromJson(const json& j) {
  return {j.value("version", ""), j.value("id", "")};
}

}  // namespace

const char* stepName(Step step) { return kStepNames[static_cast<int>(step)]; }

const char* kindName(TransactionKind kind) {
  return kind == TransactionKind::kUpgrade ? "upgrade" : "rollback";
}

std::optional<Step> stepFromName(const std::string& name) {
  for (int i = 0; i < static_cast<int>(std::size(kStepNames)); ++i) {
    if (name == kStepNames[i]) return static_cast<Step>(i);
  }
  return std::nullopt;
}

bool InstanceState::isQuarantined(const std::string& version) const {
  for (const auto& q : quarantined) {
    if (q.version == version) return true;
  }
  return false;
}

std::string stateToJson(const InstanceState& s) {
  json j = json::object();
  j["format"] = 1;
  if (s.installed) j["installed"] = refToJson(*s.installed);
  if (s.previous) j["previous"] = refToJson(*s.previous);
  if (s.last) {
    j["last"] = {{"result", s.last->result}, {"time", s.last->time},
                 {"from", s.last->from},     {"to", s.last->to},
                 {"message", redactCredentials(s.last->message)}};
  }
  j["quarantined"] = json::array();
  for (const auto& q : s.quarantined) {
    j["quarantined"].push_back(
        {{"version", q.version},
         {"time", q.time},
         {"reason", redactCredentials(q.reason)}});
  }
  if (!s.highestVerified.empty()) j["highest_verified"] = s.highestVerified;
  if (s.fetched) {
    j["fetched"] = {{"release", refToJson(s.fetched->release)},
                    {"time", s.fetched->time},
                    {"evidence", redactCredentials(s.fetched->evidence)}};
  }
  if (s.transaction) {
    const auto& t = *s.transaction;
    j["transaction"] = {{"kind", kindName(t.kind)},
                        {"step", stepName(t.step)},
                        {"from", refToJson(t.from)},
                        {"to", refToJson(t.to)},
                        {"migrated", t.migrated},
                        {"new_started", t.newStarted},
                        {"blame_new", t.blameNew},
                        {"started", t.started},
                        {"failure", redactCredentials(t.failure)}};
  }
  // Hook output ends up in messages and may be any bytes: replace what is
  // not UTF-8 rather than throw half-way through a rollback.
  return jsonText(j, 2) + "\n";
}

Result<InstanceState> stateFromJson(const std::string& text,
                                    const std::string& source) {
  InstanceState s;
  try {
    json j = json::parse(text);
    if (j.contains("installed")) s.installed = refFromJson(j["installed"]);
    if (j.contains("previous")) s.previous = refFromJson(j["previous"]);
    if (j.contains("last")) {
      const auto& l = j["last"];
      s.last = LastResult{l.value("result", ""), l.value("time", ""),
                          l.value("from", ""), l.value("to", ""),
                          l.value("message", "")};
    }
    for (const auto& q : j.value("quarantined", json::array())) {
      s.quarantined.push_back({q.value("version", ""), q.value("time", ""),
                               q.value("reason", "")});
    }
    s.highestVerified = j.value("highest_verified", "");
    if (j.contains("fetched")) {
      const auto& f = j["fetched"];
      s.fetched =
          FetchedRelease{refFromJson(f.value("release", json::object())),
                         f.value("time", ""), f.value("evidence", "")};
      if (s.fetched->release.id.empty()) {
        return Error(source + ": the fetched release has no id");
      }
    }
    if (j.contains("transaction")) {
      const auto& tj = j["transaction"];
      Transaction t;
      std::string kind = tj.value("kind", "upgrade");
      if (kind != "upgrade" && kind != "rollback") {
        return Error(source + ": unknown transaction kind '" + kind + "'");
      }
      t.kind = kind == "upgrade" ? TransactionKind::kUpgrade
                                 : TransactionKind::kRollback;
      auto step = stepFromName(tj.value("step", ""));
      if (!step) {
        return Error(source + ": unknown transaction step '" +
                     tj.value("step", "") + "'");
      }
      t.step = *step;
      t.from = refFromJson(tj.value("from", json::object()));
      t.to = refFromJson(tj.value("to", json::object()));
      t.migrated = tj.value("migrated", false);
      t.newStarted = tj.value("new_started", false);
      t.blameNew = tj.value("blame_new", false);
      t.started = tj.value("started", "");
      t.failure = tj.value("failure", "");
      s.transaction = t;
    }
  } catch (const json::exception& e) {
    return Error(source + ": corrupt state file: " + e.what());
  }
  return s;
}

std::string isoTime(std::uint64_t realtimeMicros) {
  std::time_t now = static_cast<std::time_t>(realtimeMicros / 1000000);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

class FileStateStore final : public StateStore {
 public:
  explicit FileStateStore(std::string dir)
      : dir_(std::move(dir)), path_(dir_ + "/state.json") {}

  Result<InstanceState> load() override {
    if (!pathExists(path_)) return InstanceState{};
    auto text = readFile(path_);
    if (!text) return text.error();
    return stateFromJson(*text, path_);
  }

  Status save(const InstanceState& state) override {
    // /var/lib/upgrader itself exists when run by upgrade@.service
    // (StateDirectory=), not always when run by hand.
    std::string parent = parentDirectory(dir_);
    if (::mkdir(parent.c_str(), 0700) < 0 && errno != EEXIST) {
      return systemError("create directory", parent, errno);
    }
    if (::mkdir(dir_.c_str(), 0700) == 0) {
      // A new directory must itself be durable, or a power loss could
      // take the first state file with it.
      if (auto st = fsyncDirectory(parent); !st) return st;
    } else if (errno != EEXIST) {
      return systemError("create directory", dir_, errno);
    }
    // A run killed (or a power loss) during an earlier save left its temp
    // file: nothing reads it, and nothing else would remove it.
    if (auto st = removeStaleTempFiles(path_); !st) return st;
    return writeFileAtomically(path_, stateToJson(state), 0600);
  }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace

std::unique_ptr<StateStore> makeFileStateStore(const std::string& dir) {
  return std::make_unique<FileStateStore>(dir);
}

}  // namespace upgrader
