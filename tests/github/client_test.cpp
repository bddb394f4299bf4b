#include "labelrun/github/client.hpp"

#include <gtest/gtest.h>

#include "github/github_env.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::github {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::DefaultFakeOptions;
using testing::FakeFault;
using testing::FakeGithub;
using testing::GithubEnv;

constexpr int64_t kInst = GithubEnv::kInstallation;

TEST(GithubClient, EveryRequestCarriesGithubsHeaders) {
  GithubEnv env;
  ASSERT_TRUE(env.client.CreateComment(kInst, env.repo, 1, "hello"));
  std::vector<testing::FakeRequest> reqs = env.fake.Requests();
  ASSERT_EQ(reqs.size(), 2u);  // the token, then the comment
  for (const auto& r : reqs) {
    EXPECT_EQ(r.accept, "application/vnd.github+json");
    EXPECT_EQ(r.api_version, "2022-11-28");
    EXPECT_EQ(r.user_agent.rfind("labelrun/", 0), 0u) << r.user_agent;
    EXPECT_EQ(r.auth_scheme, "Bearer");
  }
  EXPECT_EQ(reqs[1].target, "/repos/acme/vision/issues/1/comments");
}

TEST(GithubClient, CreatesUpdatesAndFindsTheJobCommentByMarker) {
  GithubEnv env;
  env.fake.AddComment("acme/vision", 7, "a human comment");
  const std::string marker = JobMarker("42");
  EXPECT_EQ(marker, "<!-- labelrun:job=42 -->");
  auto created = env.client.CreateComment(kInst, env.repo, 7, marker + "\nqueued (position 1)");
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_GT(created->id, 0);
  EXPECT_NE(created->html_url.find("#issuecomment-"), std::string::npos);

  auto updated = env.client.UpdateComment(kInst, env.repo, created->id, marker + "\nrunning ✓");
  ASSERT_TRUE(updated) << updated.error().message();
  EXPECT_EQ(env.fake.Comments("acme/vision", 7).back().body, marker + "\nrunning ✓");

  auto found = env.client.FindComment(kInst, env.repo, 7, marker);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, created->id);
  auto none = env.client.FindComment(kInst, env.repo, 7, JobMarker("43"));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(GithubClient, ListFollowsLinkPagination) {
  FakeGithub::Options o = DefaultFakeOptions();
  o.max_page_size = 2;
  GithubEnv env(o);
  for (int i = 0; i < 5; ++i) env.fake.AddComment("acme/vision", 3, "c" + std::to_string(i));
  env.fake.AddComment("acme/vision", 3, JobMarker("last"));
  auto all = env.client.ListComments(kInst, env.repo, 3);
  ASSERT_TRUE(all) << all.error().message();
  ASSERT_EQ(all->size(), 6u);
  EXPECT_EQ((*all)[0].body, "c0");
  EXPECT_EQ((*all)[4].body, "c4");
  auto found = env.client.FindComment(kInst, env.repo, 3, JobMarker("last"));
  ASSERT_TRUE(found && found->has_value());
  // Three pages of two.
  int pages = 0;
  for (const auto& r : env.fake.Requests())
    pages += r.target.find("/comments") != std::string::npos;
  EXPECT_EQ(pages, 6);

  for (int i = 0; i < 5; ++i)
    env.fake.AddRepoLabel("acme/vision", {"l" + std::to_string(i), "ededed", ""});
  auto labels = env.client.ListRepoLabels(kInst, env.repo);
  ASSERT_TRUE(labels);
  EXPECT_EQ(labels->size(), 5u);
}

