#include "labelrun/github/rate_limit.hpp"

#include <algorithm>
#include <charconv>

#include "labelrun/core/strings.hpp"

namespace labelrun::github {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::optional<int64_t> HeaderInt(const Headers& headers, std::string_view name) {
  std::optional<std::string_view> v = FindHeader(headers, name);
  if (!v) return std::nullopt;
  std::string_view text = Trim(*v);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size() || out < 0) return std::nullopt;
  return out;
}

bool MentionsSecondaryLimit(std::string_view message) {
  std::string lower = ToLower(message);
  return lower.find("secondary rate limit") != std::string::npos ||
         lower.find("abuse") != std::string::npos;
}

double Clamp01(double j) { return std::clamp(j, 0.0, 0.999999); }

}  // namespace

std::string_view RetryKindName(RetryKind kind) {
  switch (kind) {
    case RetryKind::kNone:
      return "none";
    case RetryKind::kRetryAfter:
      return "retry-after";
    case RetryKind::kPrimaryReset:
      return "primary-rate-limit";
    case RetryKind::kSecondary:
      return "secondary-rate-limit";
    case RetryKind::kServerError:
      return "server-error";
    case RetryKind::kNetwork:
      return "network";
  }
  return "unknown";
}

milliseconds BackoffDelay(int attempt, double jitter) {
  int64_t cap = 60'000;
  int64_t full = std::min<int64_t>(cap, int64_t{1000} << std::clamp(attempt, 0, 16));
  return milliseconds(full / 2 + static_cast<int64_t>(Clamp01(jitter) * (full / 2)));
}

milliseconds SecondaryDelay(int attempt, double jitter) {
  int64_t cap = 15 * 60'000;
  int64_t base = std::min<int64_t>(cap, int64_t{60'000} << std::clamp(attempt, 0, 8));
  return milliseconds(base + static_cast<int64_t>(Clamp01(jitter) * (base / 10)));
}

RetryAdvice AdviseRetry(long status, const Headers& headers, std::string_view message,
                        std::chrono::system_clock::time_point now, int attempt, double jitter) {
  if (status == 0) return {RetryKind::kNetwork, BackoffDelay(attempt, jitter)};
  if (status == 403 || status == 429) {
    if (std::optional<int64_t> after = HeaderInt(headers, "retry-after")) {
      return {RetryKind::kRetryAfter, seconds(*after)};
    }
    std::optional<int64_t> remaining = HeaderInt(headers, "x-ratelimit-remaining");
    std::optional<int64_t> reset = HeaderInt(headers, "x-ratelimit-reset");
    if (remaining && *remaining == 0 && reset) {
      auto reset_at = std::chrono::system_clock::time_point(seconds(*reset));
      auto wait = std::chrono::duration_cast<milliseconds>(reset_at - now);
      // One second past the reset: the epoch is truncated and clocks drift.
      return {RetryKind::kPrimaryReset, std::max(milliseconds(0), wait) + seconds(1)};
    }
    if (status == 429 || MentionsSecondaryLimit(message)) {
      return {RetryKind::kSecondary, SecondaryDelay(attempt, jitter)};
    }
    return {};  // a permission 403
  }
  if (status >= 500 && status <= 599) {
    return {RetryKind::kServerError, BackoffDelay(attempt, jitter)};
  }
  return {};
}

}  // namespace labelrun::github
