#include "labelrun/github/token_source.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "github/github_env.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::github {
namespace {

using labelrun::testing::OtherTestKey;
using labelrun::testing::TempDir;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::system_clock;
using testing::DefaultFakeOptions;
using testing::FakeFault;
using testing::FakeGithub;
using testing::GithubEnv;

int64_t Unix(system_clock::time_point t) {
  return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}

TEST(GithubToken, ParsesIso8601Timestamps) {
  EXPECT_EQ(Unix(*ParseIso8601("2016-07-11T22:14:10Z")), 1468275250);
  EXPECT_EQ(Unix(*ParseIso8601("2016-07-11T22:14:10.123Z")), 1468275250);
  EXPECT_EQ(Unix(*ParseIso8601("2016-07-12T00:14:10+02:00")), 1468275250);
  EXPECT_EQ(Unix(*ParseIso8601("2016-07-11T21:14:10-01:00")), 1468275250);
  EXPECT_EQ(Unix(*ParseIso8601("1970-01-01T00:00:00Z")), 0);
  EXPECT_EQ(Unix(*ParseIso8601("2024-02-29T12:00:00Z")), 1709208000);
  for (const char* bad :
       {"", "2016-07-11", "2016-07-11T22:14:10", "2016-13-11T22:14:10Z", "2023-02-29T00:00:00Z",
        "2016-07-11T22:14:10Zjunk", "2016-07-11 22:14:10Z", "2016-07-11T22:14:10+0200"}) {
    EXPECT_FALSE(ParseIso8601(bad)) << bad;
  }
}

TEST(GithubToken, MintsOnceThenServesFromCache) {
  GithubEnv env;
  auto t1 = env.tokens.Token(1);
  ASSERT_TRUE(t1) << t1.error().message();
  EXPECT_EQ(env.fake.last_jwt_error(), "");
  auto t2 = env.tokens.Token(1);
  ASSERT_TRUE(t2);
  EXPECT_EQ(*t1, *t2);
  EXPECT_EQ(env.fake.tokens_issued(), 1);
  // Installations have their own tokens.
  auto other = env.tokens.Token(2);
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *t1);
  EXPECT_EQ(env.tokens.tokens_minted(), 2);
  // The App JWT went as Bearer with the common headers.
  std::vector<testing::FakeRequest> reqs = env.fake.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/app/installations/1/access_tokens");
  EXPECT_EQ(reqs[0].auth_scheme, "Bearer");
  EXPECT_EQ(reqs[0].api_version, "2022-11-28");
  EXPECT_EQ(reqs[0].accept, "application/vnd.github+json");
  EXPECT_EQ(reqs[0].user_agent.rfind("labelrun/", 0), 0u);
}

TEST(GithubToken, ConcurrentCallersShareOneToken) {
  GithubEnv env;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { ok += env.tokens.Token(1).has_value(); });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(env.fake.tokens_issued(), 1);
}

TEST(GithubToken, RenewsBeforeExpiryAcrossHoursOfJob) {
  GithubEnv env;
  ASSERT_TRUE(env.client.CreateComment(1, env.repo, 5, "queued"));
  std::string first = *env.tokens.Token(1);
  // 54 minutes in: still the first token.
  env.clock.Advance(minutes(54));
  EXPECT_EQ(*env.tokens.Token(1), first);
  // 56 minutes in: within the 5-minute margin, a new one.
  env.clock.Advance(minutes(2));
  std::string second = *env.tokens.Token(1);
  EXPECT_NE(second, first);
  EXPECT_EQ(env.fake.tokens_issued(), 2);
  // Hours later the job's final comment still goes through.
  for (int hour = 0; hour < 5; ++hour) {
    env.clock.Advance(minutes(59));
    ASSERT_TRUE(env.client.CreateComment(1, env.repo, 5, "still running"));
  }
  EXPECT_EQ(env.fake.Comments("acme/vision", 5).size(), 6u);
  EXPECT_GE(env.fake.tokens_issued(), 6);
}