TEST(GithubClient, LinkHeaderParsing) {
  EXPECT_EQ(NextPageUrl("<https://api.github.com/x?page=2>; rel=\"next\", "
                        "<https://api.github.com/x?page=9>; rel=\"last\""),
            "https://api.github.com/x?page=2");
  EXPECT_EQ(NextPageUrl("<https://api.github.com/x?page=1>; rel=\"prev\", "
                        "<https://api.github.com/x?page=3>; rel=\"next\""),
            "https://api.github.com/x?page=3");
  EXPECT_EQ(NextPageUrl("<https://api.github.com/x?page=1>; rel=\"first\""), "");
  EXPECT_EQ(NextPageUrl(""), "");
  EXPECT_EQ(NextPageUrl("garbage; rel=\"next\""), "");
}

TEST(GithubClient, CommentOverTheLimitIsGithubs422) {
  GithubEnv env;
  std::string body(65536, 'x');
  ASSERT_TRUE(env.client.CreateComment(kInst, env.repo, 1, body));
  // Characters, not bytes: 65,536 two-byte characters still fit.
  std::string wide;
  for (int i = 0; i < 65536; ++i) wide += "é";
  ASSERT_TRUE(env.client.CreateComment(kInst, env.repo, 1, wide));
  auto res = env.client.CreateComment(kInst, env.repo, 1, body + "y");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(res.error().message().find("HTTP 422"), std::string::npos);
  EXPECT_NE(res.error().message().find("maximum is 65536 characters"), std::string::npos);
  EXPECT_EQ(env.fake.Comments("acme/vision", 1).size(), 2u);
  // Invalid UTF-8 (a log tail cut mid-character) is sent, not thrown.
  EXPECT_TRUE(env.client.CreateComment(kInst, env.repo, 1, "tail \xe2\x96"));
}

TEST(GithubClient, AddsLabelsAndTreatsRemovingAnAbsentLabelAsDone) {
  GithubEnv env;
  auto added = env.client.AddLabels(kInst, env.repo, 4, {"status:queued", "gpu:required"});
  ASSERT_TRUE(added) << added.error().message();
  EXPECT_EQ(*added, (std::vector<std::string>{"status:queued", "gpu:required"}));
  ASSERT_TRUE(env.client.RemoveLabel(kInst, env.repo, 4, "status:queued"));
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 4), std::vector<std::string>{"gpu:required"});
  // Already gone: GitHub says 404, labelrun counts it as removed.
  Status again = env.client.RemoveLabel(kInst, env.repo, 4, "status:queued");
  EXPECT_TRUE(again) << again.error().message();
  Status spaced = env.client.RemoveLabel(kInst, env.repo, 4, "needs triage/ä");
  EXPECT_TRUE(spaced);
  EXPECT_NE(env.fake.Requests().back().target.find("needs%20triage%2F%C3%A4"), std::string::npos);
}

TEST(GithubClient, RepositoryLabelsCreateUpdateDelete) {
  GithubEnv env;
  Label l{"task:training", "0e8a16", std::string(150, 'd')};
  auto created = env.client.CreateRepoLabel(kInst, env.repo, l);
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_EQ(created->description.size(), 100u);  // GitHub's cap
  auto dup = env.client.CreateRepoLabel(kInst, env.repo, l);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  auto updated = env.client.UpdateRepoLabel(kInst, env.repo, "task:training",
                                            {"task:training", "d93f0b", "Train"});
  ASSERT_TRUE(updated) << updated.error().message();
  ASSERT_EQ(env.fake.RepoLabels("acme/vision").size(), 1u);
  EXPECT_EQ(env.fake.RepoLabels("acme/vision")[0].color, "d93f0b");
  EXPECT_EQ(env.fake.RepoLabels("acme/vision")[0].description, "Train");
  auto missing = env.client.UpdateRepoLabel(kInst, env.repo, "nope", {"nope", "000000", ""});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  // A rename keeps the label (and so its issues); the misspelt twin is gone.
  ASSERT_TRUE(env.client.CreateRepoLabel(kInst, env.repo, {"gpu-required", "ededed", ""}));
  auto renamed = env.client.UpdateRepoLabel(kInst, env.repo, "gpu-required",
                                            {"gpu:required", "b60205", "Needs a GPU"});
  ASSERT_TRUE(renamed) << renamed.error().message();
  EXPECT_EQ(renamed->name, "gpu:required");
  ASSERT_EQ(env.fake.RepoLabels("acme/vision").size(), 2u);
  EXPECT_EQ(env.fake.RepoLabels("acme/vision")[1].name, "gpu:required");
  ASSERT_TRUE(env.client.DeleteRepoLabel(kInst, env.repo, "gpu:required"));
  ASSERT_TRUE(env.client.DeleteRepoLabel(kInst, env.repo, "task:training"));
  EXPECT_TRUE(env.fake.RepoLabels("acme/vision").empty());
}

