#pragma once
// The systemd notification protocol (sd_notify(3)) for `labelrun serve` under
// Type=notify: READY=1 once serving, RELOADING=1 around SIGHUP, STOPPING=1 on
// shutdown, and WATCHDOG=1 pings while healthy. Without $NOTIFY_SOCKET every
// call does nothing.

#include <chrono>
#include <string_view>

namespace labelrun::app {

class SystemdNotifier {
 public:
  // Reads $NOTIFY_SOCKET and $WATCHDOG_USEC (and $WATCHDOG_PID, which must be
  // this process when set).
  static SystemdNotifier FromEnvironment();

  bool enabled() const { return enabled_; }
  // How often to send WATCHDOG=1: half of $WATCHDOG_USEC; zero when systemd
  // asked for no watchdog.
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }
  // systemd's whole watchdog period ($WATCHDOG_USEC); zero when off.
  std::chrono::microseconds watchdog_period() const { return 2 * watchdog_interval_; }

  // READY=1 with a STATUS= line people see in `systemctl status`.
  void Ready(std::string_view status) const;
  // RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC now); follow with Ready().
  void Reloading() const;
  // STOPPING=1.
  void Stopping(std::string_view status) const;
  // WATCHDOG=1.
  void Watchdog() const;

 private:
  void Send(const std::string& message) const;

  bool enabled_ = false;
  std::chrono::microseconds watchdog_interval_{0};
};

}  // namespace labelrun::app
