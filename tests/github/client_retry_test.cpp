// Rate limits, outages and hangs, through the real client and the loopback
// GitHub. Waits advance the ManualClock instead of sleeping.

#include <gtest/gtest.h>

#include "github/github_env.hpp"
#include "labelrun/github/client.hpp"

namespace labelrun::github {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::DefaultFakeOptions;
using testing::FakeFault;
using testing::GithubEnv;

constexpr int64_t kInst = GithubEnv::kInstallation;

TEST(GithubRateLimitLive, RetryAfterIsObeyedThenTheWriteLands) {
  GithubEnv env;
  env.fake.PushFault(FakeFault::kRetryAfter, 1, 30);
  auto res = env.client.CreateComment(kInst, env.repo, 1, "after the wait");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(env.Waits(), std::vector<milliseconds>{seconds(30)});
  EXPECT_EQ(env.fake.Comments("acme/vision", 1).size(), 1u);
  EXPECT_EQ(env.client.counters().rate_limited, 1);
  EXPECT_FALSE(env.client.RetryAt(kInst).has_value());
}

TEST(GithubRateLimitLive, ExhaustedPrimaryLimitWaitsUntilReset) {
  GithubEnv env;
  env.fake.PushFault(FakeFault::kRateLimitReset, 1, 45);
  auto res = env.client.AddLabels(kInst, env.repo, 1, {"status:done"});
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(env.Waits().size(), 1u);
  EXPECT_GE(env.Waits()[0], seconds(45));
  EXPECT_LE(env.Waits()[0], seconds(47));
}

TEST(GithubRateLimitLive, SecondaryLimitWaitsAMinuteAndBacksOff) {
  GithubEnv env;
  env.fake.PushFault(FakeFault::kSecondary, 2);
  auto res = env.client.CreateComment(kInst, env.repo, 1, "x");
  ASSERT_TRUE(res) << res.error().message();
  std::vector<milliseconds> waits = env.Waits();
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_GE(waits[0], seconds(60));
  EXPECT_GE(waits[1], 2 * seconds(60));

  env.fake.PushFault(FakeFault::kTooMany, 1);
  ASSERT_TRUE(env.client.CreateComment(kInst, env.repo, 1, "y"));
  EXPECT_GE(env.Waits().back(), seconds(60));
}

TEST(GithubRateLimitLive, LongWaitsAreHandedBackAndLaterCallsFailFast) {
  GithubEnv env;  // inline waits up to 5 minutes
  env.fake.PushFault(FakeFault::kRateLimitReset, 1, 3600);
  auto res = env.client.CreateComment(kInst, env.repo, 1, "x");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(res.error().message().find("API rate limit exceeded"), std::string::npos);
  EXPECT_NE(res.error().message().find("retry in"), std::string::npos);
  ASSERT_TRUE(env.client.RetryAt(kInst).has_value());
  EXPECT_GE(*env.client.RetryAt(kInst) - env.clock.Now(), minutes(59));
  EXPECT_TRUE(env.Waits().empty());

  // Until the reset, nothing is sent: GitHub bans clients that keep trying.
  size_t sent = env.fake.Requests().size();
  auto blocked = env.client.CreateComment(kInst, env.repo, 1, "y");
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(env.fake.Requests().size(), sent);
  // Other installations are not held back.
  EXPECT_TRUE(env.client.CreateComment(kInst + 1, env.repo, 1, "other"));

  env.clock.Advance(minutes(61));
  EXPECT_FALSE(env.client.RetryAt(kInst).has_value());
  EXPECT_TRUE(env.client.CreateComment(kInst, env.repo, 1, "z"));
}

TEST(GithubRateLimitLive, ServerErrorsAreRetriedWithGrowingBackoff) {
  GithubEnv env;
  env.fake.PushFault(FakeFault::kServerError, 3);
  auto res = env.client.AddLabels(kInst, env.repo, 1, {"status:queued"});
  ASSERT_TRUE(res) << res.error().message();
  std::vector<milliseconds> waits = env.Waits();
  ASSERT_EQ(waits.size(), 3u);
  EXPECT_LT(waits[0], waits[1]);
  EXPECT_LT(waits[1], waits[2]);
  EXPECT_EQ(env.client.counters().retries, 3);
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 1), std::vector<std::string>{"status:queued"});
}

