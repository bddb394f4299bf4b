#include "labelrun/core/clock.hpp"

namespace labelrun {

std::chrono::system_clock::time_point SystemClock::Now() const {
  return std::chrono::system_clock::now();
}

std::chrono::steady_clock::time_point SystemClock::Steady() const {
  return std::chrono::steady_clock::now();
}

const SystemClock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

std::chrono::system_clock::time_point ManualClock::Now() const {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis_.load()));
}

std::chrono::steady_clock::time_point ManualClock::Steady() const {
  return std::chrono::steady_clock::time_point(std::chrono::milliseconds(millis_.load()));
}

}  // namespace labelrun
