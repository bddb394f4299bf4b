#include "runtime/docker_api.hpp"

#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>

#include "labelrun/core/json_text.hpp"
#include "labelrun/core/strings.hpp"
#include "runtime/docker_http.hpp"

namespace labelrun::runtime {
namespace {

using nlohmann::json;

json Parse(std::string_view body) { return json::parse(body, nullptr, /*allow_exceptions=*/false); }

const json* Field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string Str(const json& j, const char* key) {
  const json* f = Field(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

int64_t Int(const json& j, const char* key) {
  const json* f = Field(j, key);
  if (f == nullptr || !f->is_number()) return 0;
  return f->is_number_float() ? static_cast<int64_t>(f->get<double>()) : f->get<int64_t>();
}

bool Bool(const json& j, const char* key) {
  const json* f = Field(j, key);
  return f != nullptr && f->is_boolean() && f->get<bool>();
}

std::map<std::string, std::string> Labels(const json* f) {
  std::map<std::string, std::string> out;
  if (f == nullptr || !f->is_object()) return out;
  for (const auto& [k, v] : f->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

// nlohmann's dump() throws on invalid UTF-8: every string is checked first.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

Status CheckStrings(const std::vector<std::string>& values, const char* field) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!IsValidUtf8(values[i])) {
      return Unexpected(ErrorCode::kInvalidArgument,
                        std::string(field) + "[" + std::to_string(i) + "] is not valid UTF-8");
    }
  }
  return Ok();
}

Error Unreadable(const char* what, std::string_view body) {
  return Error(ErrorCode::kInternal,
               std::string("docker's answer to ") + what +
                   " is not what the API describes: " + std::string(body.substr(0, 200)));
}

}  // namespace

Status CheckContainerRef(std::string_view ref) {
  bool ok = !ref.empty() && ref.size() <= 255 && std::isalnum(static_cast<unsigned char>(ref[0]));
  for (char c : ref) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      ok = false;
    }
  }
  if (ok) return Ok();
  return Unexpected(ErrorCode::kInvalidArgument,
                    "\"" + std::string(ref.substr(0, 80)) +
                        "\" is not a container id or name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
}

Result<std::string> CreateContainerBody(const ContainerSpec& spec, const DockerOptions& options) {
  if (Status st = CheckContainerRef(spec.name); !st || spec.name.size() < 2) {
    return Unexpected(
        ErrorCode::kInvalidArgument,
        "container name \"" + spec.name + "\" does not match [a-zA-Z0-9][a-zA-Z0-9_.-]+");
  }
  if (spec.image.empty()) return Unexpected(ErrorCode::kInvalidArgument, "no image to create from");
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (spec.memory_bytes > kMax || spec.shm_bytes > kMax || spec.nano_cpus < 0 ||
      spec.pids_limit < 0) {
    return Unexpected(ErrorCode::kInvalidArgument, "a resource limit is out of range");
  }
  std::vector<std::string> labels;
  for (const auto& [k, v] : spec.labels) {
    labels.push_back(k);
    labels.push_back(v);
  }
  for (const auto& [values, field] :
       std::vector<std::pair<const std::vector<std::string>*, const char*>>{
           {&spec.cmd, "cmd"},
           {&spec.env, "env"},
           {&spec.gpu_ids, "gpu_ids"},
           {&spec.cap_add, "cap_add"},
           {&spec.binds, "binds"},
           {&labels, "labels"}}) {
    if (Status st = CheckStrings(*values, field); !st) return st.error();
  }
  if (Status st =
          CheckStrings({spec.image, spec.working_dir, spec.network_mode, spec.user}, "spec");
      !st) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "the image, working_dir, network_mode or user is not valid UTF-8");
  }
  for (const std::string& id : spec.gpu_ids) {
    if (id.empty()) return Unexpected(ErrorCode::kInvalidArgument, "an empty GPU id");
  }

  json env = json::array();
  bool env_sets_nvidia = false;
  for (const std::string& e : spec.env) {
    env.push_back(e);
    if (e.rfind("NVIDIA_VISIBLE_DEVICES=", 0) == 0) env_sets_nvidia = true;
  }
  // A CPU job sees no GPU even where nvidia is the default runtime and the
  // image says NVIDIA_VISIBLE_DEVICES=all (CUDA base images do).
  if (spec.gpu_ids.empty() && !env_sets_nvidia) env.push_back("NVIDIA_VISIBLE_DEVICES=void");

  json host = {
      {"Init", true},
      {"Privileged", false},
      {"SecurityOpt", json::array({"no-new-privileges"})},
      {"CapDrop", json::array({"ALL"})},
      {"LogConfig",
       {{"Type", "json-file"},
        {"Config",
         {{"max-size", options.log_max_size},
          {"max-file", std::to_string(std::max(options.log_max_files, 1))}}}}},
  };
  if (!spec.cap_add.empty()) host["CapAdd"] = spec.cap_add;
  if (!spec.binds.empty()) host["Binds"] = spec.binds;
  if (!spec.network_mode.empty()) host["NetworkMode"] = spec.network_mode;
  if (spec.memory_bytes > 0) {
    host["Memory"] = static_cast<int64_t>(spec.memory_bytes);
    host["MemorySwap"] = static_cast<int64_t>(spec.memory_bytes);  // no swap on top
  }
  if (spec.shm_bytes > 0) host["ShmSize"] = static_cast<int64_t>(spec.shm_bytes);
  if (spec.nano_cpus > 0) host["NanoCpus"] = spec.nano_cpus;
  if (spec.pids_limit > 0) host["PidsLimit"] = spec.pids_limit;
  if (!spec.gpu_ids.empty()) {
    host["DeviceRequests"] = json::array({{{"Driver", "nvidia"},
                                           {"DeviceIDs", spec.gpu_ids},
                                           {"Capabilities", json::array({json::array({"gpu"})})}}});
  }
  json body = {{"Image", spec.image},   {"Env", env},
               {"Labels", spec.labels}, {"Tty", false},
               {"OpenStdin", false},    {"AttachStdin", false},
               {"AttachStdout", false}, {"AttachStderr", false},
               {"HostConfig", host}};
  if (!spec.cmd.empty()) body["Cmd"] = spec.cmd;
  if (!spec.working_dir.empty()) body["WorkingDir"] = spec.working_dir;
  if (!spec.user.empty()) body["User"] = spec.user;
  return JsonText(body);
}

