#include "labelrun/app/jobs_setup.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <cerrno>
#include <cstring>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "labelrun/core/strings.hpp"
#include "labelrun/runtime/reconnecting.hpp"
#include "labelrun/runtime/slurm.hpp"
#include "labelrun/runtime/sources.hpp"

namespace labelrun::app {
namespace {

// GPU UUIDs from nvidia-smi on this machine.
Result<std::vector<std::string>> DiscoverGpus() {
  std::FILE* pipe = popen("nvidia-smi --query-gpu=uuid --format=csv,noheader 2>&1", "r");
  if (!pipe) return Unexpected(ErrorCode::kFailedPrecondition, "cannot run nvidia-smi");
  std::string output;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  if (status != 0) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      "nvidia-smi failed: " + std::string(Trim(output)));
  }
  std::vector<std::string> gpus;
  for (std::string_view line : Split(output, '\n')) {
    line = Trim(line);
    if (!line.empty()) gpus.emplace_back(line);
  }
  if (gpus.empty()) return Unexpected(ErrorCode::kFailedPrecondition, "nvidia-smi lists no GPUs");
  return gpus;
}

// No code at all: an empty commit and an empty archive (nothing is copied in).
class NoSource final : public runtime::SourceProvider {
 public:
  Result<std::string> ResolveCommit(const std::string&, int64_t) override { return std::string(); }
  Result<std::string> Archive(const std::string&, int64_t, const std::string&) override {
    return std::string();
  }
};

std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

Result<scheduler::Host> MakeSlurmHost(const config::HostConfig& h) {
  runtime::SlurmSettings settings;
  settings.partition = h.slurm.partition;
  settings.account = h.slurm.account;
  settings.qos = h.slurm.qos;
  settings.shared_dir = h.slurm.shared_dir;
  settings.launcher = h.slurm.launcher;
  settings.slurm_conf = h.slurm.conf;
  Result<std::unique_ptr<runtime::SlurmRuntime>> rt = runtime::SlurmRuntime::Create(settings);
  if (!rt) return rt.error();
  scheduler::Host host;
  host.slots.name = h.name;
  for (const auto& [k, v] : h.labels) host.slots.labels[k] = v;
  host.slots.max_jobs = static_cast<int>(h.max_jobs);
  host.slots.cluster = true;
  host.endpoint = "slurm partition " + h.slurm.partition;
  host.default_memory_bytes = h.default_memory_bytes;
  host.runtime = std::shared_ptr<runtime::Runtime>(std::move(*rt));
  return host;
}

}  // namespace

Result<std::vector<scheduler::Host>> MakeHosts(const config::Config& cfg) {
  std::vector<config::HostConfig> configured = cfg.hosts;
  if (configured.empty()) {
    config::HostConfig local;
    local.name = "local";
    configured.push_back(local);
  }
  std::vector<scheduler::Host> hosts;
  for (size_t i = 0; i < configured.size(); ++i) {
    const config::HostConfig& h = configured[i];
    if (h.kind == "slurm") {
      Result<scheduler::Host> slurm = MakeSlurmHost(h);
      if (!slurm) {
        return Unexpected(slurm.error().code(),
                          "hosts[" + std::to_string(i) + "]: " + slurm.error().message());
      }
      hosts.push_back(std::move(*slurm));
      continue;
    }
    Result<runtime::DockerEndpoint> parsed =
        runtime::ParseDockerEndpoint(h.docker, h.ca_file, h.cert_file, h.key_file);
    if (!parsed) {
      return Unexpected(ErrorCode::kInvalidArgument,
                        "hosts[" + std::to_string(i) + "]: " + parsed.error().message());
    }
    scheduler::Host host;
    host.slots.name = h.name;
    for (const auto& [k, v] : h.labels) host.slots.labels[k] = v;
    host.slots.gpus = h.gpus;
    host.slots.max_jobs = static_cast<int>(h.max_jobs);
    if (h.discover_gpus) {
      if (h.docker.rfind("unix://", 0) != 0) {
        return Unexpected(ErrorCode::kInvalidArgument,
                          "hosts[" + std::to_string(i) +
                              "].gpus: discover works for the local Docker daemon only; list "
                              "the GPU UUIDs of a remote host");
      }
      Result<std::vector<std::string>> found = DiscoverGpus();
      if (!found) {
        return Unexpected(
            ErrorCode::kFailedPrecondition,
            "hosts[" + std::to_string(i) + "].gpus: discover: " + found.error().message());
      }
      host.slots.gpus = *found;
      spdlog::info("host {}: {} GPU(s) found by nvidia-smi", h.name, found->size());
    }
    host.endpoint = h.docker;
    host.device_requests = h.device_requests;
    host.default_memory_bytes = h.default_memory_bytes;
    host.runtime = std::make_shared<runtime::ReconnectingDocker>(*parsed);
    hosts.push_back(std::move(host));
  }
  return hosts;
}

