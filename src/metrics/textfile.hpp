// Metrics for Prometheus, as the node_exporter textfile collector reads
// them: after every apply, fetch and rollback, the instance's file
// DIR/upgrader-NAME.prom is replaced atomically (temp name, rename), so a
// scrape sees the old text or the new, never a mix. What counts across
// runs (upgrades, rollbacks, failures) is kept beside state.json in
// metrics.json, so the counters survive restarts and reboots.
//
// Only informative: a file that cannot be written is a warning, never a
// failed run, and the transaction's own state never depends on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "upgrade/state_store.hpp"

namespace upgrader {

/// Debian's prometheus-node-exporter reads this directory by default.
inline constexpr const char* kDefaultTextfileDirectory =
    "/var/lib/prometheus/node-exporter";

/// One finished run, as the metrics count it.
struct RunRecord {
  /// "upgraded", "rolled-back-on-request", "fetched", "nothing-to-do",
  /// "failed-unchanged", "rolled-back", "rollback-failed".
  std::string outcome;
  std::uint64_t finishedUs = 0;  ///< CLOCK_REALTIME
  Duration duration{0};          ///< the run's wall time
  /// The service's unavailable window, if the run stopped it.
  std::optional<Duration> unavailable;
  /// The version the source offered in this run ("" if unknown).
  std::string offered;
};

/// What the counters and the last runs were, from metrics.json.
struct RunHistory {
  std::uint64_t upgrades = 0;
  std::uint64_t rollbacks = 0;  ///< automatic and on request
  std::uint64_t failures = 0;   ///< every run that did not do its job
  std::uint64_t lastRunUs = 0;
  std::uint64_t lastSuccessUs = 0;
  std::string lastOutcome;
  std::string offered;
  /// Of the last run that stopped the service.
  double upgradeSeconds = -1;
  double unavailableSeconds = -1;
};

/// Adds `run` to the history in STATE_DIR/metrics.json (a missing or
/// unreadable file starts a new one, which the error then says) and saves
/// it atomically; where STATE_DIR does not exist (an instance with no state
/// yet, such as after a refused first run) it saves nothing, as that run
/// leaves nothing on disk.
Result<RunHistory> recordRun(const std::string& stateDir, const RunRecord& run);

/// The text format (0.0.4) of the instance's metrics, every series
/// labelled name="NAME"; label values escaped, control and non-ASCII
/// bytes replaced, so that no server-chosen text can break a line.
std::string renderMetrics(const std::string& name, const InstanceState& state,
                          const RunHistory& history);

/// Replaces DIR/upgrader-NAME.prom with `text` atomically; nothing is
/// written, and ok, if DIR does not exist (no node_exporter here).
Status writeTextfile(const std::string& dir, const std::string& name,
                     const std::string& text);

}  // namespace upgrader