TEST(GithubToken, ShortLivedTokensRenewAtHalfTheirLifetime) {
  FakeGithub::Options o = DefaultFakeOptions();
  o.token_lifetime = seconds(60);
  GithubEnv env(o);
  std::string first = *env.tokens.Token(1);
  env.clock.Advance(seconds(29));
  EXPECT_EQ(*env.tokens.Token(1), first);
  env.clock.Advance(seconds(2));
  EXPECT_NE(*env.tokens.Token(1), first);
}

// Hands out a revoked token until the client invalidates it.
class RevokedFirst final : public TokenSource {
 public:
  explicit RevokedFirst(TokenSource& real) : real_(real) {}
  Result<std::string> Token(int64_t id) override {
    if (!invalidated_) return std::string("ghs_revoked");
    return real_.Token(id);
  }
  void Invalidate(int64_t id) override {
    invalidated_ = true;
    real_.Invalidate(id);
  }

 private:
  TokenSource& real_;
  bool invalidated_ = false;
};

TEST(GithubToken, TokenAnswered401IsReplacedOnce) {
  GithubEnv env;
  RevokedFirst revoked(env.tokens);
  Client client(env.MakeOptions(2), env.transport, revoked, env.clock);
  auto res = client.CreateComment(1, env.repo, 1, "a");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(env.fake.Comments("acme/vision", 1).size(), 1u);
  EXPECT_EQ(env.fake.Requests().front().status, 401);

  // A credential that stays bad is an error after one renewal, not a loop.
  StaticTokenSource bad("ghp_wrong");
  Client bad_client(env.MakeOptions(4), env.transport, bad, env.clock);
  auto refused = bad_client.CreateComment(1, env.repo, 1, "b");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(refused.error().message().find("Bad credentials"), std::string::npos);
  EXPECT_EQ(refused.error().message().find("ghp_wrong"), std::string::npos);
}

TEST(GithubToken, FakeRefusesExpiredFutureDatedAndForeignJwts) {
  ManualClock app_clock;
  GithubEnv env;
  auto source = [&](const std::string& issuer, const std::string& pem) {
    return AppTokenSource(
        AppAuth{issuer, *RsaPrivateKey::FromPem(pem), env.fake.url(), UserAgent()}, env.transport,
        app_clock);
  };
  const auto& key = labelrun::testing::AppTestKey();

  // The App's clock 11 minutes slow: its JWT has already expired.
  app_clock.Advance(-minutes(11));
  auto expired = source("12345", key.pkcs1_pem).Token(1);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(env.fake.last_jwt_error().find("'exp'"), std::string::npos);

  // Two minutes fast: iat lies in the future.
  app_clock.Advance(minutes(13));
  auto future = source("12345", key.pkcs1_pem).Token(1);
  ASSERT_FALSE(future);
  EXPECT_NE(env.fake.last_jwt_error().find("'iat'"), std::string::npos);

  app_clock.Advance(-minutes(2));
  auto wrong_key = source("12345", OtherTestKey().pkcs1_pem).Token(1);
  ASSERT_FALSE(wrong_key);
  EXPECT_NE(env.fake.last_jwt_error().find("signature"), std::string::npos);
  auto wrong_app = source("999", key.pkcs1_pem).Token(1);
  ASSERT_FALSE(wrong_app);
  EXPECT_NE(env.fake.last_jwt_error().find("iss"), std::string::npos);

  auto good = source("12345", key.pkcs8_pem).Token(1);
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(env.fake.tokens_issued(), 1);
}

TEST(GithubToken, ErrorsNeverCarrySecrets) {
  GithubEnv env;
  std::string token = *env.tokens.Token(1);
  env.fake.PushFault(FakeFault::kServerError, 10);
  auto res = env.client.CreateComment(1, env.repo, 1, "x");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message().find(token), std::string::npos);
  EXPECT_EQ(res.error().message().find("ghs_"), std::string::npos);

  TempDir dir;
  auto missing = StaticTokenSource::FromFile(dir / "nope");
  ASSERT_FALSE(missing);
  auto two_lines = StaticTokenSource::FromFile(dir.Write("t", "ghp_secret1\nghp_secret2\n"));
  ASSERT_FALSE(two_lines);
  EXPECT_EQ(two_lines.error().message().find("ghp_secret"), std::string::npos);
}