Result<std::unique_ptr<runtime::SourceProvider>> MakeSource(
    const config::Config& cfg, github::Client* client, const std::filesystem::path& fallback_dir,
    github::Client* lookup_client) {
  const bool local = !cfg.sources.default_dir.empty() || !cfg.sources.repos.empty();
  if (client && !local) {
    runtime::GithubSourceOptions o;
    o.temp_dir = cfg.state_dir / "tmp";
    o.lookup_client = lookup_client;
    std::error_code ec;
    std::filesystem::create_directories(o.temp_dir, ec);
    return std::unique_ptr<runtime::SourceProvider>(
        std::make_unique<runtime::GithubSource>(*client, o));
  }
  if (!local && fallback_dir.empty()) {
    // Neither GitHub nor folders: jobs run their image with no code copied in.
    spdlog::warn("no `github` and no `sources` configured: jobs get no repository code");
    return std::unique_ptr<runtime::SourceProvider>(std::make_unique<NoSource>());
  }
  runtime::LocalSourceOptions o;
  o.default_folder = local ? std::filesystem::path(cfg.sources.default_dir) : fallback_dir;
  for (const auto& [repo, dir] : cfg.sources.repos) o.folders[repo] = dir;
  return std::unique_ptr<runtime::SourceProvider>(std::make_unique<runtime::LocalSource>(o));
}

Result<std::string> EnsureInstanceId(const std::filesystem::path& state_dir) {
  const std::filesystem::path path = state_dir / "instance-id";
  {
    std::ifstream in(path);
    std::string id;
    if (in && std::getline(in, id) && !Trim(id).empty()) return std::string(Trim(id));
  }
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return Unexpected(ErrorCode::kInternal, "no randomness for the instance id");
  }
  std::string id = HexEncode(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
  std::ofstream out(path, std::ios::trunc);
  out << id << "\n";
  if (!out) return Unexpected(ErrorCode::kFailedPrecondition, "cannot write " + path.string());
  return id;
}

Result<std::string> ReadTokenFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      "cannot read " + path.string() + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token(Trim(ss.str()));
  if (token.empty()) return Unexpected(ErrorCode::kFailedPrecondition, path.string() + " is empty");
  return token;
}

scheduler::DispatcherOptions DispatcherOptionsFrom(const config::Config& cfg,
                                                   std::string instance) {
  scheduler::DispatcherOptions o;
  o.jobs_dir = cfg.state_dir / "jobs";
  o.stop_grace = cfg.scheduler.stop_grace;
  o.gpu_sample_interval = cfg.scheduler.gpu_sample_interval;
  o.idle_below_percent = static_cast<int>(cfg.scheduler.idle_below_percent);
  o.idle_for = cfg.scheduler.idle_for;
  o.max_per_repository = static_cast<int>(cfg.scheduler.max_per_repository);
  o.instance = std::move(instance);
  return o;
}

void RenderJobMetrics(const scheduler::DispatcherStats& stats, std::string& out) {
  out += "# HELP labelrun_jobs Open jobs by state.\n# TYPE labelrun_jobs gauge\n";
  for (const char* state : {"queued", "starting", "running"}) {
    auto it = stats.jobs_by_state.find(state);
    out += "labelrun_jobs{state=\"" + std::string(state) + "\"} " +
           std::to_string(it == stats.jobs_by_state.end() ? 0 : it->second) + "\n";
  }
  out +=
      "# HELP labelrun_job_queue_depth Jobs waiting for a host.\n"
      "# TYPE labelrun_job_queue_depth gauge\nlabelrun_job_queue_depth " +
      std::to_string(stats.queue_depth) + "\n";
  out += "# HELP labelrun_gpus GPUs per host.\n# TYPE labelrun_gpus gauge\n";
  for (const auto& [host, total] : stats.gpus_total) {
    out += "labelrun_gpus{host=\"" + Escape(host) + "\"} " + std::to_string(total) + "\n";
  }
  out +=
      "# HELP labelrun_gpus_in_use GPUs held by jobs per host.\n# TYPE labelrun_gpus_in_use "
      "gauge\n";
  for (const auto& [host, used] : stats.gpus_in_use) {
    out += "labelrun_gpus_in_use{host=\"" + Escape(host) + "\"} " + std::to_string(used) + "\n";
  }
  out +=
      "# HELP labelrun_job_gpu_utilization_percent Latest GPU utilisation of running jobs.\n"
      "# TYPE labelrun_job_gpu_utilization_percent gauge\n";
  std::string memory =
      "# HELP labelrun_job_gpu_memory_used_mib Latest GPU memory used by running jobs.\n"
      "# TYPE labelrun_job_gpu_memory_used_mib gauge\n";
  // job_id, not job: Prometheus sets `job` on every series it scrapes (the scrape
  // job) and would rename ours to exported_job.
  for (const auto& [job, host_samples] : stats.gpu_samples) {
    for (const scheduler::GpuSample& s : host_samples.second) {
      const std::string labels = "{job_id=\"" + Escape(job) + "\",host=\"" +
                                 Escape(host_samples.first) + "\",gpu=\"" + Escape(s.gpu) + "\"}";
      out += "labelrun_job_gpu_utilization_percent" + labels + " " +
             std::to_string(s.utilization_percent) + "\n";
      memory += "labelrun_job_gpu_memory_used_mib" + labels + " " +
                std::to_string(s.memory_used_mib) + "\n";
    }
  }
  out += memory;
}

}  // namespace labelrun::app
