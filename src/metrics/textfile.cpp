#include "metrics/textfile.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/file_util.hpp"

namespace upgrader {

namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxHistoryFile = 64 * 1024;

// Every outcome upgrader_last_outcome has a series for, so that a query
// for one of them finds 0 rather than nothing.
constexpr const char* kOutcomes[] = {
    "upgraded",       "rolled-back-on-request", "fetched",
    "nothing-to-do",  "failed-unchanged",       "rolled-back",
    "rollback-failed"};

bool isSuccess(const std::string& outcome) {
  return outcome == "upgraded" || outcome == "rolled-back-on-request" ||
         outcome == "fetched" || outcome == "nothing-to-do";
}

// A label value in the text format: \ " and newline escaped; what is not
// printable ASCII becomes '?', so the file stays one series per line and
// valid UTF-8 whatever a server named a version.
std::string labelValue(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c < 0x20 || c >= 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

class Writer {
 public:
  explicit Writer(const std::string& name) : name_(labelValue(name)) {}

  void metric(const char* metric, const char* type, const char* help) {
    text_ += std::string("# HELP ") + metric + " " + help + "\n";
    text_ += std::string("# TYPE ") + metric + " " + type + "\n";
  }
  void sample(const char* metric, const std::string& value,
              const std::string& labels = "") {
    text_ += std::string(metric) + "{name=\"" + name_ + "\"" +
             (labels.empty() ? "" : "," + labels) + "} " + value + "\n";
  }
  std::string text() const { return text_; }

 private:
  std::string name_;
  std::string text_;
};

std::string seconds(std::uint64_t micros) {
  return number(static_cast<double>(micros) / 1e6);
}

}  // namespace

Result<RunHistory> recordRun(const std::string& stateDir,
                             const RunRecord& run) {
  const std::string path = stateDir + "/metrics.json";
  RunHistory h;
  std::optional<Error> unreadable;
  if (pathExists(path)) {
    auto text = readFile(path, kMaxHistoryFile);
    if (!text) {
      unreadable = text.error().withContext("The counters start again at 0");
    } else
      try {
        json j = json::parse(*text);
        h.upgrades = j.value("upgrades", std::uint64_t{0});
        h.rollbacks = j.value("rollbacks", std::uint64_t{0});
        h.failures = j.value("failures", std::uint64_t{0});
        h.lastRunUs = j.value("last_run_us", std::uint64_t{0});
        h.lastSuccessUs = j.value("last_success_us", std::uint64_t{0});
        h.lastOutcome = j.value("last_outcome", "");
        h.offered = j.value("offered", "");
        h.upgradeSeconds = j.value("upgrade_seconds", -1.0);
        h.unavailableSeconds = j.value("unavailable_seconds", -1.0);
      } catch (const json::exception& e) {
        h = RunHistory{};
        unreadable = Error("'" + path + "' is unreadable (" + e.what() +
                           "); the counters start again at 0");
      }
  }
  const std::string& o = run.outcome;
  if (o == "upgraded") ++h.upgrades;
  if (o == "rolled-back" || o == "rolled-back-on-request" ||
      o == "rollback-failed") {
    ++h.rollbacks;
  }
  if (!isSuccess(o)) ++h.failures;
  h.lastRunUs = run.finishedUs;
  if (isSuccess(o)) h.lastSuccessUs = run.finishedUs;
  h.lastOutcome = o;
  if (!run.offered.empty()) h.offered = run.offered;
  if (run.unavailable) {
    h.upgradeSeconds = std::chrono::duration<double>(run.duration).count();
    h.unavailableSeconds =
        std::chrono::duration<double>(*run.unavailable).count();
  }
  json j = {{"upgrades", h.upgrades},
            {"rollbacks", h.rollbacks},
            {"failures", h.failures},
            {"last_run_us", h.lastRunUs},
            {"last_success_us", h.lastSuccessUs},
            {"last_outcome", h.lastOutcome},
            {"offered", h.offered},
            {"upgrade_seconds", h.upgradeSeconds},
            {"unavailable_seconds", h.unavailableSeconds}};
  // An instance the upgrader keeps no state for (a refused first run) gets
  // its textfile, but nothing on disk of its own: its counters start again.
  if (!pathExists(stateDir)) return h;
  if (auto st = writeFileAtomically(path, j.dump(2) + "\n", 0600); !st) {
    return st.error();
  }
  if (unreadable) return *unreadable;
  return h;
}

std::string renderMetrics(const std::string& name, const InstanceState& state,
                          const RunHistory& h) {
  Writer w(name);
  w.metric("upgrader_installed_info", "gauge",
           "The release installed: its version as a label, always 1.");
  if (state.installed) {
    w.sample("upgrader_installed_info", "1",
             "version=\"" + labelValue(state.installed->version) + "\"");
  }
  w.metric("upgrader_offered_info", "gauge",
           "The release the source offered in the last run, always 1.");
  if (!h.offered.empty()) {
    w.sample("upgrader_offered_info", "1",
             "version=\"" + labelValue(h.offered) + "\"");
  }
  w.metric("upgrader_fetched_info", "gauge",
           "A release fetched ahead and staged, always 1.");
  if (state.fetched) {
    w.sample("upgrader_fetched_info", "1",
             "version=\"" + labelValue(state.fetched->release.version) + "\"");
  }
  w.metric("upgrader_last_run_timestamp_seconds", "gauge",
           "When the last run (apply, fetch, rollback) ended.");
  w.sample("upgrader_last_run_timestamp_seconds", seconds(h.lastRunUs));
  w.metric("upgrader_last_success_timestamp_seconds", "gauge",
           "When the last run that did its job (or had nothing to do) ended; "
           "0 if none has.");
  w.sample("upgrader_last_success_timestamp_seconds", seconds(h.lastSuccessUs));
  w.metric("upgrader_last_outcome", "gauge",
           "The outcome of the last run: 1 for it, 0 for the others.");
  for (const char* outcome : kOutcomes) {
    w.sample("upgrader_last_outcome", h.lastOutcome == outcome ? "1" : "0",
             std::string("outcome=\"") + outcome + "\"");
  }
  w.metric("upgrader_upgrade_duration_seconds", "gauge",
           "Wall time of the last run that stopped the service.");
  w.metric("upgrader_unavailable_seconds", "gauge",
           "How long the last run that stopped the service kept it down: the "
           "first stop to the units started again.");
  if (h.unavailableSeconds >= 0) {
    w.sample("upgrader_upgrade_duration_seconds", number(h.upgradeSeconds));
    w.sample("upgrader_unavailable_seconds", number(h.unavailableSeconds));
  }
  w.metric("upgrader_upgrades_total", "counter", "Upgrades committed.");
  w.sample("upgrader_upgrades_total", std::to_string(h.upgrades));
  w.metric("upgrader_rollbacks_total", "counter",
           "Rollbacks: of failed upgrades, and on request.");
  w.sample("upgrader_rollbacks_total", std::to_string(h.rollbacks));
  w.metric("upgrader_failures_total", "counter",
           "Runs that failed: refused, rolled back, or whose rollback failed.");
  w.sample("upgrader_failures_total", std::to_string(h.failures));
  w.metric("upgrader_quarantined_versions", "gauge",
           "How many versions are quarantined.");
  w.sample("upgrader_quarantined_versions",
           std::to_string(state.quarantined.size()));
  w.metric("upgrader_quarantined_info", "gauge",
           "Each quarantined version, always 1.");
  for (const auto& q : state.quarantined) {
    w.sample("upgrader_quarantined_info", "1",
             "version=\"" + labelValue(q.version) + "\"");
  }
  return w.text();
}

Status writeTextfile(const std::string& dir, const std::string& name,
                     const std::string& text) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return okStatus();
    return systemError("stat", dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) return Error("'" + dir + "' is not a directory");
  // World-readable: node_exporter runs as its own user.
  return writeFileAtomically(dir + "/upgrader-" + name + ".prom", text, 0644);
}

}  // namespace upgrader
