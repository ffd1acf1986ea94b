// A clock that stands still until something waits on it: sleeping moves it
// forward at once. Tests of logic that waits assert exact times with it,
// whatever the load of the machine.
#pragma once

#include <algorithm>
#include <mutex>

#include "common/clock.hpp"

namespace upgrader::testing {

class ManualClock : public Clock {
 public:
  SteadyTime now() override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void sleepUntil(SteadyTime when) override {
    std::lock_guard lock(mutex_);
    now_ = std::max(now_, when);
  }
  std::uint64_t realtimeMicros() override {
    std::lock_guard lock(mutex_);
    return kRealtimeEpochUs +
           static_cast<std::uint64_t>(
               std::chrono::duration_cast<std::chrono::microseconds>(
                   now_ - SteadyTime{})
                   .count());
  }
  /// Moves the clock forward by `span`, as time spent working would.
  void advance(Duration span) {
    std::lock_guard lock(mutex_);
    now_ += span;
  }
  /// Time since the clock was made.
  Duration elapsed() {
    std::lock_guard lock(mutex_);
    return std::chrono::duration_cast<Duration>(now_ - SteadyTime{});
  }

 private:
  // 2026-11-01T00:00:00Z: a realistic realtime value for timestamps.
  static constexpr std::uint64_t kRealtimeEpochUs = 1793491200ull * 1000000;
  std::mutex mutex_;
  SteadyTime now_{};
};

}  // namespace upgrader::testing
