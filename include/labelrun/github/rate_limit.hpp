#pragma once
// How long to wait before retrying a GitHub response: pure functions, no I/O.
// Rules (GitHub "Rate limits for the REST API" and "Best practices"):
//   1. `retry-after: N`                          -> wait N s
//   2. `x-ratelimit-remaining: 0` + `-reset: T`  -> wait until epoch T (+1 s)
//   3. 403/429 naming a secondary rate limit,
//      or 429 without headers                    -> wait >= 60 s, doubling per attempt
//   4. 5xx, or no response at all                -> jittered exponential backoff
// Anything else is not retried.

#include <chrono>
#include <string_view>

#include "labelrun/github/http.hpp"

namespace labelrun::github {

enum class RetryKind {
  kNone,          // success, or an error that retrying will not fix
  kRetryAfter,    // rule 1
  kPrimaryReset,  // rule 2
  kSecondary,     // rule 3
  kServerError,   // rule 4 (5xx)
  kNetwork,       // rule 4 (no response)
};

std::string_view RetryKindName(RetryKind kind);

struct RetryAdvice {
  RetryKind kind = RetryKind::kNone;
  std::chrono::milliseconds wait{0};

  bool retry() const { return kind != RetryKind::kNone; }
  // Rate limits (rules 1-3), as opposed to outages (rule 4).
  bool rate_limited() const {
    return kind == RetryKind::kRetryAfter || kind == RetryKind::kPrimaryReset ||
           kind == RetryKind::kSecondary;
  }
};

// `attempt` counts the tries already failed (0 after the first). `jitter` is a
// uniform draw in [0, 1); pass 0.5 for deterministic tests. `message` is
// GitHub's error `message`, used to tell a secondary-limit 403 from a
// permission 403.
RetryAdvice AdviseRetry(long status, const Headers& headers, std::string_view message,
                        std::chrono::system_clock::time_point now, int attempt, double jitter);

// Rule 4 alone: base 1 s doubling per attempt, capped at 60 s, "equal jitter"
// (half fixed, half random).
std::chrono::milliseconds BackoffDelay(int attempt, double jitter);

// Rule 3 alone: 60 s doubling per attempt, capped at 15 min, plus up to 10 %
// jitter. Never under 60 s.
std::chrono::milliseconds SecondaryDelay(int attempt, double jitter);

}  // namespace labelrun::github
