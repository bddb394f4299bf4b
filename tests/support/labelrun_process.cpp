#include "support/labelrun_process.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <stdexcept>
#include <thread>

#include "labelrun/webhook/signature.hpp"

namespace labelrun::testing {

LabelrunProcess::LabelrunProcess(const TempDir& dir, Options options)
    : dir_(dir), options_(std::move(options)) {
  config_path_ = dir_ / "config.yaml";
  db_path_ = dir_ / "state" / "labelrun.db";
  log_path_ = dir_ / "labelrun.log";
  Rewrite(options_);
  Restart();
}

void LabelrunProcess::Rewrite(Options options) {
  options_ = std::move(options);
  std::string secrets;
  for (size_t i = 0; i < options_.secrets.size(); ++i) {
    std::string name = "secret" + std::to_string(i);
    dir_.Write(name, options_.secrets[i] + "\n");
    secrets += "    - file: " + (dir_ / name).string() + "\n";
  }
  std::string yaml = "state_dir: " + (dir_ / "state").string() +
                     "\n"
                     "server:\n"
                     "  listen: 127.0.0.1:0\n"
                     "  read_timeout: " +
                     options_.read_timeout + "\n" + "  idle_timeout: " + options_.idle_timeout +
                     "\n" + "  max_body_bytes: " + options_.max_body + "\n" + options_.server_yaml;
  if (!options_.tls_cert.empty()) {
    yaml += "  tls:\n    cert_file: " + options_.tls_cert + "\n    key_file: " + options_.tls_key +
            "\n";
  }
  if (!secrets.empty()) yaml += "webhook:\n  secrets:\n" + secrets;
  yaml += std::string("inbox:\n  paused: ") + (options_.paused ? "true" : "false") + "\n";
  if (!options_.stuck_after.empty()) yaml += "  stuck_after: " + options_.stuck_after + "\n";
  yaml += options_.extra_yaml;
  dir_.Write("config.yaml", yaml);
}

void LabelrunProcess::Restart() {
  log_offset_ = std::filesystem::exists(log_path_) ? std::filesystem::file_size(log_path_) : 0;
  process_ = std::make_unique<Process>(
      std::vector<std::string>{LABELRUN_BINARY, "serve", "--config", config_path_.string()},
      log_path_, options_.env);
  port_ = 0;
}

bool LabelrunProcess::WaitReady() {
  static const std::regex kListening(R"(listening on https?://[^ ]+:(\d+)/)");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string log = Log();
    if (std::regex_search(log, m, kListening)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
      return true;
    }
    if (!process_->running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string LabelrunProcess::Url(const std::string& path) const {
  std::string scheme = options_.tls_cert.empty() ? "http" : "https";
  return scheme + "://127.0.0.1:" + std::to_string(port_) + path;
}

std::string LabelrunProcess::Log() const {
  std::string all = ReadFile(log_path_);
  return all.size() > log_offset_ ? all.substr(log_offset_) : std::string();
}

size_t LabelrunProcess::CountInLog(const std::string& needle) const {
  std::string all = ReadFile(log_path_);  // every run, not just the current one
  size_t count = 0;
  for (size_t pos = all.find(needle); pos != std::string::npos; pos = all.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

HttpResponse LabelrunProcess::Deliver(const std::string& event, const std::string& guid,
                                      const std::string& body, const std::string& secret,
                                      const std::string& content_type) {
  std::vector<std::string> headers = {
      "Content-Type: " + content_type,    "X-GitHub-Event: " + event,
      "X-GitHub-Delivery: " + guid,       "X-Hub-Signature-256: " + webhook::SignBody(secret, body),
      "User-Agent: GitHub-Hookshot/test", "Expect:",
  };
  return HttpRequest("POST", Url("/webhook"), headers, body);
}

std::vector<ExamplePayload> LoadWebhookExamples() {
  const char* env = std::getenv("LABELRUN_WEBHOOK_EXAMPLES");
  std::string path = env != nullptr ? env
                                    : std::string(LABELRUN_SOURCE_DIR) +
                                          "/tests/support/node_modules/@octokit/webhooks-examples/"
                                          "api.github.com/index.json";
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read " + path +
                             ": run `npm ci --prefix tests/support` (scripts/test.sh does)");
  }
  nlohmann::json all = nlohmann::json::parse(in);
  std::vector<ExamplePayload> out;
  for (const auto& group : all) {
    for (const auto& example : group.at("examples")) {
      out.push_back(
          {group.at("name").get<std::string>(), example.value("action", ""), example.dump()});
    }
  }
  return out;
}

}  // namespace labelrun::testing
