// Time as a side effect: reading the clocks and waiting. Behind a small
// interface so that logic which waits (health checks, timeouts) is tested
// against a clock the test moves, asserting behaviour rather than wall time
// on a loaded machine.
#pragma once

#include <chrono>
#include <cstdint>

namespace upgrader {

using SteadyTime = std::chrono::steady_clock::time_point;
/// Spans of time as configured (TimeoutSec= and the like).
using Duration = std::chrono::microseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  /// Monotonic time, for deadlines and intervals.
  virtual SteadyTime now() = 0;
  /// Returns at `when` (at once if it has passed).
  virtual void sleepUntil(SteadyTime when) = 0;
  /// CLOCK_REALTIME in microseconds: the clock of systemd's unit
  /// timestamps (ActiveEnterTimestamp).
  virtual std::uint64_t realtimeMicros() = 0;
};

/// The real clocks.
Clock& systemClock();

/// `start + span`, saturated at the largest time point instead of wrapping:
/// a configured span of years must mean "a long time", not "already past".
/// A negative span counts as zero.
template <typename Rep, typename Period>
SteadyTime saturatingAdd(SteadyTime start,
                         std::chrono::duration<Rep, Period> span) {
  using D = SteadyTime::duration;
  if (span <= span.zero()) return start;
  const auto room = SteadyTime::max() - start;
  // Compared in the coarser of the two units, where neither overflows.
  if (std::chrono::duration_cast<std::chrono::duration<double>>(span) >=
      std::chrono::duration_cast<std::chrono::duration<double>>(room)) {
    return SteadyTime::max();
  }
  return start + std::chrono::duration_cast<D>(span);
}

}  // namespace upgrader
