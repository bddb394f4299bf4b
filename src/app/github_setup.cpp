#include "labelrun/app/github_setup.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "labelrun/app/jobs_api.hpp"
#include "labelrun/core/json_text.hpp"
#include "labelrun/core/strings.hpp"
#include "labelrun/report/job_page.hpp"

namespace labelrun::app {
namespace {

using nlohmann::json;
using server::AppReply;
using server::Outcome;

constexpr int64_t kStateLifetimeMs = 3600 * 1000;  // GitHub's code lasts an hour too
constexpr size_t kMaxOpenStates = 64;

std::string Html(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return {};
  }
  return HexEncode(raw);
}

bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// GitHub's codes and states are URL-safe tokens; anything else is not one.
bool IsToken(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

AppReply Page(Outcome outcome, const std::string& title, const std::string& body,
              const std::string& form_action = "'none'") {
  AppReply r;
  r.outcome = outcome;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + Html(title) +
           " · labelrun</title></head><body><h1>" + Html(title) + "</h1>" + body +
           "</body></html>\n";
  // No script, no style; the one form may go to GitHub only.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; form-action " + form_action +
                             "; base-uri 'none'; frame-ancestors 'none'");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// Writes `text` to `path` with mode 0600, through a temp file and a rename.
Status WritePrivate(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    if (!out) return Unexpected(ErrorCode::kUnavailable, "cannot write " + tmp.string());
    std::filesystem::permissions(
        tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    out << text;
    if (!text.empty() && text.back() != '\n') out << '\n';
    if (!out.flush()) return Unexpected(ErrorCode::kUnavailable, "cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Unexpected(ErrorCode::kUnavailable, "cannot write " + path.string());
  return Ok();
}

}  // namespace

GithubSetupPages::GithubSetupPages(GithubSetupOptions options, github::Transport& transport,
                                   const Clock& clock)
    : options_(std::move(options)), transport_(transport), clock_(clock) {}

std::string GithubSetupPages::Manifest() const {
  // What labelrun uses and no more (config/github-app-manifest.json says why).
  json m = {
      {"name", options_.setup.app_name},
      {"url", options_.public_url},
      {"description",
       "Turns issue and pull request labels into GPU training jobs: add task:training + "
       "gpu:required and labelrun runs the job (a pull request's own head commit, as a check "
       "run), keeping one comment up to date with progress, the log tail and the loss curve."},
      {"hook_attributes", {{"url", options_.public_url + options_.webhook_path}, {"active", true}}},
      {"redirect_url", options_.public_url + "/github/app-created"},
      {"public", false},
      {"default_permissions",
       {{"issues", "write"},
        {"pull_requests", "write"},
        {"checks", "write"},
        {"contents", "read"},
        {"metadata", "read"}}},
      {"default_events", {"issues", "issue_comment", "pull_request", "check_run"}},
  };
  return JsonText(m);
}

AppReply GithubSetupPages::Handle(const server::AppRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return Page(Outcome::kMethodNotAllowed, "Use GET", "");
  }
  if (request.path == "/github/setup") {
    if (!SameSecret(QueryValue(request.query, "key"), options_.key)) {
      return Page(Outcome::kUnauthorized, "GitHub App setup",
                  "<p>This page needs its key: open the link labelrun printed at start, "
                  "<code>/github/setup?key=</code> followed by the content of <code>" +
                      Html((options_.state_dir / "github-setup-key").string()) + "</code>.</p>");
    }
    return SetupPage();
  }
  return AppCreated(QueryValue(request.query, "code"), QueryValue(request.query, "state"));
}

AppReply GithubSetupPages::SetupPage() {
  if (std::filesystem::exists(credentials_dir() / "app-id")) {
    return Page(Outcome::kConflict, "GitHub App already registered",
                "<p>The App's credentials are in <code>" + Html(credentials_dir().string()) +
                    "</code>. Remove that folder to register another.</p>");
  }
  if (options_.public_url.empty()) {
    return Page(Outcome::kConflict, "GitHub App setup",
                "<p>Set <code>report.public_url</code> to the address GitHub reaches labelrun "
                "at; the App's webhook URL and this page's return address are made from it.</p>");
  }
  const std::string state = RandomHex(16);
  if (state.empty()) return Page(Outcome::kUnavailable, "No random bytes", "");
  {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.NowUnixMillis();
    std::erase_if(states_, [now](const auto& s) { return s.second < now; });
    if (states_.size() >= kMaxOpenStates) states_.erase(states_.begin());
    states_[state] = now + kStateLifetimeMs;
  }
  const std::string& web = options_.setup.web_url;
  const std::string action =
      (options_.setup.organization.empty()
           ? web + "/settings/apps/new"
           : web + "/organizations/" + options_.setup.organization + "/settings/apps/new") +
      "?state=" + state;
  const std::string owner = options_.setup.organization.empty()
                                ? "your GitHub account"
                                : "the organization " + options_.setup.organization;
  return Page(Outcome::kOk, "Register labelrun's GitHub App",
              "<p>The button takes you to GitHub, which creates the App <b>" +
                  Html(options_.setup.app_name) + "</b> for " + Html(owner) +
                  " with the permissions below, then sends you back here. labelrun then keeps the "
                  "App's id, private key and webhook secret in <code>" +
                  Html(credentials_dir().string()) + "</code>.</p><pre>" +
                  Html(JsonText(json::parse(Manifest()), 2)) +
                  "</pre><form method=\"post\" action=\"" + Html(action) +
                  "\"><input type=\"hidden\" name=\"manifest\" value=\"" + Html(Manifest()) +
                  "\"><button type=\"submit\">Create the GitHub App</button></form>",
              web);
}

AppReply GithubSetupPages::AppCreated(const std::string& code, const std::string& state) {
  bool known = false;
  {
    std::lock_guard lock(mu_);
    auto it = IsToken(state) ? states_.find(state) : states_.end();
    if (it != states_.end()) {
      known = it->second >= clock_.NowUnixMillis();
      states_.erase(it);  // single use
    }
  }
  if (!known) {
    return Page(Outcome::kBadRequest, "Unknown setup",
                "<p>This return from GitHub does not match a setup page labelrun showed in the "
                "last hour. Start again from the setup link.</p>");
  }
  if (!IsToken(code)) return Page(Outcome::kBadRequest, "No code from GitHub", "");
  if (std::filesystem::exists(credentials_dir() / "app-id")) {
    return Page(Outcome::kConflict, "GitHub App already registered",
                "<p>labelrun keeps the App it has; nothing was changed.</p>");
  }
  github::HttpRequest req;
  req.method = "POST";
  req.url = options_.setup.api_url + "/app-manifests/" + code + "/conversions";
  req.headers = {"Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28"};
  Result<github::HttpResponse> answer = transport_.Send(req);
  if (!answer) {
    return Page(Outcome::kUnavailable, "GitHub did not answer",
                "<p>" + Html(answer.error().message()) +
                    ". The code from GitHub lasts an hour: reload this page to try again.</p>");
  }
  if (answer->status != 201) {
    std::string message;
    try {
      message = json::parse(answer->body).value("message", "");
    } catch (const json::exception&) {
    }
    return Page(Outcome::kConflict, "GitHub refused the code",
                "<p>GitHub answered " + std::to_string(answer->status) +
                    (message.empty() ? "" : " (" + Html(message) + ")") +
                    ". Codes are single-use and last an hour: start again from the setup "
                    "link.</p>");
  }
  json app;
  try {
    app = json::parse(answer->body);
  } catch (const json::exception&) {
  }
  const auto text = [&app](const char* key) {
    if (!app.is_object() || !app.contains(key)) return std::string();
    const json& v = app[key];
    return v.is_string() ? v.get<std::string>() : v.is_number() ? JsonText(v) : std::string();
  };
  const std::string id = text("id"), pem = text("pem"), secret = text("webhook_secret");
  if (id.empty() || pem.find("PRIVATE KEY-----") == std::string::npos || secret.empty()) {
    return Page(Outcome::kUnavailable, "GitHub's answer lacks the App's credentials",
                "<p>Expected an id, a private key and a webhook secret.</p>");
  }
  std::error_code ec;
  std::filesystem::create_directories(credentials_dir(), ec);
  ::chmod(credentials_dir().c_str(), 0700);
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"private-key.pem", pem},
        {"webhook-secret", secret},
        {"client-id", text("client_id")},
        {"client-secret", text("client_secret")},
        {"app-id", id}}) {  // last: its presence means the rest is there
    if (value.empty()) continue;
    if (Status s = WritePrivate(credentials_dir() / name, value); !s) {
      return Page(Outcome::kUnavailable, "Cannot keep the App's credentials",
                  "<p>" + Html(s.error().message()) + "</p>");
    }
  }
  const std::string dir = credentials_dir().string();
  const std::string html_url = text("html_url");
  spdlog::info("github setup: App {} (id {}) registered; its credentials are in {}",
               text("slug").empty() ? options_.setup.app_name : text("slug"), id, dir);
  return Page(
      Outcome::kOk, "GitHub App registered",
      "<p>GitHub created the App <b>" + Html(text("name")) + "</b> (id " + Html(id) +
          "). Its private key and webhook secret are in <code>" + Html(dir) +
          "</code>, readable by labelrun's user only; they are not shown here.</p>"
          "<p>Use them in labelrun's configuration, then restart labelrun:</p><pre>github:\n"
          "  app_id: \"" +
          Html(id) + "\"\n  private_key_file: " + Html(dir) +
          "/private-key.pem\nwebhook:\n  secrets:\n    - file: " + Html(dir) +
          "/webhook-secret\n</pre>"
          "<p>Under systemd, move both files to <code>/etc/labelrun/credentials/</code> and "
          "load them with <code>LoadCredential=</code> as docs/deploy.md shows.</p>" +
          (html_url.empty()
               ? std::string()
               : "<p>Then install the App on your repositories: <a href=\"" + Html(html_url) +
                     "/installations/new\">" + Html(html_url) + "/installations/new</a>.</p>"));
}

}  // namespace labelrun::app
