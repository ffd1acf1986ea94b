#include "common/clock.hpp"

#include <thread>

namespace upgrader {

namespace {

class SystemClock final : public Clock {
 public:
  SteadyTime now() override { return std::chrono::steady_clock::now(); }
  void sleepUntil(SteadyTime when) override {
    std::this_thread::sleep_until(when);
  }
  std::uint64_t realtimeMicros() override {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
  }
};

}  // namespace

Clock& systemClock() {
  static SystemClock clock;
  return clock;
}

}  // namespace upgrader
