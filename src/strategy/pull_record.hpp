// The images an instance pulled, kept in a small JSON file in its state
// directory, so that an image a killed run pulled (or a release that
// failed) is found and removed again, and only images the upgrader pulled
// are ever removed. An image is recorded "pulling" before the pull starts
// and becomes "pulled" once a commit puts it in service.
#pragma once

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
    std::string state;  ///< "pulling" or "pulled"
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

/// Removes `reference` from `engine` and from the record.
Status forgetPull(const std::string& recordPath, ContainerEngine& engine,
                  const std::string& reference);

}  // namespace upgrader
