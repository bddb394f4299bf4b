#include "labelrun/github/token_source.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "labelrun/core/strings.hpp"
#include "labelrun/core/version.hpp"
#include "labelrun/github/rate_limit.hpp"

namespace labelrun::github {
namespace {

using std::chrono::system_clock;

bool ReadInt(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return true;
}

Error BadTimestamp(std::string_view text) {
  return Error(ErrorCode::kInvalidArgument,
               "not an ISO-8601 UTC timestamp: \"" + std::string(text.substr(0, 40)) + "\"");
}

}  // namespace

Result<system_clock::time_point> ParseIso8601(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]
  int y, mo, d, h, mi, s;
  if (!ReadInt(text, 0, 4, y) || text.size() < 19 || text[4] != '-' || !ReadInt(text, 5, 2, mo) ||
      text[7] != '-' || !ReadInt(text, 8, 2, d) || (text[10] != 'T' && text[10] != 't') ||
      !ReadInt(text, 11, 2, h) || text[13] != ':' || !ReadInt(text, 14, 2, mi) || text[16] != ':' ||
      !ReadInt(text, 17, 2, s)) {
    return BadTimestamp(text);
  }
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!ReadInt(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadInt(text, pos + 4, 2, om)) {
      return BadTimestamp(text);
    }
    offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return BadTimestamp(text);
  }
  if (pos != text.size()) return BadTimestamp(text);
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(unsigned(mo)),
                                  std::chrono::day(unsigned(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return BadTimestamp(text);
  return system_clock::time_point(std::chrono::sys_days(ymd)) + std::chrono::hours(h) +
         std::chrono::minutes(mi - offset_minutes) + std::chrono::seconds(s);
}

std::string UserAgent() { return std::string("labelrun/") + kVersion; }

Result<std::unique_ptr<StaticTokenSource>> StaticTokenSource::FromFile(
    const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Unexpected(ErrorCode::kInvalidArgument, "cannot read github.token_file " +
                                                       path.string() + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string token(Trim(text.str()));
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "github.token_file " + path.string() + " must hold one token on one line");
  }
  return std::make_unique<StaticTokenSource>(std::move(token));
}

AppTokenSource::AppTokenSource(AppAuth auth, Transport& transport, const Clock& clock)
    : auth_(std::move(auth)), transport_(transport), clock_(clock) {}

Result<std::string> AppTokenSource::Token(int64_t installation_id) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(installation_id);
  if (it != cache_.end() && clock_.Now() < it->second.renew_at) return it->second.token;
  // Minting under the lock: renewals are rare (hourly) and this keeps two
  // threads from asking for two tokens at once.
  Result<Cached> fresh = Mint(installation_id);
  if (!fresh) return fresh.error();
  failures_.erase(installation_id);
  cache_[installation_id] = *fresh;
  return fresh->token;
}

void AppTokenSource::Invalidate(int64_t installation_id) {
  std::lock_guard lock(mu_);
  cache_.erase(installation_id);
}

std::optional<TokenFailure> AppTokenSource::LastFailure(int64_t installation_id) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(installation_id);
  if (it == failures_.end()) return std::nullopt;
  return it->second;
}

int64_t AppTokenSource::tokens_minted() const {
  std::lock_guard lock(mu_);
  return minted_;
}

Result<AppTokenSource::Installation> AppTokenSource::RepositoryInstallation(
    std::string_view full_name) {
  std::string what = "GitHub GET /repos/" + std::string(full_name) + "/installation";
  size_t slash = full_name.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == full_name.size() ||
      full_name.find('/', slash + 1) != std::string_view::npos ||
      full_name.find_first_of("?#% \t\r\n") != std::string_view::npos) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "not a repository name (OWNER/NAME): '" + std::string(full_name) + "'");
  }
  Result<std::string> jwt = MakeAppJwt(auth_.key, AppJwtClaims(auth_.issuer, clock_.Now()));
  if (!jwt) return jwt.error();
  HttpRequest req;
  req.method = "GET";
  req.url = auth_.api_url + "/repos/" + std::string(full_name) + "/installation";
  req.headers = {"Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28",
                 "User-Agent: " + auth_.user_agent, "Authorization: Bearer " + *jwt};
  Result<HttpResponse> res = transport_.Send(req);
  if (!res) return Unexpected(res.error().code(), what + ": " + res.error().message());
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string message =
        body.is_object() && body.contains("message") && body["message"].is_string()
            ? body["message"].get<std::string>()
            : std::string("no message");
    if (message.size() > 300) message.resize(300);
    std::string hint = res->status == 404 ? " (the App is not installed on " +
                                                std::string(full_name) + ", or cannot see it)"
                                          : "";
    return Unexpected(ErrorCodeForStatus(res->status),
                      what + ": HTTP " + std::to_string(res->status) + ": " + message + hint);
  }
  if (!body.is_object() || !body.contains("id") || !body["id"].is_number_integer() ||
      body["id"].get<int64_t>() <= 0) {
    return Unexpected(ErrorCode::kUnavailable, what + ": the answer has no installation id");
  }
  Installation out;
  out.id = body["id"].get<int64_t>();
  if (body.contains("account") && body["account"].is_object() &&
      body["account"].contains("login") && body["account"]["login"].is_string()) {
    out.account = body["account"]["login"].get<std::string>();
  }
  return out;
}

