#include "labelrun/github/permission_cache.hpp"

#include <gtest/gtest.h>

#include "github/github_env.hpp"

namespace labelrun::github {
namespace {

using testing::GithubEnv;

size_t PermissionRequests(const GithubEnv& env) {
  size_t n = 0;
  for (const auto& r : env.fake.Requests()) n += r.target.find("/permission") != std::string::npos;
  return n;
}

TEST(GithubPermissionCache, RepeatsAreServedUntilTheTtlEnds) {
  GithubEnv env;
  env.fake.SetPermission("acme/vision", "Octocat", "maintain");
  PermissionCache cache(env.client, env.clock, std::chrono::minutes(5));
  auto first = cache.Get(1, env.repo, "Octocat");
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->level, Permission::kMaintain);
  EXPECT_EQ(first->role_name, "maintain");
  EXPECT_TRUE(cache.Get(1, env.repo, "octocat"));  // logins ignore case
  EXPECT_EQ(PermissionRequests(env), 1u);

  env.fake.SetPermission("acme/vision", "Octocat", "read");
  env.clock.Advance(std::chrono::minutes(4));
  EXPECT_EQ(cache.Get(1, env.repo, "Octocat")->level, Permission::kMaintain);
  env.clock.Advance(std::chrono::minutes(2));
  EXPECT_EQ(cache.Get(1, env.repo, "Octocat")->level, Permission::kRead);
  EXPECT_EQ(PermissionRequests(env), 2u);
  cache.Clear();
  EXPECT_TRUE(cache.Get(1, env.repo, "Octocat"));
  EXPECT_EQ(PermissionRequests(env), 3u);
}

TEST(GithubPermissionCache, ErrorsAreNotCached) {
  GithubEnv env;
  PermissionCache cache(env.client, env.clock);
  env.fake.PushFault(testing::FakeFault::kServerError, 4);
  auto down = cache.Get(1, env.repo, "someone");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable);
  auto up = cache.Get(1, env.repo, "someone");
  ASSERT_TRUE(up) << up.error().message();
  EXPECT_EQ(up->level, Permission::kNone);
}

}  // namespace
}  // namespace labelrun::github
