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
  std::string state_dir;  // overrides state_dir (default ./state in --dev mode) when set
  std::string listen;     // HOST:PORT; overrides server.listen (of --config or --dev) when set
};

int RunServe(const ServeOptions& options);

// `labelrun check-config`: prints every problem; 0 when the file can be served.
int RunCheckConfig(const std::filesystem::path& config_path);

}  // namespace labelrun::app