TEST(GithubToken, TokenModeSendsTheFileToken) {
  FakeGithub::Options o = DefaultFakeOptions();
  o.static_token = "github_pat_11ABCDEF_xyz";
  GithubEnv env(o);
  TempDir dir;
  Settings s;
  s.api_url = env.fake.url();
  s.token_file = dir.Write("token", "  github_pat_11ABCDEF_xyz\n");
  auto source = MakeTokenSource(s, env.transport, env.clock);
  ASSERT_TRUE(source) << source.error().message();
  Client client(env.MakeOptions(1), env.transport, **source, env.clock);
  ASSERT_TRUE(client.AddLabels(0, env.repo, 3, {"status:queued"}));
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 3), std::vector<std::string>{"status:queued"});
  EXPECT_EQ(env.fake.tokens_issued(), 0);
}

TEST(GithubToken, AppModeFromSettingsUsesClientIdAsIssuer) {
  FakeGithub::Options o = DefaultFakeOptions();
  o.app_issuer = "Iv1.b507a08c87ecfe98";
  GithubEnv env(o);
  TempDir dir;
  Settings s;
  s.api_url = env.fake.url() + "/";
  s.app_id = "12345";
  s.client_id = "Iv1.b507a08c87ecfe98";
  s.private_key_file = dir.Write("app.pem", labelrun::testing::AppTestKey().pkcs1_pem);
  auto source = MakeTokenSource(s, env.transport, env.clock);
  ASSERT_TRUE(source) << source.error().message();
  auto token = (*source)->Token(9);
  ASSERT_TRUE(token) << token.error().message();
  EXPECT_EQ(env.fake.tokens_issued(), 1);
}

TEST(GithubToken, SettingsBecomeTransportAndClientOptions) {
  Settings s;
  s.api_url = "https://ghe.example.com/api/v3";
  s.ca_file = "/etc/ssl/ghe.pem";
  s.connect_timeout = std::chrono::seconds(3);
  s.request_timeout = std::chrono::seconds(20);
  s.max_attempts = 2;
  CurlOptions curl = CurlOptionsFrom(s);
  EXPECT_EQ(curl.connect_timeout, std::chrono::seconds(3));
  EXPECT_EQ(curl.total_timeout, std::chrono::seconds(20));
  EXPECT_EQ(curl.ca_file, "/etc/ssl/ghe.pem");
  EXPECT_EQ(curl.user_agent, UserAgent());
  ClientOptions client = ClientOptionsFrom(s);
  EXPECT_EQ(client.api_url, "https://ghe.example.com/api/v3");
  EXPECT_EQ(client.max_attempts, 2);
}

TEST(GithubToken, SettingsValidationNamesTheKey) {
  Settings none;
  EXPECT_FALSE(Validate(none));
  Settings both;
  both.app_id = "1";
  both.private_key_file = "k.pem";
  both.token_file = "t";
  ASSERT_FALSE(Validate(both));
  EXPECT_NE(Validate(both).error().message().find("github.token_file"), std::string::npos);
  Settings no_key;
  no_key.app_id = "1";
  ASSERT_FALSE(Validate(no_key));
  EXPECT_NE(Validate(no_key).error().message().find("private_key_file"), std::string::npos);
  Settings ghes;
  ghes.api_url = "https://ghe.example.com/api/v3";
  ghes.token_file = "t";
  EXPECT_TRUE(Validate(ghes));
  ghes.api_url = "ghe.example.com";
  EXPECT_FALSE(Validate(ghes));
}

}  // namespace
}  // namespace labelrun::github
