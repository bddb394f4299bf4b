// The REST call machinery: headers, retries, rate-limit bookkeeping, errors,
// pagination. The operations themselves are in client_operations.cpp.

#include "labelrun/github/client.hpp"

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "labelrun/core/strings.hpp"

namespace labelrun::github {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

std::string Trimmed(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// GitHub's `message`, plus the details of a 422's `errors` list.
std::string ErrorMessage(const std::string& body, bool* already_exists) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return body.empty() ? "no message" : "non-JSON answer";
  std::string out = j.contains("message") && j["message"].is_string()
                        ? j["message"].get<std::string>()
                        : std::string("no message");
  if (j.contains("errors") && j["errors"].is_array()) {
    std::string details;
    for (const nlohmann::json& e : j["errors"]) {
      if (!e.is_object()) continue;
      auto str = [&e](const char* key) {
        return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : std::string();
      };
      if (str("code") == "already_exists" && already_exists != nullptr) *already_exists = true;
      std::string one = !str("message").empty() ? str("message") : str("field") + " " + str("code");
      if (!details.empty()) details += "; ";
      details += one;
    }
    if (!details.empty()) out += " (" + details + ")";
  }
  if (out.size() > 500) out.resize(500);
  return out;
}

std::string WaitText(milliseconds wait) {
  return std::to_string((wait.count() + 999) / 1000) + " s";
}

}  // namespace

std::string JobMarker(std::string_view job_id) {
  return "<!-- labelrun:job=" + std::string(job_id) + " -->";
}

std::string NextPageUrl(std::string_view link) {
  // <https://api.github.com/...&page=2>; rel="next", <...>; rel="last"
  for (std::string_view part : Split(link, ',')) {
    part = Trim(part);
    size_t open = part.find('<');
    size_t close = part.find('>');
    if (open != 0 || close == std::string_view::npos) continue;
    for (std::string_view param : Split(part.substr(close + 1), ';')) {
      std::string p = ToLower(Trim(param));
      if (p == "rel=\"next\"" || p == "rel=next") {
        return std::string(part.substr(1, close - 1));
      }
    }
  }
  return "";
}

ClientOptions ClientOptionsFrom(const Settings& settings) {
  ClientOptions o;
  o.api_url = settings.api_url;
  o.max_attempts = settings.max_attempts;
  o.max_inline_wait = settings.max_inline_wait;
  return o;
}