TEST(GithubRateLimitLive, PersistentOutageIsUnavailableAfterMaxAttempts) {
  GithubEnv env;
  env.fake.PushFault(FakeFault::kServerError, 10);
  auto res = env.client.UpdateComment(kInst, env.repo, 1, "x");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(res.error().transient());
  EXPECT_NE(res.error().message().find("HTTP 500: Server Error"), std::string::npos);
  EXPECT_EQ(env.Waits().size(), 3u);  // 4 attempts
}

TEST(GithubRateLimitLive, CommentCreateIsNotRepeatedInsideTheCallAfterA5xx) {
  // GitHub may have stored the comment before failing; a blind retry could post
  // it twice. The outbox retries later, after looking for the job's marker.
  GithubEnv env;
  env.fake.PushFault(FakeFault::kServerError, 1);
  auto res = env.client.CreateComment(kInst, env.repo, 1, "x");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(env.Waits().empty());
  // Rate limits are refusals, so those are retried.
  env.fake.PushFault(FakeFault::kRetryAfter, 1, 5);
  EXPECT_TRUE(env.client.CreateComment(kInst, env.repo, 1, "y"));
  EXPECT_EQ(env.Waits(), std::vector<milliseconds>{seconds(5)});
}

TEST(GithubRateLimitLive, PlainForbiddenIsNotRetried) {
  GithubEnv env;
  auto res = env.client.CreateComment(kInst, env.repo, 1, std::string(70000, 'x'));
  ASSERT_FALSE(res);
  EXPECT_FALSE(res.error().transient());
  EXPECT_TRUE(env.Waits().empty());
}

TEST(FakeGithub, HangingServerEndsInDeadlineExceeded) {
  CurlOptions curl;
  curl.total_timeout = milliseconds(400);
  GithubEnv env(DefaultFakeOptions(), curl, 1);
  ASSERT_TRUE(env.tokens.Token(kInst));
  env.fake.PushFault(FakeFault::kHang);
  auto started = std::chrono::steady_clock::now();
  auto res = env.client.CreateComment(kInst, env.repo, 1, "x");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(res.error().transient());
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
  // The fake serves again once the client gave up.
  EXPECT_TRUE(env.client.CreateComment(kInst, env.repo, 1, "y"));
}

HttpRequest Get(std::string url, std::vector<std::string> headers) {
  HttpRequest req;
  req.method = "GET";
  req.url = std::move(url);
  req.headers = std::move(headers);
  return req;
}

TEST(FakeGithub, RefusesMissingOrUnknownCredentials) {
  GithubEnv env;
  CurlTransport& t = env.transport;
  HttpRequest req = Get(env.fake.url() + "/repos/acme/vision/labels", {"User-Agent: test"});
  auto anonymous = t.Send(req);
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  req.headers.push_back("Authorization: token ghs_made_up");
  EXPECT_EQ(t.Send(req)->status, 401);
  HttpRequest no_agent = Get(env.fake.url() + "/repos/acme/vision/labels", {});
  EXPECT_EQ(t.Send(no_agent)->status, 403);
  // An installation token works with either scheme.
  std::string token = *env.tokens.Token(1);
  HttpRequest ok = Get(env.fake.url() + "/repos/acme/vision/labels",
                       {"User-Agent: test", "Authorization: token " + token});
  EXPECT_EQ(t.Send(ok)->status, 200);
  // It expires after its lifetime.
  env.clock.Advance(minutes(61));
  EXPECT_EQ(t.Send(ok)->status, 401);
}

TEST(FakeGithub, UnreachableServerIsUnavailable) {
  CurlTransport t({});
  auto res = t.Send(Get("http://127.0.0.1:1/", {}));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace labelrun::github
