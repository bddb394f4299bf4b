#pragma once
// Time as a seam: the only place labelrun reads the system clock. Tests pass a
// ManualClock.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace labelrun {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time, for timestamps people read and store.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for intervals and deadlines.
  virtual std::chrono::steady_clock::time_point Steady() const = 0;

  int64_t NowUnixMillis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Now().time_since_epoch()).count();
  }
};

// The real clocks. Thread-safe.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override;
  std::chrono::steady_clock::time_point Steady() const override;
  // A process-wide instance.
  static const SystemClock& Instance();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t unix_millis = 1'700'000'000'000) : millis_(unix_millis) {}
  std::chrono::system_clock::time_point Now() const override;
  std::chrono::steady_clock::time_point Steady() const override;
  void Advance(std::chrono::milliseconds d) { millis_ += d.count(); }

 private:
  std::atomic<int64_t> millis_;
};

}  // namespace labelrun
