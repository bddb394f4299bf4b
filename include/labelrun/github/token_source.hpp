#pragma once
// Credentials for REST calls behind one interface: App installation tokens
// (JWT-minted, cached, renewed before expiry) or a fixed token (token mode).
// Tokens are secrets: they never appear in logs or error messages.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "labelrun/core/clock.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/github/http.hpp"
#include "labelrun/github/jwt.hpp"
#include "labelrun/github/settings.hpp"

namespace labelrun::github {

// How GitHub answered a failed token request: status 0 when no answer came
// (connection refused, reset or closed, timeout).
struct TokenFailure {
  long status = 0;
  Headers headers;
  std::string message;  // GitHub's `message`
};

// "2016-07-11T22:14:10Z", optional fraction, "Z" or "±HH:MM".
Result<std::chrono::system_clock::time_point> ParseIso8601(std::string_view text);

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A token valid for the installation's REST calls (token mode ignores the
  // id). Blocking (may call GitHub); thread-safe.
  virtual Result<std::string> Token(int64_t installation_id) = 0;
  // Forget a token GitHub answered 401 to, so the next Token() gets a new one.
  virtual void Invalidate(int64_t installation_id) = 0;
  // Why the last Token() for this installation failed, so that the caller can
  // retry minting with the rules of every other call (rate_limit.hpp); nullopt
  // when it did not fail or there is nothing to retry on (token mode).
  virtual std::optional<TokenFailure> LastFailure(int64_t /*installation_id*/) const {
    return std::nullopt;
  }
};

// Token mode: one fixed token.
class StaticTokenSource final : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  // Reads and trims the file; errors name the file, never its content.
  static Result<std::unique_ptr<StaticTokenSource>> FromFile(const std::filesystem::path& path);

  Result<std::string> Token(int64_t) override { return token_; }
  void Invalidate(int64_t) override {}

 private:
  std::string token_;
};

struct AppAuth {
  std::string issuer;  // client id or App id
  RsaPrivateKey key;
  std::string api_url;     // REST root, no trailing slash
  std::string user_agent;  // "labelrun/<version>"
  std::chrono::seconds refresh_margin{std::chrono::minutes(5)};
};

// App mode: POST /app/installations/{id}/access_tokens with a fresh JWT, cache
// the token per installation, renew it `refresh_margin` (at most half its
// lifetime) before `expires_at`. Thread-safe; concurrent callers for the same
// installation share one request.
class AppTokenSource final : public TokenSource {
 public:
  // REQUIRES: transport and clock outlive this object.
  AppTokenSource(AppAuth auth, Transport& transport, const Clock& clock);

  Result<std::string> Token(int64_t installation_id) override;
  void Invalidate(int64_t installation_id) override;
  std::optional<TokenFailure> LastFailure(int64_t installation_id) const override;

  // Installation-token requests sent so far (for tests and /metrics).
  int64_t tokens_minted() const;

  struct Installation {
    int64_t id = 0;
    std::string account;  // the user or organisation it is installed on
  };
  // GET /repos/{owner}/{repo}/installation with the App JWT: this App's
  // installation that can see `full_name`. kNotFound when the App is not
  // installed there (or cannot see it). One attempt; blocking.
  Result<Installation> RepositoryInstallation(std::string_view full_name);

 private:
  struct Cached {
    std::string token;
    std::chrono::system_clock::time_point renew_at;
  };
  // REQUIRES: mu_ held. Records a failure in failures_.
  Result<Cached> Mint(int64_t installation_id);

  AppAuth auth_;
  Transport& transport_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<int64_t, Cached> cache_;
  std::map<int64_t, TokenFailure> failures_;
  int64_t minted_ = 0;
};

// The source `settings` describes (after Validate): token mode reads
// token_file, App mode loads private_key_file.
Result<std::unique_ptr<TokenSource>> MakeTokenSource(const Settings& settings, Transport& transport,
                                                     const Clock& clock);

// "labelrun/<version>"
std::string UserAgent();

}  // namespace labelrun::github