std::string DockerErrorMessage(long status, std::string_view body) {
  json j = Parse(body);
  std::string message = Str(j, "message");
  if (message.empty()) message = std::string(Trim(body.substr(0, 1024)));
  if (message.empty()) message = "HTTP " + std::to_string(status);
  return message;
}

ErrorCode DockerErrorCode(long status, std::string_view message) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return message.find("already in use") != std::string_view::npos ||
                     message.find("already exists") != std::string_view::npos
                 ? ErrorCode::kAlreadyExists
                 : ErrorCode::kFailedPrecondition;
    case 502:
    case 503:
    case 504:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

Error DockerError(long status, std::string_view body, const std::string& what) {
  std::string message = DockerErrorMessage(status, body);
  return Error(DockerErrorCode(status, message), what + ": " + message);
}

bool IsApiVersionRefusal(long status, std::string_view message) {
  return status == 400 && message.find("client version") != std::string_view::npos &&
         (message.find("too old") != std::string_view::npos ||
          message.find("too new") != std::string_view::npos);
}

Result<DaemonVersion> ParseDaemonVersion(std::string_view body) {
  json j = Parse(body);
  DaemonVersion v{Str(j, "ApiVersion"), Str(j, "MinAPIVersion"), Str(j, "Version")};
  if (v.api_version.empty()) return Unreadable("GET /version", body);
  return v;
}

Result<std::string> ChooseApiVersion(const DaemonVersion& daemon, const DockerOptions& options) {
  std::string v = CompareApiVersions(options.max_api_version, daemon.api_version) <= 0
                      ? options.max_api_version
                      : daemon.api_version;
  std::string engine = "docker " + (daemon.version.empty() ? "" : daemon.version + " ");
  if (!daemon.min_api_version.empty() && CompareApiVersions(v, daemon.min_api_version) < 0) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      engine + "accepts API " + daemon.min_api_version + " to " +
                          daemon.api_version + "; labelrun speaks " + options.min_api_version +
                          " to " + options.max_api_version);
  }
  if (CompareApiVersions(v, options.min_api_version) < 0) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      engine + "speaks API " + daemon.api_version + ", older than " +
                          options.min_api_version +
                          ", the oldest labelrun supports (GPU device requests need it)");
  }
  return v;
}

Result<std::string> ParseCreatedId(std::string_view body) {
  std::string id = Str(Parse(body), "Id");
  if (id.empty()) return Unreadable("create", body);
  return id;
}

