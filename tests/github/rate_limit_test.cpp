#include "labelrun/github/rate_limit.hpp"

#include <gtest/gtest.h>

namespace labelrun::github {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

const system_clock::time_point kNow{seconds(1'700'000'000)};

RetryAdvice Advise(long status, Headers headers, std::string message = "", int attempt = 0,
                   double jitter = 0.5) {
  return AdviseRetry(status, headers, message, kNow, attempt, jitter);
}

TEST(GithubRateLimit, SuccessAndPlainErrorsAreNotRetried) {
  for (long status : {200L, 201L, 204L, 301L, 400L, 401L, 404L, 409L, 422L}) {
    EXPECT_EQ(Advise(status, {}).kind, RetryKind::kNone) << status;
  }
  // A 403 that is not a rate limit is a permission error.
  EXPECT_EQ(Advise(403, {}, "Resource not accessible by integration").kind, RetryKind::kNone);
  EXPECT_FALSE(Advise(403, {{"x-ratelimit-remaining", "12"}}).retry());
}

TEST(GithubRateLimit, RetryAfterWinsOverEverythingElse) {
  RetryAdvice a = Advise(
      403,
      {{"retry-after", "30"}, {"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1700000900"}});
  EXPECT_EQ(a.kind, RetryKind::kRetryAfter);
  EXPECT_EQ(a.wait, seconds(30));
  EXPECT_TRUE(a.rate_limited());
  EXPECT_EQ(Advise(429, {{"Retry-After", " 7 "}}).wait, seconds(7));
  // A header that is not a number of seconds is ignored.
  EXPECT_EQ(Advise(429, {{"retry-after", "soon"}}).kind, RetryKind::kSecondary);
}

TEST(GithubRateLimit, ExhaustedPrimaryLimitWaitsForTheReset) {
  Headers h = {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1700000120"}};
  RetryAdvice a = Advise(403, h);
  EXPECT_EQ(a.kind, RetryKind::kPrimaryReset);
  EXPECT_EQ(a.wait, seconds(121));
  EXPECT_EQ(Advise(429, h).kind, RetryKind::kPrimaryReset);
  // A reset already past: retry after the one-second margin.
  EXPECT_EQ(Advise(403, {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1699999000"}}).wait,
            seconds(1));
  // Remaining 0 without a reset falls back to the secondary rule.
  EXPECT_EQ(Advise(429, {{"x-ratelimit-remaining", "0"}}).kind, RetryKind::kSecondary);
}

TEST(GithubRateLimit, SecondaryLimitWaitsAtLeastAMinuteAndBacksOff) {
  const std::string msg = "You have exceeded a secondary rate limit. Please wait.";
  milliseconds last{0};
  for (int attempt = 0; attempt < 12; ++attempt) {
    RetryAdvice a = Advise(403, {}, msg, attempt, 0.0);
    EXPECT_EQ(a.kind, RetryKind::kSecondary);
    EXPECT_GE(a.wait, seconds(60));
    EXPECT_GE(a.wait, last);
    EXPECT_LE(a.wait, std::chrono::minutes(17));
    last = a.wait;
  }
  EXPECT_EQ(Advise(403, {}, msg, 0, 0.0).wait, seconds(60));
  EXPECT_EQ(Advise(403, {}, msg, 1, 0.0).wait, seconds(120));
  EXPECT_EQ(Advise(429, {}, "", 0, 0.0).wait, seconds(60));
  // Jitter adds at most 10 %.
  EXPECT_LE(Advise(429, {}, "", 0, 0.999).wait, seconds(66));
}

TEST(GithubRateLimit, ServerErrorsBackOffExponentiallyWithJitter) {
  for (long status : {500L, 502L, 503L, 504L}) {
    EXPECT_EQ(Advise(status, {}).kind, RetryKind::kServerError);
  }
  EXPECT_EQ(Advise(0, {}).kind, RetryKind::kNetwork);
  EXPECT_FALSE(Advise(0, {}).rate_limited());
  EXPECT_EQ(BackoffDelay(0, 0.0), milliseconds(500));
  EXPECT_EQ(BackoffDelay(0, 0.999999), milliseconds(999));
  EXPECT_EQ(BackoffDelay(1, 0.0), milliseconds(1000));
  EXPECT_EQ(BackoffDelay(3, 0.0), milliseconds(4000));
  EXPECT_EQ(BackoffDelay(30, 0.0), seconds(30));  // capped at 60 s
  EXPECT_LT(BackoffDelay(30, 0.99), seconds(60));
  // Jitter spreads the waits of clients that failed together.
  EXPECT_NE(BackoffDelay(2, 0.1), BackoffDelay(2, 0.9));
}

}  // namespace
}  // namespace labelrun::github
