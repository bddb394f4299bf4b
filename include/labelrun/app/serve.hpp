#pragma once
// `labelrun serve`: wires config, inbox, processor and server, and runs until
// SIGTERM.

#include <filesystem>
#include <optional>
#include <string>

namespace labelrun::app {

struct ServeOptions {
  std::optional<std::filesystem::path> config_path;  // absent: embedded defaults (--dev)
  bool dev = false;
  std::string dev_state_dir = "state";
  std::string dev_listen;  // overrides server.listen in dev mode when set
};

int RunServe(const ServeOptions& options);

// `labelrun check-config`: prints every problem; 0 when the file can be served.
int RunCheckConfig(const std::filesystem::path& config_path);

}  // namespace labelrun::app
