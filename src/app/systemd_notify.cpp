#include "labelrun/app/systemd_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace labelrun::app {

SystemdNotifier SystemdNotifier::FromEnvironment() {
  SystemdNotifier n;
  const char* socket = std::getenv("NOTIFY_SOCKET");
  n.enabled_ = socket != nullptr && *socket != '\0';
  if (!n.enabled_) return n;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0 && usec > 0) {
    n.watchdog_interval_ = std::chrono::microseconds(usec / 2);
  }
  return n;
}

void SystemdNotifier::Send(const std::string& message) const {
  if (!enabled_) return;
  // unset_environment=0: every later notification needs $NOTIFY_SOCKET again.
  // NotifyAccess=main keeps child processes that inherit it from being heard.
  if (int r = sd_notify(0, message.c_str()); r < 0) {
    spdlog::warn("systemd notify: {}", std::strerror(-r));
  }
}

void SystemdNotifier::Ready(std::string_view status) const {
  Send("READY=1\nSTATUS=" + std::string(status));
}

void SystemdNotifier::Reloading() const {
  // systemd pairs RELOADING=1 with a CLOCK_MONOTONIC timestamp (Type=notify-reload).
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000;
  Send("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::Stopping(std::string_view status) const {
  Send("STOPPING=1\nSTATUS=" + std::string(status));
}

void SystemdNotifier::Watchdog() const { Send("WATCHDOG=1"); }

}  // namespace labelrun::app
