#pragma once
// The real labelrun binary, started on port 0 with a temp config and state
// folder, for loopback integration tests.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {

inline constexpr const char* kTestSecret = "test-secret-0123456789";

class LabelrunProcess {
 public:
  struct Options {
    std::vector<std::string> secrets = {kTestSecret};
    bool paused = false;
    std::string stuck_after;  // inbox.stuck_after when set
    std::string tls_cert, tls_key;
    std::string read_timeout = "5s";
    std::string idle_timeout = "10s";
    std::string max_body = "25MiB";
    int threads = 1;
    std::string server_yaml;                 // more keys under server: ("  key: value\n")
    std::string extra_yaml;                  // appended verbatim
    std::map<std::string, std::string> env;  // added to the binary's environment
  };

  // Writes config.yaml and the secrets into `dir`, then starts the server.
  LabelrunProcess(const TempDir& dir, Options options);

  // Waits for "listening on" in the log; false if the process exited or timed out.
  bool WaitReady();
  // Starts the binary again on the same state folder (after Kill or Stop).
  void Restart();
  void Rewrite(Options options);  // rewrites config.yaml (for SIGHUP / restart)

  uint16_t port() const { return port_; }
  std::string Url(const std::string& path) const;
  Process& process() { return *process_; }
  std::string Log() const;
  size_t CountInLog(const std::string& needle) const;
  const std::filesystem::path& config_path() const { return config_path_; }
  const std::filesystem::path& db_path() const { return db_path_; }

  // POSTs a signed delivery.
  HttpResponse Deliver(const std::string& event, const std::string& guid, const std::string& body,
                       const std::string& secret = kTestSecret,
                       const std::string& content_type = "application/json");

 private:
  const TempDir& dir_;
  Options options_;
  std::filesystem::path config_path_, db_path_, log_path_;
  std::unique_ptr<Process> process_;
  uint16_t port_ = 0;
  size_t log_offset_ = 0;  // where the current run's output starts
};

// The api.github.com examples of @octokit/webhooks-examples: (event, payload JSON).
struct ExamplePayload {
  std::string event;
  std::string action;
  std::string json;
};
std::vector<ExamplePayload> LoadWebhookExamples();

}  // namespace labelrun::testing
