#include "job_loader.hpp"

#include <algorithm>
#include <cctype>

#include "labelrun/core/strings.hpp"
#include "labelrun/core/units.hpp"

namespace labelrun::rules::internal {
namespace {

constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::hours(24 * 30);

bool IsEnvName(std::string_view name) {
  if (name.empty() || name.size() > 128 || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsMetricName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '/' || c == '-';
  });
}

// An absolute path with no '..' component and no control characters.
bool IsContainerFolder(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() > 1024) return false;
  if (path == "/..") return false;
  if (path.find("/../") != std::string_view::npos || path.ends_with("/..")) return false;
  return std::none_of(path.begin(), path.end(),
                      [](char c) { return static_cast<unsigned char>(c) < ' '; });
}

// A user or group as Docker's Config.User takes it: a name or a number.
bool IsUserPart(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool IsUser(std::string_view user) {
  const size_t colon = user.find(':');
  if (colon == std::string_view::npos) return IsUserPart(user);
  return IsUserPart(user.substr(0, colon)) && IsUserPart(user.substr(colon + 1));
}

// Docker's network names; "container:<id>" (another container's network) is
// not offered.
bool IsNetworkName(std::string_view name) {
  if (name.empty() || name.size() > 128 || !std::isalnum(static_cast<unsigned char>(name[0])))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// "/a//b/./c/" as "/a/b/c": the folder a mount's host side names.
std::string NormalPath(std::string_view path) {
  std::string out;
  for (std::string_view part : Split(path, '/')) {
    if (part.empty() || part == ".") continue;
    out += "/";
    out += part;
  }
  return out.empty() ? "/" : out;
}

// `metric: loss` or `metric: [loss, val_loss]`: 1 to kMaxJobMetrics different names.
bool ReadMetrics(YamlReader& r, const YAML::Node& node, const std::string& path,
                 std::vector<std::string>& out) {
  std::optional<std::vector<std::string>> names;
  if (node.IsMap()) {
    r.Error(path, "must be a metric name or a list of them, like [loss, val_loss]");
    return false;
  }
  if (node.IsSequence()) {
    names = r.StringList(node, path);
  } else if (auto one = r.String(node, path)) {
    names = std::vector<std::string>{std::move(*one)};
  }
  if (!names) return false;
  if (names->empty()) {
    r.Error(path, "is empty; name at least one metric, like loss");
    return false;
  }
  if (names->size() > kMaxJobMetrics) {
    r.Error(path, "names " + std::to_string(names->size()) + " metrics; at most " +
                      std::to_string(kMaxJobMetrics) + " are charted");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < names->size(); ++i) {
    const std::string at = node.IsSequence() ? YamlReader::Index(path, i) : path;
    const std::string& name = (*names)[i];
    if (!IsMetricName(name)) {
      r.Error(at,
              "'" + name.substr(0, 80) + "' must be 1-64 letters, digits, '_', '.', '/' or '-'");
      ok = false;
    } else if (std::find((*names).begin(), (*names).begin() + i, name) != (*names).begin() + i) {
      r.Error(at, "'" + name + "' is named twice");
      ok = false;
    }
  }
  if (ok) out = std::move(*names);
  return ok;
}

bool ReadSize(YamlReader& r, const YAML::Node& node, const std::string& path, uint64_t& out) {
  auto text = r.String(node, path);
  if (!text) return false;
  auto size = ParseSize(*text);
  if (!size) {
    r.Error(path, size.error().message());
    return false;
  }
  out = *size;
  return true;
}

}  // namespace

std::optional<JobTemplate> ReadJob(YamlReader& r, const YAML::Node& node, const std::string& path,
                                   const labels::Dictionary* dictionary) {
  if (!r.ExpectMap(node, path)) return std::nullopt;
  r.CheckKeys(node, path,
              {"image", "command", "env", "gpus", "cpus", "memory", "shm_size", "timeout",
               "host_selector", "outputs", "outputs_max_bytes", "metric", "env_from_labels",
               "working_dir", "cap_add", "mounts", "user", "network"});
  JobTemplate job;
  bool ok = true;
  auto key = [&](std::string_view k) { return YamlReader::Key(path, k); };

  if (auto image = r.String(node["image"], key("image"))) {
    if (Status pinned = CheckImagePinned(*image); !pinned) {
      r.Error(key("image"), pinned.error().message());
      ok = false;
    }
    job.image = std::move(*image);
  } else {
    ok = false;
  }

  const YAML::Node command = node["command"];
  if (command.IsDefined() && command.IsScalar()) {
    r.Error(key("command"),
            "must be a list of arguments like [python, train.py], not a shell string");
    ok = false;
  } else if (auto argv = r.StringList(command, key("command"))) {
    if (argv->empty()) {
      r.Error(key("command"), "is empty");
      ok = false;
    }
    job.command = std::move(*argv);
  } else {
    ok = false;
  }

  if (node["env"]) {
    if (auto env = r.StringMap(node["env"], key("env"))) {
      for (const auto& [name, value] : *env) {
        if (!IsEnvName(name)) {
          r.Error(YamlReader::Key(key("env"), name), "is not a valid environment variable name");
          ok = false;
        }
      }
      job.env = std::move(*env);
      std::sort(job.env.begin(), job.env.end());
    } else {
      ok = false;
    }
  }
  if (node["gpus"]) {
    auto gpus = r.Int(node["gpus"], key("gpus"), 0, 64);
    ok &= gpus.has_value();
    job.gpus = static_cast<int>(gpus.value_or(0));
  }
  if (node["cpus"]) {
    auto cpus = r.Double(node["cpus"], key("cpus"), 0.01, 1024);
    ok &= cpus.has_value();
    job.cpus = cpus.value_or(0);
  }
  if (node["memory"]) ok &= ReadSize(r, node["memory"], key("memory"), job.memory_bytes);
  if (node["shm_size"]) ok &= ReadSize(r, node["shm_size"], key("shm_size"), job.shm_bytes);
  if (node["timeout"]) {
    if (auto text = r.String(node["timeout"], key("timeout"))) {
      auto timeout = ParseDuration(*text);
      if (!timeout) {
        r.Error(key("timeout"), timeout.error().message());
        ok = false;
      } else if (timeout->count() <= 0 || *timeout > kMaxTimeout) {
        r.Error(key("timeout"), "must be more than 0 and at most 30 days");
        ok = false;
      } else {
        job.timeout = *timeout;
      }
    } else {
      ok = false;
    }
  }
  if (node["host_selector"]) {
    auto selector = r.StringMap(node["host_selector"], key("host_selector"));
    ok &= selector.has_value();
    if (selector) job.host_selector = std::move(*selector);
    std::sort(job.host_selector.begin(), job.host_selector.end());
  }
  if (node["outputs"]) {
    auto outputs = r.String(node["outputs"], key("outputs"));
    if (outputs && !IsContainerFolder(*outputs)) {
      r.Error(key("outputs"), "must be an absolute folder in the container, without '..'");
      ok = false;
    }
    ok &= outputs.has_value();
    job.outputs = outputs.value_or("");
  }
  if (node["outputs_max_bytes"]) {
    ok &= ReadSize(r, node["outputs_max_bytes"], key("outputs_max_bytes"), job.outputs_max_bytes);
    if (job.outputs_max_bytes < 2048) {
      r.Error(key("outputs_max_bytes"), "must be at least 2KiB (an empty archive takes 1KiB)");
      ok = false;
    }
  }
  if (node["working_dir"]) {
    auto dir = r.String(node["working_dir"], key("working_dir"));
    if (dir && !IsContainerFolder(*dir)) {
      r.Error(key("working_dir"), "must be an absolute folder in the container, without '..'");
      ok = false;
    }
    ok &= dir.has_value();
    if (dir) job.working_dir = std::move(*dir);
  }
  if (node["cap_add"]) {
    auto caps = r.StringList(node["cap_add"], key("cap_add"));
    ok &= caps.has_value();
    for (const std::string& cap : caps.value_or(std::vector<std::string>{})) {
      bool valid = !cap.empty() && cap != "ALL";
      for (char c : cap) valid &= (c >= 'A' && c <= 'Z') || c == '_';
      if (!valid) {
        r.Error(key("cap_add"),
                "'" + cap + "' is not a capability name like NET_ADMIN (ALL is refused)");
        ok = false;
      }
    }
    if (caps) job.cap_add = std::move(*caps);
  }
  if (node["mounts"]) {
    auto mounts = r.StringList(node["mounts"], key("mounts"));
    ok &= mounts.has_value();
    for (const std::string& m : mounts.value_or(std::vector<std::string>{})) {
      const size_t colon = m.find(':');
      const std::string_view host = std::string_view(m).substr(0, colon);
      std::string_view rest =
          colon == std::string::npos ? "" : std::string_view(m).substr(colon + 1);
      const std::string_view target = rest.substr(0, rest.find(':'));
      const std::string_view mode =
          rest.find(':') == std::string_view::npos ? "" : rest.substr(rest.find(':') + 1);
      if (!IsContainerFolder(host) || !IsContainerFolder(target) ||
          (mode != "" && mode != "ro" && mode != "rw")) {
        r.Error(key("mounts"),
                "'" + m + "' must be host_path:container_path[:ro|rw], both absolute");
        ok = false;
      }
    }
    if (mounts) job.mounts = std::move(*mounts);
  }
  if (node["user"]) {
    auto user = r.String(node["user"], key("user"));
    if (user && !IsUser(*user)) {
      r.Error(key("user"), "'" + *user +
                               "' must be a user and optional group, by name or number, "
                               "like 1000:1000 or trainer");
      ok = false;
    }
    ok &= user.has_value();
    if (user) job.user = std::move(*user);
  }
  if (node["network"]) {
    auto network = r.String(node["network"], key("network"));
    if (network && !IsNetworkName(*network)) {
      r.Error(key("network"), "'" + *network +
                                  "' must be none (no network), bridge, host or the name of a "
                                  "Docker network");
      ok = false;
    }
    ok &= network.has_value();
    if (network) job.network = std::move(*network);
  }
  if (node["metric"]) {
    ok &= ReadMetrics(r, node["metric"], key("metric"), job.metrics);
  }
  if (node["env_from_labels"]) {
    const std::string base = key("env_from_labels");
    auto mapping = r.StringMap(node["env_from_labels"], base);
    ok &= mapping.has_value();
    for (const auto& entry : mapping.value_or(KeyValues{})) {
      // Not a structured binding: clang before 16 cannot capture those in lambdas.
      const std::string& pattern_text = entry.first;
      const std::string& variable = entry.second;
      const std::string at = YamlReader::Key(base, pattern_text);
      auto pattern = Pattern::Compile(pattern_text);
      if (!pattern) {
        r.Error(at, pattern.error().message());
        ok = false;
        continue;
      }
      if (!IsEnvName(variable)) {
        r.Error(at, "'" + variable + "' is not a valid environment variable name");
        ok = false;
        continue;
      }
      if (std::any_of(job.env.begin(), job.env.end(),
                      [&](const auto& kv) { return kv.first == variable; })) {
        r.Error(at, "'" + variable + "' is also set in env; set it in one place");
        ok = false;
        continue;
      }
      if (dictionary != nullptr &&
          std::none_of(dictionary->labels().begin(), dictionary->labels().end(),
                       [&](const labels::LabelInfo& l) { return pattern->Matches(l.name); })) {
        r.Error(at, "pattern '" + pattern_text + "' matches no label in LABELS.md");
        ok = false;
        continue;
      }
      job.env_from_labels.push_back({std::move(*pattern), variable});
    }
  }
  if (!ok) return std::nullopt;
  return job;
}

std::vector<UnsafeSetting> FindUnsafeSettings(const JobTemplate& job, const std::string& path) {
  std::vector<UnsafeSetting> out;
  auto key = [&](std::string_view k) { return YamlReader::Key(path, k); };
  // Mounting any of these hands the job the Docker socket: root on the host.
  static constexpr std::string_view kSockets[] = {"/var/run/docker.sock", "/run/docker.sock"};
  for (size_t i = 0; i < job.mounts.size(); ++i) {
    const std::string& m = job.mounts[i];
    const std::string host = NormalPath(std::string_view(m).substr(0, m.find(':')));
    const std::string at = YamlReader::Index(key("mounts"), i);
    if (host == "/") {
      out.push_back({at, "mounts the host's root folder (" + m +
                             "): the job can read and change "
                             "every file on the host"});
      continue;
    }
    bool socket_found = false;
    for (std::string_view socket : kSockets) {
      if (socket == host || (socket.starts_with(host) && socket[host.size()] == '/')) {
        out.push_back({at, "mounts the Docker socket (" + m +
                               "): the job can start containers as root on the host"});
        socket_found = true;
        break;
      }
    }
    if (socket_found) continue;
    // Other runtimes' sockets live there too (containerd, podman, rootless Docker in
    // /run/user/UID), and a socket may be anywhere under any name ending in .sock.
    const bool under_run = host == "/var/run" || host.starts_with("/var/run/") || host == "/run" ||
                           host.starts_with("/run/");
    if (under_run || host.ends_with(".sock")) {
      out.push_back({at, "mounts a runtime socket or its folder (" + m +
                             "): a container runtime's socket gives the job root on the host"});
      continue;
    }
    // /proc/1/root is the host's root folder; /dev and /sys its devices and kernel.
    for (std::string_view system : {"/proc", "/sys", "/dev"}) {
      if (host == system || (host.starts_with(system) && host[system.size()] == '/')) {
        out.push_back({at, "mounts the host's " + std::string(system) + " (" + m +
                               "): the job can reach the host's processes, devices or kernel"});
        break;
      }
    }
  }
  if (!job.cap_add.empty()) {
    std::string caps;
    for (const std::string& c : job.cap_add) caps += (caps.empty() ? "" : ", ") + c;
    out.push_back({key("cap_add"), "adds capabilities (" + caps + ") to the container"});
  }
  if (job.network == "host") {
    out.push_back({key("network"), "shares the host's network (network: host)"});
  }
  return out;
}

}  // namespace labelrun::rules::internal
