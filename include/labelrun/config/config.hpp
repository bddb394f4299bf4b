#pragma once
// labelrun's configuration: YAML in, validated structs out. Every problem is
// reported with its key path ("server.listen: port 99999 out of range"), all at
// once, so that one run of `labelrun check-config` shows everything to fix.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "labelrun/core/result.hpp"
#include "labelrun/github/settings.hpp"

namespace labelrun::config {

// Where a secret comes from. Exactly one field is set.
struct SecretSource {
  std::string env;         // an environment variable's name
  std::string file;        // a file whose whole content (trailing newline trimmed) is the secret
  std::string credential;  // a systemd credential: $CREDENTIALS_DIRECTORY/<name>
  std::string Describe() const;  // "env LABELRUN_WEBHOOK_SECRET", never the value
};

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string webhook_path = "/webhook";
  uint64_t max_body_bytes = 25ULL << 20;  // GitHub caps payloads at 25 MB
  uint32_t max_header_bytes = 16 << 10;
  // At the limit a new connection closes the longest-idle one; it is refused
  // only when every connection is in the middle of a request.
  uint32_t max_connections = 1024;
  // Request bodies held in memory at once, all connections together (reserved
  // from Content-Length before a body is read); past it a request gets 503.
  uint64_t max_inflight_body_bytes = 256ULL << 20;
  uint32_t threads = 1;  // I/O threads; the handler's work is a few microseconds
  std::chrono::milliseconds read_timeout{15'000};   // one request, headers and body
  std::chrono::milliseconds write_timeout{15'000};  // one response
  std::chrono::milliseconds idle_timeout{75'000};   // between requests on a keep-alive connection
  TlsConfig tls;
};

struct WebhookConfig {
  std::vector<SecretSource> secrets;
  std::string secrets_file;  // one secret per line; several lines = rotation
};

struct InboxConfig {
  bool keep_bodies = false;  // store every raw body too (audit, debugging); costs disk
  bool paused = false;       // accept and store, but do not process (maintenance)
  std::chrono::milliseconds retention{30LL * 24 * 3600 * 1000};  // GitHub redelivers up to 30 days
  uint32_t max_batch = 512;                                      // deliveries per group commit
  // One delivery in processing longer than this counts as stuck: labelrun
  // stops its systemd watchdog pings, so that systemd restarts it.
  std::chrono::milliseconds stuck_after{5 * 60'000};
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error
};

// A Docker daemon labelrun runs jobs on (`hosts[]`).
// `kind: slurm`: a Slurm cluster that queues jobs and allocates GPUs itself.
struct SlurmHostConfig {
  std::string partition;
  std::string account;
  std::string qos;
  std::string shared_dir;             // seen by the cluster's nodes too (e.g. NFS)
  std::vector<std::string> launcher;  // argv that runs the job's container on the node
  std::string conf;                   // SLURM_CONF for Slurm's commands; empty: the default
};

struct HostConfig {
  std::string name;
  std::string kind = "docker";                         // or "slurm"
  SlurmHostConfig slurm;                               // kind: slurm
  std::string docker = "unix:///var/run/docker.sock";  // or tcp://HOST:2376 with TLS files
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::vector<std::pair<std::string, std::string>> labels;  // matched by rules' host_selector
  std::vector<std::string> gpus;  // device ids (UUIDs or indices); empty: a CPU host
  bool discover_gpus = false;     // `gpus: discover`: ask nvidia-smi on this machine
  uint32_t max_jobs = 0;          // jobs at once; 0: no limit
  // false: GPUs are allocated and passed as NVIDIA_VISIBLE_DEVICES without a
  // DeviceRequest (trying GPU scheduling on a host without the NVIDIA runtime).
  bool device_requests = true;
  // `defaults: {memory: 16g}`: the memory limit of jobs whose rule sets none; 0: none.
  uint64_t default_memory_bytes = 0;
};

struct SchedulerConfig {
  std::chrono::milliseconds gpu_sample_interval{30'000};
  uint32_t idle_below_percent = 0;  // idle_gpu.below_percent; 0: the idle guard is off
  std::chrono::milliseconds idle_for{600'000};
  std::chrono::milliseconds stop_grace{30'000};
  uint32_t max_per_repository = 0;
};

// Where job code comes from without GitHub (local mode, tests): a folder (a git
// work tree or a plain folder) for every repository, or per repository.
struct SourcesConfig {
  std::string default_dir;
  std::vector<std::pair<std::string, std::string>> repos;  // owner/name -> folder
};

struct ApiConfig {
  std::string token_file;  // bearer token for /api; empty: the API is off
};

struct ReportConfig {
  std::chrono::milliseconds update_interval{30'000};  // comment edits while running
  std::string public_url;                             // base of links in comments
  std::chrono::milliseconds link_ttl{7LL * 24 * 3600 * 1000};
};

struct DashboardConfig {
  std::string token_file;  // bearer token for /jobs pages without a signed link, and sign-in
  std::chrono::milliseconds session_ttl{12LL * 3600 * 1000};  // a sign-in lasts this long
};

// github.setup: labelrun serves /github/setup, which registers its GitHub App
// through GitHub's manifest flow, and /github/app-created, where GitHub sends
// the browser back with a code that labelrun exchanges for the App's id,
// private key and webhook secret (written into state_dir/github-app/).
struct GithubSetup {
  bool enabled = false;
  std::string app_name = "labelrun";  // App names are global on GitHub
  std::string organization;           // empty: the App belongs to the person registering it
  std::string web_url = "https://github.com";
  std::string api_url = "https://api.github.com";  // github.api_url
  std::string ca_file;                             // github.ca_file
};

struct Config {
  std::string source;  // the file it came from, or "<embedded defaults>"
  std::filesystem::path state_dir = "/var/lib/labelrun";
  ServerConfig server;
  WebhookConfig webhook;
  InboxConfig inbox;
  LogConfig log;
  GithubSetup github_setup;                // github.setup: registering the App from labelrun
  std::optional<github::Settings> github;  // absent: no GitHub client (logs decisions only)
  std::vector<HostConfig> hosts;           // empty: the local Docker daemon as a CPU host
  SchedulerConfig scheduler;
  SourcesConfig sources;
  ApiConfig api;
  ReportConfig report;
  DashboardConfig dashboard;
};

// One problem with its key path; `warning` problems do not fail a check.
struct Problem {
  std::string path;
  std::string message;
  bool warning = false;
  std::string ToString() const;  // "server.listen: port 99999 out of range"
};

struct LoadOutcome {
  std::optional<Config> config;  // set when there are no errors
  std::vector<Problem> problems;
  bool ok() const { return config.has_value(); }
};

// Parses and validates YAML text. `source` names it in messages.
LoadOutcome ParseConfig(std::string_view yaml_text, std::string source);
// Reads and parses a file.
LoadOutcome LoadConfigFile(const std::filesystem::path& path);

// The environment secrets and credentials are read from. Tests pass their own.
struct SecretEnv {
  std::function<std::optional<std::string>(const std::string&)> getenv;
  static SecretEnv Process();  // the real environment
};

// Resolves the webhook secrets: every configured source, then the lines of
// `secrets_file`. With nothing configured it falls back to the systemd
// credential `webhook-secret` and then $LABELRUN_WEBHOOK_SECRET. Empty secrets
// are errors; the error never contains a secret.
Result<std::vector<std::string>> ResolveWebhookSecrets(const WebhookConfig& cfg,
                                                       const SecretEnv& env);

// Checks that the TLS files (when configured) can be read and form a key pair.
Status CheckTlsFiles(const TlsConfig& tls);

}  // namespace labelrun::config