Result<AppTokenSource::Cached> AppTokenSource::Mint(int64_t installation_id) {
  system_clock::time_point now = clock_.Now();
  Result<std::string> jwt = MakeAppJwt(auth_.key, AppJwtClaims(auth_.issuer, now));
  if (!jwt) return jwt.error();
  HttpRequest req;
  req.method = "POST";
  req.url =
      auth_.api_url + "/app/installations/" + std::to_string(installation_id) + "/access_tokens";
  req.headers = {"Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28",
                 "User-Agent: " + auth_.user_agent, "Authorization: Bearer " + *jwt,
                 "Content-Type: application/json"};
  req.body = "{}";
  ++minted_;
  Result<HttpResponse> res = transport_.Send(req);
  std::string what = "installation token for installation " + std::to_string(installation_id);
  if (!res) {
    if (res.error().transient()) {
      failures_[installation_id] = TokenFailure{0, {}, res.error().message()};
    } else {
      failures_.erase(installation_id);
    }
    return Unexpected(res.error().code(), what + ": " + res.error().message());
  }
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 201 && res->status != 200) {
    std::string message =
        body.is_object() && body.contains("message") && body["message"].is_string()
            ? body["message"].get<std::string>()
            : std::string("no message");
    if (message.size() > 300) message.resize(300);
    failures_[installation_id] = TokenFailure{res->status, res->headers, message};
    ErrorCode code = ErrorCodeForStatus(res->status);
    // The token endpoint is rate limited too: that is a wait, not a refusal.
    if (AdviseRetry(res->status, res->headers, message, now, 0, 0.5).rate_limited()) {
      code = ErrorCode::kResourceExhausted;
    }
    std::string hint;
    if (res->status == 404) {
      hint = " (no such installation of this App: it was uninstalled, or the id is wrong)";
    } else if (res->status == 401) {
      hint =
          " (GitHub refused the App's JWT: check github.app_id / github.client_id and "
          "github.private_key_file)";
    } else if (res->status == 403 && code != ErrorCode::kResourceExhausted) {
      hint = " (the installation may be suspended)";
    }
    return Unexpected(code, what + ": HTTP " + std::to_string(res->status) + ": " + message + hint);
  }
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string() ||
      !body.contains("expires_at") || !body["expires_at"].is_string()) {
    failures_[installation_id] = TokenFailure{502, {}, "the answer has no token or expires_at"};
    return Unexpected(ErrorCode::kUnavailable, what + ": the answer has no token or expires_at");
  }
  Result<system_clock::time_point> expires = ParseIso8601(body["expires_at"].get<std::string>());
  if (!expires) return Unexpected(ErrorCode::kUnavailable, what + ": " + expires.error().message());
  auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(*expires - now);
  auto margin = std::min(auth_.refresh_margin, lifetime / 2);
  return Cached{body["token"].get<std::string>(), *expires - margin};
}

Result<std::unique_ptr<TokenSource>> MakeTokenSource(const Settings& settings, Transport& transport,
                                                     const Clock& clock) {
  if (Status s = Validate(settings); !s) return s.error();
  if (!settings.app_mode()) {
    auto source = StaticTokenSource::FromFile(settings.token_file);
    if (!source) return source.error();
    return std::unique_ptr<TokenSource>(std::move(*source));
  }
  Result<RsaPrivateKey> key = RsaPrivateKey::LoadFile(settings.private_key_file);
  if (!key) return key.error();
  std::string api = settings.api_url;
  while (!api.empty() && api.back() == '/') api.pop_back();
  AppAuth auth{settings.issuer(), std::move(*key), api, UserAgent(), settings.token_refresh_margin};
  return std::unique_ptr<TokenSource>(
      std::make_unique<AppTokenSource>(std::move(auth), transport, clock));
}

}  // namespace labelrun::github