Client::Client(ClientOptions options, Transport& transport, TokenSource& tokens, const Clock& clock)
    : options_(std::move(options)), transport_(transport), tokens_(tokens), clock_(clock) {
  options_.api_url = Trimmed(options_.api_url);
  if (!options_.sleep) options_.sleep = [](milliseconds d) { std::this_thread::sleep_for(d); };
  if (!options_.jitter) {
    options_.jitter = [] {
      thread_local std::mt19937_64 rng{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    };
  }
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

std::optional<system_clock::time_point> Client::RetryAt(int64_t installation) const {
  std::lock_guard lock(mu_);
  auto it = blocked_until_.find(installation);
  if (it == blocked_until_.end() || it->second <= clock_.Now()) return std::nullopt;
  return it->second;
}

Client::Counters Client::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

Result<HttpResponse> Client::Call(int64_t installation, std::string_view method,
                                  std::string_view target, const std::string* json_body,
                                  bool idempotent, const std::filesystem::path* body_file,
                                  int64_t max_file_bytes) {
  bool absolute = target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0;
  if (absolute && target.rfind(options_.api_url + "/", 0) != 0) {
    // A Link header pointing elsewhere must not receive the token.
    return Unexpected(ErrorCode::kInternal, "refusing to follow a URL outside github.api_url");
  }
  std::string url = absolute ? std::string(target) : options_.api_url + std::string(target);
  std::string what = "GitHub " + std::string(method) + " " +
                     (absolute ? url.substr(options_.api_url.size()) : std::string(target));
  if (std::optional<system_clock::time_point> until = RetryAt(installation)) {
    auto wait = std::chrono::duration_cast<milliseconds>(*until - clock_.Now());
    if (wait > options_.max_inline_wait) {
      return Unexpected(ErrorCode::kResourceExhausted,
                        what + ": rate limited; retry in " + WaitText(wait));
    }
    options_.sleep(wait);
  }
  bool reauthenticated = false;
  for (int attempt = 0;; ++attempt) {
    Result<std::string> token = tokens_.Token(installation);
    if (!token) {
      // Minting the installation token is a GitHub call like any other: 5xx,
      // lost answers and rate limits are waited out; 401/404 are not. Nothing
      // reached `target` yet, so even a non-idempotent call may try again.
      std::optional<TokenFailure> why = tokens_.LastFailure(installation);
      if (!why) return token.error();
      RetryAdvice advice = AdviseRetry(why->status, why->headers, why->message, clock_.Now(),
                                       attempt, options_.jitter());
      Error failure = token.error();
      if (advice.rate_limited()) {
        failure = Error(ErrorCode::kResourceExhausted, failure.message());
        std::lock_guard lock(mu_);
        ++counters_.rate_limited;
        blocked_until_[installation] = clock_.Now() + advice.wait;
      }
      if (!advice.retry()) return failure;
      if (Result<void> waited = WaitToRetry(advice, failure, attempt, installation); !waited) {
        return waited.error();
      }
      continue;
    }
    HttpRequest req;
    req.method = std::string(method);
    req.url = url;
    req.headers = {"Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28",
                   "User-Agent: " + UserAgent(), "Authorization: Bearer " + *token};
    if (json_body != nullptr) {
      req.headers.push_back("Content-Type: application/json");
      req.body = *json_body;
    }
    if (body_file != nullptr) {
      req.body_file = *body_file;
      req.max_file_bytes = max_file_bytes;
    }
    {
      std::lock_guard lock(mu_);
      ++counters_.requests;
    }
    Result<HttpResponse> res = transport_.Send(req);
    RetryAdvice advice;
    std::optional<Error> failure;
    if (!res && !res.error().transient()) {
      return Error(res.error().code(), what + ": " + res.error().message());
    } else if (!res) {
      advice = {RetryKind::kNetwork, BackoffDelay(attempt, options_.jitter())};
      failure = Error(res.error().code(), what + ": " + res.error().message());
    } else if (res->status >= 200 && res->status < 300) {
      std::lock_guard lock(mu_);
      blocked_until_.erase(installation);
      return res;
    } else {
      bool already_exists = false;
      std::string message = ErrorMessage(res->body, &already_exists);
      if (res->status == 401 && !reauthenticated) {
        // The cached installation token may have been revoked or expired early.
        tokens_.Invalidate(installation);
        reauthenticated = true;
        --attempt;
        continue;
      }
      advice =
          AdviseRetry(res->status, res->headers, message, clock_.Now(), attempt, options_.jitter());
      ErrorCode code = ErrorCodeForStatus(res->status);
      if (already_exists) code = ErrorCode::kAlreadyExists;
      if (advice.rate_limited()) {
        code = ErrorCode::kResourceExhausted;
        std::lock_guard lock(mu_);
        ++counters_.rate_limited;
        blocked_until_[installation] = clock_.Now() + advice.wait;
      }
      failure = Error(code, what + ": HTTP " + std::to_string(res->status) + ": " + message);
    }
    if (!advice.retry()) return *failure;
    if (!idempotent && !advice.rate_limited()) return *failure;
    if (Result<void> waited = WaitToRetry(advice, *failure, attempt, installation); !waited) {
      return waited.error();
    }
  }
}

Status Client::WaitToRetry(const RetryAdvice& advice, const Error& failure, int attempt,
                           int64_t installation) {
  if (attempt + 1 >= options_.max_attempts || advice.wait > options_.max_inline_wait) {
    return Error(failure.code(), failure.message() + " (" +
                                     std::string(RetryKindName(advice.kind)) + "; retry in " +
                                     WaitText(advice.wait) + ")");
  }
  {
    std::lock_guard lock(mu_);
    ++counters_.retries;
  }
  options_.sleep(advice.wait);
  if (advice.rate_limited()) {
    std::lock_guard lock(mu_);
    blocked_until_.erase(installation);
  }
  return {};
}

Result<std::vector<HttpResponse>> Client::CallPaginated(int64_t installation, std::string path) {
  std::vector<HttpResponse> pages;
  std::string target = std::move(path);
  // 100 pages of 100 items: far beyond any issue labelrun works on.
  for (int page = 0; page < 100 && !target.empty(); ++page) {
    Result<HttpResponse> res = Call(installation, "GET", target, nullptr);
    if (!res) return res.error();
    std::optional<std::string_view> link = FindHeader(res->headers, "link");
    target = link ? NextPageUrl(*link) : "";
    pages.push_back(std::move(*res));
  }
  return pages;
}

}  // namespace labelrun::github
