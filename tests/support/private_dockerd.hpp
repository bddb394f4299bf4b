#pragma once
// A Docker daemon of the test's own, for tests that stop or restart one: its
// own socket, data root, exec root and pid file in a temp folder, its own
// network namespace, no bridge and no iptables rules, so that it touches
// nothing of the machine's own daemon (which may be running someone's training). The test image is
// loaded into it from the machine's daemon (docker save | docker load).

#include <filesystem>
#include <memory>
#include <string>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {

class PrivateDockerd {
 public:
  PrivateDockerd();
  ~PrivateDockerd();  // stops the daemon (SIGTERM, then SIGKILL) and removes its folder
  PrivateDockerd(const PrivateDockerd&) = delete;
  PrivateDockerd& operator=(const PrivateDockerd&) = delete;

  // Starts the daemon and waits until it answers; loads kTestImage into it the
  // first time. Empty on success, else what went wrong (with the daemon's log).
  std::string Start();
  // SIGTERM, as a service manager stops it, and waits for it to exit. Its
  // running containers are stopped by the daemon on the way down.
  std::string Stop();
  std::string Restart();

  // unix://<folder>/docker.sock
  std::string url() const;
  std::string Log() const;

 private:
  std::string Docker(const std::vector<std::string>& args, std::string* output = nullptr) const;

  TempDir dir_;
  std::unique_ptr<Process> daemon_;
  bool image_loaded_ = false;
};

}  // namespace labelrun::testing
