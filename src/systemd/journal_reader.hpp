// Reading back what a unit printed: the last lines a transient service (a
// hook) wrote to its standard output and error, from the journal, so that
// an error can end with them as it did when hooks ran as child processes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "common/types.hpp"

namespace upgrader {

class JournalReader {
 public:
  virtual ~JournalReader() = default;

  /// The last lines (at most `maxLines`, at most about `maxBytes`) that
  /// `unit` logged during its invocation `invocationId` (32 hex digits),
  /// which started at `sinceUsec` (CLOCK_REALTIME, µs; 0: unknown), oldest
  /// first, joined by newlines; lines journald could no longer tie to an
  /// invocation are taken as this one's if they came after that start; "..."
  /// first if earlier lines were left out. Raw bytes: the caller escapes them
  /// before showing them (shownText). Error if the journal cannot be read.
  virtual Result<std::string> lastLines(const UnitName& unit,
                                        const std::string& invocationId,
                                        std::uint64_t sinceUsec,
                                        std::size_t maxLines,
                                        std::size_t maxBytes) = 0;
};

/// The system journal of this machine (sd-journal). It asks journald to
/// write out what it has received (as `journalctl --sync`), then reads the
/// tail again until the journal has been quiet for 100 ms (6 s at most), so
/// lines a command printed just before it ended, which journald may not
/// have read from its stream yet, are there too.
std::unique_ptr<JournalReader> makeSystemJournalReader();

}  // namespace upgrader
