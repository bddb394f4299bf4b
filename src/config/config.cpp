#include "labelrun/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/config_sections.hpp"
#include "labelrun/core/strings.hpp"
#include "labelrun/core/units.hpp"

namespace labelrun::config {
namespace {

void ParseListen(YamlReader& r, const YAML::Node& node, const std::string& path,
                 ServerConfig& out) {
  std::string text;
  if (!r.ReadString(node, path, text)) return;
  std::string_view s = Trim(text);
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {  // [::1]:8080
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      r.Error(path, "expected [IPv6]:PORT, got '" + text + "'");
      return;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      r.Error(path, "expected HOST:PORT, got '" + text + "'");
      return;
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty()) {
    r.Error(path, "missing host in '" + text + "' (use 127.0.0.1 or 0.0.0.0)");
    return;
  }
  if (port.empty() || port.size() > 6 || port.find_first_not_of("0123456789") != port.npos) {
    r.Error(path, "port '" + std::string(port) + "' is not a number");
    return;
  }
  long value = std::strtol(std::string(port).c_str(), nullptr, 10);
  if (value > 65535) {
    r.Error(path, "port " + std::to_string(value) + " out of range (0-65535)");
    return;
  }
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(value);
}

void ParseSecretSources(YamlReader& r, const YAML::Node& node, const std::string& path,
                        WebhookConfig& out) {
  if (node.IsNull()) return;  // "secrets:" with nothing under it
  if (!node.IsSequence()) {
    r.Error(path,
            "expected a list of secret sources ({env: NAME}, {file: PATH} or "
            "{credential: NAME})");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = path + "[" + std::to_string(i) + "]";
    const YAML::Node item = node[i];
    if (item.IsScalar()) {
      r.Error(item_path,
              "inline secrets are not accepted; use {env: NAME}, {file: PATH} or "
              "{credential: NAME}");
      continue;
    }
    if (!r.CheckKeys(item, item_path, {"env", "file", "credential"})) continue;
    if (item.size() != 1) {
      r.Error(item_path, "give exactly one of env, file or credential");
      continue;
    }
    SecretSource src;
    if (item["env"]) r.ReadString(item["env"], item_path + ".env", src.env);
    if (item["file"]) r.ReadString(item["file"], item_path + ".file", src.file);
    if (item["credential"]) {
      r.ReadString(item["credential"], item_path + ".credential", src.credential);
      if (src.credential.find('/') != std::string::npos) {
        r.Error(item_path + ".credential", "a credential name cannot contain '/'");
        continue;
      }
    }
    if (src.env.empty() && src.file.empty() && src.credential.empty()) {
      r.Error(item_path, "empty secret source");
      continue;
    }
    out.secrets.push_back(std::move(src));
  }
}

void ParseServer(YamlReader& r, const YAML::Node& node, ServerConfig& out) {
  if (!r.CheckKeys(node, "server",
                   {"listen", "webhook_path", "max_body_bytes", "max_header_bytes",
                    "max_connections", "max_inflight_body_bytes", "threads", "read_timeout",
                    "write_timeout", "idle_timeout", "tls"})) {
    return;
  }
  if (node["listen"]) ParseListen(r, node["listen"], "server.listen", out);
  if (node["webhook_path"]) {
    std::string p;
    if (r.ReadString(node["webhook_path"], "server.webhook_path", p)) {
      if (p.empty() || p.front() != '/' || p.find_first_of("?# ") != std::string::npos) {
        r.Error("server.webhook_path", "must start with '/' and hold no '?', '#' or spaces");
      } else {
        out.webhook_path = p;
      }
    }
  }
  if (node["max_body_bytes"]) {
    r.ReadSize(node["max_body_bytes"], "server.max_body_bytes", out.max_body_bytes, 1024,
               1ULL << 30);
  }
  if (node["max_header_bytes"]) {
    uint64_t v = out.max_header_bytes;
    if (r.ReadSize(node["max_header_bytes"], "server.max_header_bytes", v, 1024, 1 << 20)) {
      out.max_header_bytes = static_cast<uint32_t>(v);
    }
  }
  if (node["max_connections"]) {
    r.ReadUint(node["max_connections"], "server.max_connections", out.max_connections, 1,
               1'000'000);
  }
  if (node["max_inflight_body_bytes"]) {
    r.ReadSize(node["max_inflight_body_bytes"], "server.max_inflight_body_bytes",
               out.max_inflight_body_bytes, 1024, 1ULL << 40);
  }
  if (out.max_inflight_body_bytes < out.max_body_bytes) {
    r.Error("server.max_inflight_body_bytes",
            "must be at least server.max_body_bytes, or no delivery of the largest size is ever "
            "accepted");
  }
  if (node["threads"]) r.ReadUint(node["threads"], "server.threads", out.threads, 1, 256);
  if (node["read_timeout"])
    r.ReadDuration(node["read_timeout"], "server.read_timeout", out.read_timeout);
  if (node["write_timeout"]) {
    r.ReadDuration(node["write_timeout"], "server.write_timeout", out.write_timeout);
  }
  if (node["idle_timeout"])
    r.ReadDuration(node["idle_timeout"], "server.idle_timeout", out.idle_timeout);
  if (const YAML::Node tls = node["tls"]) {
    if (r.CheckKeys(tls, "server.tls", {"cert_file", "key_file"})) {
      if (tls["cert_file"])
        r.ReadString(tls["cert_file"], "server.tls.cert_file", out.tls.cert_file);
      if (tls["key_file"]) r.ReadString(tls["key_file"], "server.tls.key_file", out.tls.key_file);
      if (out.tls.cert_file.empty() != out.tls.key_file.empty()) {
        r.Error("server.tls", "set both cert_file and key_file, or neither");
      }
    }
  }
}

void ParseWebhook(YamlReader& r, const YAML::Node& node, WebhookConfig& out) {
  if (!r.CheckKeys(node, "webhook", {"secrets", "secrets_file"})) return;
  if (node["secrets"]) ParseSecretSources(r, node["secrets"], "webhook.secrets", out);
  if (node["secrets_file"])
    r.ReadString(node["secrets_file"], "webhook.secrets_file", out.secrets_file);
}

void ParseInbox(YamlReader& r, const YAML::Node& node, InboxConfig& out) {
  if (!r.CheckKeys(node, "inbox",
                   {"keep_bodies", "paused", "retention", "max_batch", "stuck_after"})) {
    return;
  }
  if (node["keep_bodies"]) r.ReadBool(node["keep_bodies"], "inbox.keep_bodies", out.keep_bodies);
  if (node["paused"]) r.ReadBool(node["paused"], "inbox.paused", out.paused);
  if (node["retention"]) r.ReadDuration(node["retention"], "inbox.retention", out.retention);
  if (node["max_batch"])
    r.ReadUint(node["max_batch"], "inbox.max_batch", out.max_batch, 1, 100'000);
  if (node["stuck_after"]) {
    r.ReadDuration(node["stuck_after"], "inbox.stuck_after", out.stuck_after);
  }
}

void ParseGithub(YamlReader& r, const YAML::Node& node, std::optional<github::Settings>& out,
                 GithubSetup& setup) {
  if (!r.CheckKeys(node, "github",
                   {"api_url", "app_id", "client_id", "private_key_file", "token_file", "ca_file",
                    "connect_timeout", "request_timeout", "max_attempts", "max_inline_wait",
                    "token_refresh_margin", "setup", "app_name", "organization", "web_url"})) {
    return;
  }
  github::Settings g;
  std::string path;
  if (node["api_url"] && r.ReadString(node["api_url"], "github.api_url", g.api_url)) {
    if (g.api_url.rfind("https://", 0) != 0 && g.api_url.rfind("http://", 0) != 0) {
      r.Error("github.api_url", "must start with https:// (or http:// for a local test server)");
    }
  }
  if (node["app_id"]) r.ReadString(node["app_id"], "github.app_id", g.app_id);
  if (node["client_id"]) r.ReadString(node["client_id"], "github.client_id", g.client_id);
  if (node["private_key_file"] &&
      r.ReadString(node["private_key_file"], "github.private_key_file", path)) {
    g.private_key_file = path;
  }
  if (node["token_file"] && r.ReadString(node["token_file"], "github.token_file", path)) {
    g.token_file = path;
  }
  if (node["ca_file"]) r.ReadString(node["ca_file"], "github.ca_file", g.ca_file);
  if (node["connect_timeout"]) {
    r.ReadDuration(node["connect_timeout"], "github.connect_timeout", g.connect_timeout);
  }
  if (node["request_timeout"]) {
    r.ReadDuration(node["request_timeout"], "github.request_timeout", g.request_timeout);
  }
  if (node["max_attempts"]) {
    uint32_t attempts = static_cast<uint32_t>(g.max_attempts);
    if (r.ReadUint(node["max_attempts"], "github.max_attempts", attempts, 1, 20)) {
      g.max_attempts = static_cast<int>(attempts);
    }
  }
  if (node["max_inline_wait"]) {
    r.ReadDuration(node["max_inline_wait"], "github.max_inline_wait", g.max_inline_wait);
  }
  if (node["token_refresh_margin"]) {
    std::chrono::milliseconds margin = g.token_refresh_margin;
    if (r.ReadDuration(node["token_refresh_margin"], "github.token_refresh_margin", margin)) {
      g.token_refresh_margin = std::chrono::duration_cast<std::chrono::seconds>(margin);
    }
  }
  // Registering the App from labelrun (the manifest flow): its name, where it is made.
  if (node["setup"]) r.ReadBool(node["setup"], "github.setup", setup.enabled);
  if (node["app_name"] && r.ReadString(node["app_name"], "github.app_name", setup.app_name)) {
    if (setup.app_name.empty() || setup.app_name.size() > 34) {
      r.Error("github.app_name", "must be 1 to 34 characters (GitHub's limit for App names)");
    }
  }
  if (node["organization"]) {
    r.ReadString(node["organization"], "github.organization", setup.organization);
  }
  if (node["web_url"] && r.ReadString(node["web_url"], "github.web_url", setup.web_url)) {
    if (setup.web_url.rfind("https://", 0) != 0 && setup.web_url.rfind("http://", 0) != 0) {
      r.Error("github.web_url", "must start with https:// (or http:// for a local test server)");
    }
  }
  setup.api_url = g.api_url;
  setup.ca_file = g.ca_file;
  const bool credentials = !g.app_id.empty() || !g.client_id.empty() ||
                           !g.private_key_file.empty() || !g.token_file.empty();
  // Before the App exists there is nothing to authenticate with: setup alone is valid.
  if (setup.enabled && !credentials) return;
  if (Status valid = github::Validate(g); !valid) {
    r.Error("", valid.error().message());
    return;
  }
  if (setup.enabled) {
    r.Warn("github.setup",
           "the App is registered (credentials are set); remove github.setup to turn its "
           "setup page off");
  }
  out = std::move(g);
}

void ParseLog(YamlReader& r, const YAML::Node& node, LogConfig& out) {
  if (!r.CheckKeys(node, "log", {"level"})) return;
  if (node["level"] && r.ReadString(node["level"], "log.level", out.level)) {
    static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
    if (std::find(kLevels.begin(), kLevels.end(), out.level) == kLevels.end()) {
      r.Error("log.level", "unknown level '" + out.level + "' (trace, debug, info, warn, error)");
    }
  }
}

std::optional<std::string> ReadWholeFile(const std::filesystem::path& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string StripTrailingNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::string SecretSource::Describe() const {
  if (!env.empty()) return "env " + env;
  if (!file.empty()) return "file " + file;
  return "credential " + credential;
}

std::string Problem::ToString() const {
  std::string out = path.empty() ? message : path + ": " + message;
  if (warning) out = "warning: " + out;
  return out;
}

LoadOutcome ParseConfig(std::string_view yaml_text, std::string source) {
  LoadOutcome outcome;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    outcome.problems.push_back({"", source + ":" + std::to_string(e.mark.line + 1) + ":" +
                                        std::to_string(e.mark.column + 1) + ": " + e.msg});
    return outcome;
  }
  Config cfg;
  cfg.source = std::move(source);
  YamlReader r(
      [&outcome](const std::string& path, std::string message, bool warning) {
        outcome.problems.push_back({path, std::move(message), warning});
      },
      yaml::SuggestionStyle::kKeyPath);
  if (root.IsNull()) {
    // An empty file is the embedded defaults.
  } else if (!root.IsMap()) {
    r.Error("", "the top level must be a mapping of keys");
  } else if (r.CheckKeys(root, "",
                         {"state_dir", "server", "webhook", "inbox", "log", "github", "labels_file",
                          "rules", "hold_labels", "hosts", "scheduler", "sources", "api", "report",
                          "dashboard"})) {
    // labels_file, rules and hold_labels are read and checked by rules::LoadRuleSet.
    if (root["state_dir"]) {
      std::string dir;
      if (r.ReadString(root["state_dir"], "state_dir", dir)) {
        if (dir.empty())
          r.Error("state_dir", "must not be empty");
        else
          cfg.state_dir = dir;
      }
    }
    if (root["server"]) ParseServer(r, root["server"], cfg.server);
    if (root["webhook"]) ParseWebhook(r, root["webhook"], cfg.webhook);
    if (root["inbox"]) ParseInbox(r, root["inbox"], cfg.inbox);
    if (root["log"]) ParseLog(r, root["log"], cfg.log);
    if (root["github"]) ParseGithub(r, root["github"], cfg.github, cfg.github_setup);
    ParseJobSections(r, root, cfg);
  }
  bool has_error = false;
  for (const Problem& p : outcome.problems) has_error |= !p.warning;
  if (!has_error) outcome.config = std::move(cfg);
  return outcome;
}

LoadOutcome LoadConfigFile(const std::filesystem::path& path) {
  std::string why;
  std::optional<std::string> text = ReadWholeFile(path, why);
  if (!text) {
    LoadOutcome outcome;
    outcome.problems.push_back({"", "cannot read " + path.string() + ": " + why});
    return outcome;
  }
  return ParseConfig(*text, path.string());
}

SecretEnv SecretEnv::Process() {
  return SecretEnv{[](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  }};
}

Result<std::vector<std::string>> ResolveWebhookSecrets(const WebhookConfig& cfg,
                                                       const SecretEnv& env) {
  std::vector<std::string> secrets;
  auto read_source = [&](const SecretSource& src) -> Status {
    std::string value;
    if (!src.env.empty()) {
      std::optional<std::string> v = env.getenv(src.env);
      if (!v) {
        return Unexpected(ErrorCode::kNotFound,
                          "webhook secret: environment variable " + src.env + " is not set");
      }
      value = *v;
    } else {
      std::filesystem::path path = src.file;
      if (!src.credential.empty()) {
        std::optional<std::string> dir = env.getenv("CREDENTIALS_DIRECTORY");
        if (!dir) {
          return Unexpected(ErrorCode::kNotFound,
                            "webhook secret: credential " + src.credential +
                                " needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=)");
        }
        path = std::filesystem::path(*dir) / src.credential;
      }
      std::string why;
      std::optional<std::string> text = ReadWholeFile(path, why);
      if (!text) {
        return Unexpected(ErrorCode::kNotFound,
                          "webhook secret: cannot read " + path.string() + ": " + why);
      }
      value = StripTrailingNewlines(std::move(*text));
    }
    if (value.empty()) {
      return Unexpected(ErrorCode::kInvalidArgument,
                        "webhook secret from " + src.Describe() + " is empty");
    }
    secrets.push_back(std::move(value));
    return Ok();
  };

  for (const SecretSource& src : cfg.secrets) {
    if (Status s = read_source(src); !s) return s.error();
  }
  if (!cfg.secrets_file.empty()) {
    std::string why;
    std::optional<std::string> text = ReadWholeFile(cfg.secrets_file, why);
    if (!text) {
      return Unexpected(ErrorCode::kNotFound,
                        "webhook.secrets_file: cannot read " + cfg.secrets_file + ": " + why);
    }
    for (std::string_view line : Split(*text, '\n')) {
      std::string_view s = Trim(line);
      if (s.empty() || s.front() == '#') continue;
      secrets.emplace_back(s);
    }
  }
  if (cfg.secrets.empty() && cfg.secrets_file.empty()) {
    // Nothing configured: the conventional places, systemd first.
    if (std::optional<std::string> dir = env.getenv("CREDENTIALS_DIRECTORY")) {
      std::string why;
      if (auto text = ReadWholeFile(std::filesystem::path(*dir) / "webhook-secret", why)) {
        std::string value = StripTrailingNewlines(std::move(*text));
        if (!value.empty()) secrets.push_back(std::move(value));
      }
    }
    if (secrets.empty()) {
      if (std::optional<std::string> v = env.getenv("LABELRUN_WEBHOOK_SECRET"); v && !v->empty()) {
        secrets.push_back(*v);
      }
    }
  }
  if (secrets.empty()) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      "no webhook secret: set webhook.secrets or webhook.secrets_file, a systemd "
                      "credential named webhook-secret, or $LABELRUN_WEBHOOK_SECRET");
  }
  return secrets;
}

}  // namespace labelrun::config
