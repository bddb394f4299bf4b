#include "labelrun/config/secret_files.hpp"

#include <sys/stat.h>

#include <cstdio>

namespace labelrun::config {
namespace {

constexpr size_t kMinSecretLength = 16;

std::string Octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Empty when `path` is not readable by group or others (or cannot be inspected).
std::string LooseModeMessage(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return "";
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) == 0) return "";
  return path + " is readable by " +
         std::string((st.st_mode & S_IRWXO) != 0 ? "others" : "its group") + " (mode " +
         Octal(st.st_mode) + "); run: chmod 600 " + path;
}

}  // namespace

std::vector<Problem> CheckSecretFileModes(const Config& cfg, const SecretEnv& env) {
  std::vector<Problem> out;
  auto warn = [&](const std::string& key, const std::string& path) {
    if (std::string m = LooseModeMessage(path); !m.empty()) {
      out.push_back({key, m, /*warning=*/true});
    }
  };
  std::optional<std::string> credentials = env.getenv("CREDENTIALS_DIRECTORY");
  for (size_t i = 0; i < cfg.webhook.secrets.size(); ++i) {
    const SecretSource& s = cfg.webhook.secrets[i];
    const std::string key = "webhook.secrets[" + std::to_string(i) + "]";
    if (!s.file.empty()) warn(key + ".file", s.file);
    if (!s.credential.empty() && credentials) {
      warn(key + ".credential", *credentials + "/" + s.credential);
    }
  }
  warn("webhook.secrets_file", cfg.webhook.secrets_file);
  warn("server.tls.key_file", cfg.server.tls.key_file);
  for (size_t i = 0; i < cfg.hosts.size(); ++i) {
    warn("hosts[" + std::to_string(i) + "].tls.key_file", cfg.hosts[i].key_file);
  }
  warn("api.token_file", cfg.api.token_file);
  warn("dashboard.token_file", cfg.dashboard.token_file);
  if (cfg.github) {
    if (cfg.github->app_mode()) {
      if (std::string m = LooseModeMessage(cfg.github->private_key_file); !m.empty()) {
        out.push_back(
            {"github.private_key_file",
             "the GitHub App's private key " + m + " (refused, as ssh refuses such a key)",
             /*warning=*/false});
      }
    } else {
      warn("github.token_file", cfg.github->token_file);
    }
  }
  return out;
}

std::vector<Problem> CheckWebhookSecretStrength(const std::vector<std::string>& secrets) {
  std::vector<Problem> out;
  for (size_t i = 0; i < secrets.size(); ++i) {
    if (secrets[i].size() >= kMinSecretLength) continue;
    out.push_back({"webhook.secrets",
                   "webhook secret " + std::to_string(i + 1) + " of " +
                       std::to_string(secrets.size()) + " has " +
                       std::to_string(secrets[i].size()) + " characters; use at least " +
                       std::to_string(kMinSecretLength) +
                       " random ones (e.g. openssl rand -hex 32) so it cannot be guessed",
                   /*warning=*/true});
  }
  return out;
}

}  // namespace labelrun::config
