#pragma once
// Registering labelrun's GitHub App in one click (GitHub's manifest flow):
//   GET /github/setup?key=K        a page whose button posts the App manifest
//                                  to GitHub (name, webhook URL, permissions,
//                                  events, redirect back here);
//   GET /github/app-created?code=C&state=S
//                                  where GitHub sends the browser back: the code
//                                  is exchanged (POST /app-manifests/{code}/
//                                  conversions) for the App's id, private key
//                                  and webhook secret, written 0600 into
//                                  state_dir/github-app/, and the page shows the
//                                  config lines that use them (never the values).
// Served only with github.setup: true or in --dev mode. The setup page needs the
// key in state_dir/github-setup-key (whoever can register an App here decides
// which webhook secret labelrun trusts); each page's `state` is single-use and
// lasts an hour; an App already registered is never overwritten.

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "labelrun/config/config.hpp"
#include "labelrun/core/clock.hpp"
#include "labelrun/github/http.hpp"
#include "labelrun/server/app_routes.hpp"

namespace labelrun::app {

struct GithubSetupOptions {
  config::GithubSetup setup;
  std::string public_url;    // how GitHub and browsers reach labelrun
  std::string webhook_path;  // server.webhook_path
  std::filesystem::path state_dir;
  std::string key;  // the setup page's key
};

class GithubSetupPages {
 public:
  // `transport` reaches github.api_url; it must outlive this.
  GithubSetupPages(GithubSetupOptions options, github::Transport& transport, const Clock& clock);

  static bool Handles(std::string_view path) {
    return path == "/github/setup" || path == "/github/app-created";
  }
  server::AppReply Handle(const server::AppRequest& request);

  // The manifest posted to GitHub, as JSON.
  std::string Manifest() const;
  std::filesystem::path credentials_dir() const { return options_.state_dir / "github-app"; }

 private:
  server::AppReply SetupPage();
  server::AppReply AppCreated(const std::string& code, const std::string& state);

  GithubSetupOptions options_;
  github::Transport& transport_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, int64_t> states_;  // issued state -> expiry (unix ms)
};

}  // namespace labelrun::app