Result<ContainerState> ParseContainerState(std::string_view body) {
  json j = Parse(body);
  const json* state = Field(j, "State");
  if (state == nullptr || !state->is_object()) return Unreadable("inspect", body);
  ContainerState s;
  s.id = Str(j, "Id");
  s.status = Str(*state, "Status");
  s.running = Bool(*state, "Running");
  s.oom_killed = Bool(*state, "OOMKilled");
  s.exit_code = Int(*state, "ExitCode");
  s.error = Str(*state, "Error");
  s.started_at = Str(*state, "StartedAt");
  s.finished_at = Str(*state, "FinishedAt");
  s.image_id = Str(j, "Image");
  if (const json* config = Field(j, "Config")) s.labels = Labels(Field(*config, "Labels"));
  return s;
}

Result<std::vector<ContainerSummary>> ParseContainerList(std::string_view body) {
  json j = Parse(body);
  if (!j.is_array()) return Unreadable("list", body);
  std::vector<ContainerSummary> out;
  for (const json& c : j) {
    ContainerSummary s;
    s.id = Str(c, "Id");
    if (const json* names = Field(c, "Names");
        names && names->is_array() && !names->empty() && names->front().is_string()) {
      s.name = names->front().get<std::string>();
      if (!s.name.empty() && s.name[0] == '/') s.name.erase(0, 1);
    }
    s.state = Str(c, "State");
    s.labels = Labels(Field(c, "Labels"));
    out.push_back(std::move(s));
  }
  return out;
}

std::string ListQuery(const std::map<std::string, std::string>& labels) {
  std::string query = "?all=1";
  if (labels.empty()) return query;
  json pairs = json::array();
  for (const auto& [k, v] : labels) pairs.push_back(k + "=" + v);
  json filters = {{"label", pairs}};
  return query + "&filters=" + UrlEncode(JsonText(filters));
}

Result<std::string> ParseImageId(std::string_view body) {
  std::string id = Str(Parse(body), "Id");
  if (id.empty()) return Unreadable("image inspect", body);
  return id;
}

Result<std::string> ParseImageDigest(std::string_view body, std::string_view image) {
  json j = Parse(body);
  std::string id = Str(j, "Id");
  if (id.empty()) return Unreadable("image inspect", body);
  const json* digests = Field(j, "RepoDigests");
  if (digests == nullptr || !digests->is_array() || digests->empty()) return id;
  std::string repo;
  if (auto ref = SplitImageReference(image)) repo = ref->from_image;
  std::vector<std::string> names = {repo};
  for (std::string_view prefix : {"docker.io/library/", "docker.io/", "index.docker.io/"}) {
    if (repo.rfind(prefix, 0) == 0) names.push_back(repo.substr(prefix.size()));
  }
  std::string first;
  for (const json& d : *digests) {
    if (!d.is_string()) continue;
    std::string digest = d.get<std::string>();
    if (first.empty()) first = digest;
    for (const std::string& name : names) {
      if (!name.empty() && digest.rfind(name + "@", 0) == 0) return digest;
    }
  }
  return first.empty() ? id : first;
}

std::string PullLineError(std::string_view line) {
  json j = Parse(line);
  if (!j.is_object()) return "unreadable pull progress: " + std::string(line.substr(0, 200));
  if (const json* detail = Field(j, "errorDetail")) {
    std::string message = Str(*detail, "message");
    if (!message.empty()) return message;
  }
  if (const json* error = Field(j, "error")) {
    return error->is_string() ? error->get<std::string>() : error->dump();
  }
  return {};
}

Result<ExitStatus> ParseWaitBody(std::string_view body) {
  json j = Parse(body);
  const json* code = Field(j, "StatusCode");
  if (code == nullptr || !code->is_number()) return Unreadable("wait", body);
  ExitStatus s;
  s.status_code = Int(j, "StatusCode");
  if (const json* error = Field(j, "Error")) s.error = Str(*error, "Message");
  return s;
}

Result<std::string> ExecCreateBody(const std::vector<std::string>& cmd) {
  if (cmd.empty()) return Unexpected(ErrorCode::kInvalidArgument, "exec needs a command");
  if (Status st = CheckStrings(cmd, "cmd"); !st) return st.error();
  json body = {{"AttachStdin", false},
               {"AttachStdout", true},
               {"AttachStderr", true},
               {"Tty", false},
               {"Cmd", cmd}};
  return JsonText(body);
}

Result<std::string> ParseExecId(std::string_view body) {
  std::string id = Str(Parse(body), "Id");
  if (id.empty()) return Unreadable("exec create", body);
  return id;
}

Result<ExecState> ParseExecState(std::string_view body) {
  json j = Parse(body);
  if (!j.is_object()) return Unreadable("exec inspect", body);
  return ExecState{Bool(j, "Running"), Int(j, "ExitCode")};
}

}  // namespace labelrun::runtime
