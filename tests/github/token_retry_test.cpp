// Minting an installation token is retried like every other GitHub call:
// outages, lost answers and rate limits on POST /app/installations/{id}/access_tokens
// are waited out; a refusal (401, 404) is not, and its error names the installation.

#include <gtest/gtest.h>

#include "github/github_env.hpp"
#include "labelrun/github/client.hpp"

namespace labelrun::github {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeFault;
using testing::GithubEnv;

constexpr int64_t kInst = GithubEnv::kInstallation;
const std::string kTokenPath = "/app/installations/77/access_tokens";

int TokenRequests(const GithubEnv& env) {
  int n = 0;
  for (const auto& r : env.fake.Requests()) n += r.target == kTokenPath;
  return n;
}

TEST(GithubTokenRetry, BadGatewayOnMintingIsRetriedWithBackoff) {
  GithubEnv env;
  env.fake.PushTokenFault(FakeFault::kBadGateway, 2);
  auto res = env.client.AddLabels(kInst, env.repo, 1, {"status:queued"});
  ASSERT_TRUE(res) << res.error().message();
  std::vector<milliseconds> waits = env.Waits();
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_GE(waits[0], milliseconds(500));
  EXPECT_LT(waits[0], waits[1]);
  EXPECT_EQ(TokenRequests(env), 3);
  EXPECT_EQ(env.client.counters().retries, 2);
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 1), std::vector<std::string>{"status:queued"});
}

TEST(GithubTokenRetry, SecondaryLimitWithRetryAfterOnMintingIsWaitedOut) {
  GithubEnv env;
  env.fake.PushTokenFault(FakeFault::kSecondaryRetryAfter, 1, 42);
  auto res = env.client.ListRepoLabels(kInst, env.repo);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(env.Waits(), std::vector<milliseconds>{seconds(42)});
  EXPECT_EQ(env.client.counters().rate_limited, 1);
  EXPECT_EQ(TokenRequests(env), 2);
  EXPECT_FALSE(env.client.RetryAt(kInst).has_value());
}

TEST(GithubTokenRetry, TooManyRequestsOnMintingWaitsAMinute) {
  GithubEnv env;
  env.fake.PushTokenFault(FakeFault::kTooMany, 1);
  // A comment create is not repeated after a 5xx, but a refused token means
  // nothing was posted yet, so it may go on.
  auto res = env.client.CreateComment(kInst, env.repo, 1, "after the wait");
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(env.Waits().size(), 1u);
  EXPECT_GE(env.Waits()[0], seconds(60));
  EXPECT_EQ(env.fake.Comments("acme/vision", 1).size(), 1u);
}

TEST(GithubTokenRetry, ClosedConnectionOnMintingIsRetried) {
  GithubEnv env;
  env.fake.PushTokenFault(FakeFault::kClose, 1);
  auto res = env.client.CreateComment(kInst, env.repo, 1, "x");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(env.Waits().size(), 1u);
  EXPECT_EQ(TokenRequests(env), 2);
  EXPECT_EQ(env.fake.Comments("acme/vision", 1).size(), 1u);
}

TEST(GithubTokenRetry, PersistentOutageOnMintingEndsUnavailableNamingTheInstallation) {
  GithubEnv env;
  env.fake.PushTokenFault(FakeFault::kBadGateway, 10);
  auto res = env.client.ListRepoLabels(kInst, env.repo);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(res.error().message().find("installation 77"), std::string::npos)
      << res.error().message();
  EXPECT_NE(res.error().message().find("HTTP 502"), std::string::npos);
  EXPECT_EQ(TokenRequests(env), 4);  // max_attempts
}

TEST(GithubTokenRetry, UnknownInstallationIsNotRetried) {
  GithubEnv env;
  env.fake.Uninstall(kInst);
  auto res = env.client.ListRepoLabels(kInst, env.repo);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(res.error().message().find("installation 77"), std::string::npos)
      << res.error().message();
  EXPECT_NE(res.error().message().find("uninstalled"), std::string::npos);
  EXPECT_TRUE(env.Waits().empty());
  EXPECT_EQ(TokenRequests(env), 1);
}

TEST(GithubTokenRetry, RefusedJwtIsNotRetried) {
  auto options = testing::DefaultFakeOptions();
  options.app_issuer = "99999";  // GitHub knows the App under another id
  GithubEnv env(options);
  auto res = env.client.ListRepoLabels(kInst, env.repo);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(res.error().message().find("installation 77"), std::string::npos);
  EXPECT_NE(res.error().message().find("github.app_id"), std::string::npos);
  EXPECT_TRUE(env.Waits().empty());
  EXPECT_EQ(TokenRequests(env), 1);
}

TEST(GithubTokenRetry, LongRateLimitOnMintingIsHandedBack) {
  GithubEnv env;  // inline waits up to 5 minutes
  env.fake.PushTokenFault(FakeFault::kRetryAfter, 1, 3600);
  auto res = env.client.ListRepoLabels(kInst, env.repo);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(res.error().message().find("retry in 3600 s"), std::string::npos)
      << res.error().message();
  ASSERT_TRUE(env.client.RetryAt(kInst).has_value());
  EXPECT_TRUE(env.Waits().empty());
}

}  // namespace
}  // namespace labelrun::github
