// The config sections of the dispatcher and reporting: hosts, scheduler,
// sources, api, report, dashboard.
#include <set>

#include "config/config_sections.hpp"

namespace labelrun::config {
namespace {

bool ValidHostName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

void ParseSlurm(YamlReader& r, const YAML::Node& host, const std::string& path, HostConfig& h) {
  const std::string sp = path + ".slurm";
  const YAML::Node node = host["slurm"];
  if (!node) {
    r.Error(sp,
            "a host with kind: slurm needs slurm.partition, slurm.shared_dir and "
            "slurm.launcher");
    return;
  }
  if (!r.CheckKeys(node, sp, {"partition", "account", "qos", "shared_dir", "launcher", "conf"})) {
    return;
  }
  SlurmHostConfig& s = h.slurm;
  if (node["partition"]) r.ReadString(node["partition"], sp + ".partition", s.partition);
  if (node["account"]) r.ReadString(node["account"], sp + ".account", s.account);
  if (node["qos"]) r.ReadString(node["qos"], sp + ".qos", s.qos);
  if (node["shared_dir"]) r.ReadString(node["shared_dir"], sp + ".shared_dir", s.shared_dir);
  if (node["conf"]) r.ReadString(node["conf"], sp + ".conf", s.conf);
  if (s.partition.empty()) r.Error(sp + ".partition", "the Slurm partition jobs go to is required");
  if (s.shared_dir.empty() || s.shared_dir.front() != '/') {
    r.Error(sp + ".shared_dir",
            "an absolute folder that the cluster's nodes see too (e.g. on NFS) is required");
  }
  const YAML::Node launcher = node["launcher"];
  if (!launcher || !launcher.IsSequence() || launcher.size() == 0) {
    r.Error(sp + ".launcher",
            "expected the argv that runs the job's container, e.g. [apptainer, exec, --nv, "
            "--bind, \"{workdir}:/workspace\", \"docker://{image}\", \"{command}\"]");
    return;
  }
  bool image = false;
  for (size_t i = 0; i < launcher.size(); ++i) {
    std::string word;
    if (!r.ReadString(launcher[i], sp + ".launcher[" + std::to_string(i) + "]", word)) continue;
    image |= word.find("{image}") != std::string::npos;
    s.launcher.push_back(std::move(word));
  }
  if (!image) r.Error(sp + ".launcher", "the launcher must name {image}");
  if (host["gpus"]) {
    r.Error(path + ".gpus", "a Slurm host lists no GPUs: Slurm allocates them (GRES)");
  }
  if (host["docker"] || host["tls"]) {
    r.Error(path + ".docker", "a Slurm host has no Docker endpoint");
  }
}

void ParseHost(YamlReader& r, const YAML::Node& node, const std::string& path, HostConfig& h) {
  if (!r.CheckKeys(node, path,
                   {"name", "kind", "slurm", "docker", "tls", "labels", "gpus", "max_jobs",
                    "device_requests", "defaults"})) {
    return;
  }
  if (node["kind"] && r.ReadString(node["kind"], path + ".kind", h.kind) && h.kind != "docker" &&
      h.kind != "slurm") {
    r.Error(path + ".kind", "'" + h.kind + "' must be docker or slurm");
  }
  if (h.kind == "slurm") {
    ParseSlurm(r, node, path, h);
  } else if (node["slurm"]) {
    r.Error(path + ".slurm", "only a host with kind: slurm takes slurm settings");
  }
  if (!node["name"]) {
    r.Error(path, "a host needs a name");
  } else if (r.ReadString(node["name"], path + ".name", h.name) && !ValidHostName(h.name)) {
    r.Error(path + ".name", "'" + h.name + "' must be 1-64 letters, digits, '-', '_' or '.'");
  }
  if (node["docker"] && r.ReadString(node["docker"], path + ".docker", h.docker)) {
    const bool unix_socket = h.docker.rfind("unix:///", 0) == 0;
    const bool tcp = h.docker.rfind("tcp://", 0) == 0;
    if (!unix_socket && !tcp) {
      r.Error(path + ".docker",
              "'" + h.docker + "' must be unix:///path/to/docker.sock or tcp://HOST:2376");
    }
  }
  if (const YAML::Node tls = node["tls"]) {
    if (r.CheckKeys(tls, path + ".tls", {"ca_file", "cert_file", "key_file"})) {
      if (tls["ca_file"]) r.ReadString(tls["ca_file"], path + ".tls.ca_file", h.ca_file);
      if (tls["cert_file"]) r.ReadString(tls["cert_file"], path + ".tls.cert_file", h.cert_file);
      if (tls["key_file"]) r.ReadString(tls["key_file"], path + ".tls.key_file", h.key_file);
    }
  }
  if (h.docker.rfind("tcp://", 0) == 0 &&
      (h.ca_file.empty() || h.cert_file.empty() || h.key_file.empty())) {
    r.Error(path + ".tls",
            "a tcp:// Docker host needs tls.ca_file, tls.cert_file and tls.key_file "
            "(an unauthenticated Docker port gives root on the host to anyone)");
  }
  if (const YAML::Node labels = node["labels"]) {
    if (!labels.IsMap()) {
      r.Error(path + ".labels", "expected a mapping like {gpu-type: a100}");
    } else {
      for (const auto& kv : labels) {
        h.labels.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>(""));
      }
    }
  }
  if (const YAML::Node gpus = node["gpus"]) {
    if (gpus.IsScalar() && gpus.as<std::string>() == "discover") {
      h.discover_gpus = true;
    } else if (!gpus.IsSequence()) {
      r.Error(path + ".gpus", "expected a list of GPU UUIDs or indices, or `discover`");
    } else {
      std::set<std::string> seen;
      for (size_t i = 0; i < gpus.size(); ++i) {
        std::string id;
        if (!r.ReadString(gpus[i], path + ".gpus[" + std::to_string(i) + "]", id)) continue;
        if (id.empty() || id.find(',') != std::string::npos) {
          r.Error(path + ".gpus[" + std::to_string(i) + "]", "'" + id + "' is not a GPU id");
        } else if (!seen.insert(id).second) {
          r.Error(path + ".gpus[" + std::to_string(i) + "]", "GPU '" + id + "' is listed twice");
        } else {
          h.gpus.push_back(id);
        }
      }
    }
  }
  if (node["max_jobs"]) r.ReadUint(node["max_jobs"], path + ".max_jobs", h.max_jobs, 0, 10'000);
  if (node["device_requests"]) {
    r.ReadBool(node["device_requests"], path + ".device_requests", h.device_requests);
  }
  if (const YAML::Node defaults = node["defaults"]) {
    if (r.CheckKeys(defaults, path + ".defaults", {"memory"}) && defaults["memory"]) {
      r.ReadSize(defaults["memory"], path + ".defaults.memory", h.default_memory_bytes,
                 uint64_t{4} << 20, uint64_t{1} << 50);
    }
  }
}

void ParseHosts(YamlReader& r, const YAML::Node& node, std::vector<HostConfig>& out) {
  if (!node.IsSequence()) {
    r.Error("hosts", "expected a list of hosts ({name, docker, gpus, ...})");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = "hosts[" + std::to_string(i) + "]";
    HostConfig h;
    ParseHost(r, node[i], path, h);
    if (!h.name.empty() && !names.insert(h.name).second) {
      r.Error(path + ".name", "host '" + h.name + "' is defined twice");
    }
    out.push_back(std::move(h));
  }
}

void ParseScheduler(YamlReader& r, const YAML::Node& node, SchedulerConfig& s) {
  if (!r.CheckKeys(node, "scheduler",
                   {"gpu_sample_interval", "idle_gpu", "stop_grace", "max_per_repository"})) {
    return;
  }
  if (node["gpu_sample_interval"]) {
    r.ReadDuration(node["gpu_sample_interval"], "scheduler.gpu_sample_interval",
                   s.gpu_sample_interval);
  }
  if (const YAML::Node idle = node["idle_gpu"]) {
    if (r.CheckKeys(idle, "scheduler.idle_gpu", {"below_percent", "for"})) {
      if (idle["below_percent"]) {
        r.ReadUint(idle["below_percent"], "scheduler.idle_gpu.below_percent", s.idle_below_percent,
                   1, 100);
      }
      if (idle["for"]) r.ReadDuration(idle["for"], "scheduler.idle_gpu.for", s.idle_for);
    }
  }
  if (node["stop_grace"]) r.ReadDuration(node["stop_grace"], "scheduler.stop_grace", s.stop_grace);
  if (node["max_per_repository"]) {
    r.ReadUint(node["max_per_repository"], "scheduler.max_per_repository", s.max_per_repository, 0,
               100'000);
  }
}

void ParseSources(YamlReader& r, const YAML::Node& node, SourcesConfig& s) {
  if (!r.CheckKeys(node, "sources", {"default_dir", "repos"})) return;
  if (node["default_dir"]) r.ReadString(node["default_dir"], "sources.default_dir", s.default_dir);
  if (const YAML::Node repos = node["repos"]) {
    if (!repos.IsMap()) {
      r.Error("sources.repos", "expected a mapping of owner/name: folder");
      return;
    }
    for (const auto& kv : repos) {
      const std::string repo = kv.first.as<std::string>();
      std::string dir;
      if (r.ReadString(kv.second, "sources.repos." + repo, dir)) s.repos.emplace_back(repo, dir);
    }
  }
}

void ParseReport(YamlReader& r, const YAML::Node& node, ReportConfig& rep) {
  if (!r.CheckKeys(node, "report", {"update_interval", "public_url", "link_ttl"})) return;
  if (node["update_interval"]) {
    r.ReadDuration(node["update_interval"], "report.update_interval", rep.update_interval);
  }
  if (node["public_url"] && r.ReadString(node["public_url"], "report.public_url", rep.public_url)) {
    if (rep.public_url.rfind("https://", 0) != 0 && rep.public_url.rfind("http://", 0) != 0) {
      r.Error("report.public_url", "must start with https:// (or http://)");
    }
    while (!rep.public_url.empty() && rep.public_url.back() == '/') rep.public_url.pop_back();
  }
  if (node["link_ttl"]) r.ReadDuration(node["link_ttl"], "report.link_ttl", rep.link_ttl);
}

}  // namespace

void ParseJobSections(YamlReader& r, const YAML::Node& root, Config& cfg) {
  if (root["hosts"]) ParseHosts(r, root["hosts"], cfg.hosts);
  if (root["scheduler"]) ParseScheduler(r, root["scheduler"], cfg.scheduler);
  if (root["sources"]) ParseSources(r, root["sources"], cfg.sources);
  if (const YAML::Node api = root["api"]) {
    if (r.CheckKeys(api, "api", {"token_file"}) && api["token_file"]) {
      r.ReadString(api["token_file"], "api.token_file", cfg.api.token_file);
    }
  }
  if (root["report"]) ParseReport(r, root["report"], cfg.report);
  if (const YAML::Node dash = root["dashboard"]) {
    if (r.CheckKeys(dash, "dashboard", {"token_file", "session_ttl"})) {
      if (dash["token_file"]) {
        r.ReadString(dash["token_file"], "dashboard.token_file", cfg.dashboard.token_file);
      }
      if (dash["session_ttl"]) {
        r.ReadDuration(dash["session_ttl"], "dashboard.session_ttl", cfg.dashboard.session_ttl);
      }
    }
  }
}

}  // namespace labelrun::config