TEST(GithubClient, PermissionMatrixThroughTheApi) {
  GithubEnv env;
  struct Row {
    const char* role;
    Permission level;
    bool may_start;
  };
  for (Row row :
       {Row{"admin", Permission::kAdmin, true}, Row{"maintain", Permission::kMaintain, true},
        Row{"write", Permission::kWrite, true}, Row{"triage", Permission::kTriage, false},
        Row{"read", Permission::kRead, false}, Row{"none", Permission::kNone, false}}) {
    std::string user = std::string("user-") + row.role;
    env.fake.SetPermission("acme/vision", user, row.role);
    auto p = env.client.GetPermission(kInst, env.repo, user);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->level, row.level) << row.role;
    EXPECT_EQ(p->role_name, row.role);
    EXPECT_EQ(Satisfies(p->level, Permission::kWrite), row.may_start) << row.role;
  }
  auto stranger = env.client.GetPermission(kInst, env.repo, "stranger");
  ASSERT_TRUE(stranger);
  EXPECT_EQ(stranger->level, Permission::kNone);
}

TEST(GithubClient, AddsReactions) {
  GithubEnv env;
  int64_t id = env.fake.AddComment("acme/vision", 2, "/labelrun retry");
  ASSERT_TRUE(env.client.AddCommentReaction(kInst, env.repo, id, "eyes"));
  ASSERT_TRUE(env.client.AddCommentReaction(kInst, env.repo, id, "rocket"));
  EXPECT_EQ(env.fake.Reactions(id), (std::vector<std::string>{"eyes", "rocket"}));
  EXPECT_TRUE(env.client.AddIssueReaction(kInst, env.repo, 2, "+1"));
}

TEST(GithubClient, DownloadsTheTarballThroughGithubsRedirect) {
  GithubEnv env;
  labelrun::testing::TempDir dir;
  const std::string sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
  std::string bytes;
  for (int i = 0; i < 300'000; ++i) bytes += static_cast<char>((i * 31) % 256);
  env.fake.SetTarball("acme/vision", sha, bytes);
  auto written = env.client.DownloadTarball(kInst, env.repo, sha, dir / "src.tar.gz");
  ASSERT_TRUE(written) << written.error().message();
  EXPECT_EQ(*written, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(labelrun::testing::ReadFile(dir / "src.tar.gz"), bytes);

  auto too_big = env.client.DownloadTarball(kInst, env.repo, sha, dir / "big.tar.gz", 1000);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_FALSE(std::filesystem::exists(dir / "big.tar.gz"));
  EXPECT_TRUE(env.Waits().empty());  // not retried

  auto missing = env.client.DownloadTarball(kInst, env.repo, "0000000", dir / "none.tar.gz");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir / "none.tar.gz"));
}

TEST(GithubClient, StatusCodesMapToErrorCodes) {
  EXPECT_EQ(ErrorCodeForStatus(401), ErrorCode::kUnauthenticated);
  EXPECT_EQ(ErrorCodeForStatus(403), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ErrorCodeForStatus(404), ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeForStatus(410), ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeForStatus(409), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ErrorCodeForStatus(422), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeForStatus(429), ErrorCode::kResourceExhausted);
  EXPECT_EQ(ErrorCodeForStatus(500), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeForStatus(503), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace labelrun::github
