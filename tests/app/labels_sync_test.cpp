// `labelrun labels sync` against the loopback GitHub: plan, apply, idempotence.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "labelrun/core/clock.hpp"
#include "labelrun/github/http.hpp"
#include "support/fake_github.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;

class LabelsSyncTest : public ::testing::Test {
 protected:
  LabelsSyncTest() : github_(Options(), SystemClock::Instance()) {
    dir_.Write("token", "ghp_sync_test_token\n");
    config_ = dir_.Write("config.yaml", "state_dir: " + (dir_ / "state").string() +
                                            "\nlabels_file: " + LABELRUN_SOURCE_DIR +
                                            "/LABELS.md\ngithub:\n  api_url: " + github_.url() +
                                            "\n  token_file: " + (dir_ / "token").string() + "\n");
  }
  static FakeGithub::Options Options() {
    FakeGithub::Options o;
    o.static_token = "ghp_sync_test_token";
    return o;
  }
  int Sync(std::vector<std::string> extra, std::string* out) {
    std::vector<std::string> argv = {LABELRUN_BINARY,  "labels", "sync",       "--config",
                                     config_.string(), "--repo", "acme/vision"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, out);
  }
  std::vector<std::string> Names() {
    std::vector<std::string> names;
    for (const FakeLabel& l : github_.RepoLabels("acme/vision")) names.push_back(l.name);
    return names;
  }

  TempDir dir_;
  FakeGithub github_;
  std::filesystem::path config_;
};

TEST_F(LabelsSyncTest, DryRunPlansApplyMatchesSecondRunChangesNothing) {
  github_.AddRepoLabel("acme/vision", {"bug", "d73a4a", "Something isn't working"});
  github_.AddRepoLabel("acme/vision", {"gpu-required", "ffffff", ""});
  github_.AddRepoLabel("acme/vision", {"task:training", "000000", "old"});
  github_.AddRepoLabel("acme/vision", {"task:retired", "000000", ""});

  std::string out;
  ASSERT_EQ(Sync({"--dry-run"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("rename gpu-required -> gpu:required"));
  EXPECT_THAT(out, HasSubstr("update task:training"));
  EXPECT_THAT(out, HasSubstr("dry run: nothing changed"));
  EXPECT_EQ(Names().size(), 4u);

  ASSERT_EQ(Sync({"--prune"}, &out), 0) << out;
  std::vector<std::string> names = Names();
  EXPECT_THAT(names, ::testing::Contains("gpu:required"));
  EXPECT_THAT(names, ::testing::Contains("status:blocked"));
  EXPECT_THAT(names, ::testing::Contains("bug"));  // not a LABELS.md category: kept
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("gpu-required")));
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("task:retired")));
  EXPECT_EQ(names.size(), 18u);  // the 17 of LABELS.md, and bug
  for (const FakeLabel& l : github_.RepoLabels("acme/vision")) {
    EXPECT_LE(l.description.size(), 100u) << l.name;
  }

  size_t requests = github_.Requests().size();
  ASSERT_EQ(Sync({"--prune"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("labels already match LABELS.md"));
  size_t writes = 0;
  std::vector<FakeRequest> all = github_.Requests();
  for (size_t i = requests; i < all.size(); ++i) writes += all[i].method != "GET";
  EXPECT_EQ(writes, 0u);
}

TEST_F(LabelsSyncTest, UnusableArgumentsExitTwo) {
  std::string out;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "labels", "sync", "--config", config_.string(), "--repo",
                        "no-slash"},
                       &out),
            2);
  EXPECT_THAT(out, HasSubstr("expected OWNER/NAME"));
  auto bare = dir_.Write("bare.yaml", "state_dir: " + (dir_ / "s").string() + "\n");
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "labels", "sync", "--config", bare.string(), "--repo",
                        "acme/vision"},
                       &out),
            2);
  EXPECT_THAT(out, HasSubstr("needs a github section"));
}

TEST_F(LabelsSyncTest, MisspeltTwinIsRenamedAndStaysOnItsIssues) {
  github_.AddRepoLabel("acme/vision", {"task:trainig", "1d76db", "typo"});
  github_.AddIssueLabel("acme/vision", 7, "task:trainig");
  github_.AddIssueLabel("acme/vision", 9, "task:trainig");

  std::string out;
  ASSERT_EQ(Sync({"--prune"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("rename task:trainig -> task:training"));
  EXPECT_THAT(Names(), ::testing::Contains("task:training"));
  EXPECT_THAT(Names(), ::testing::Not(::testing::Contains("task:trainig")));
  EXPECT_EQ(github_.IssueLabels("acme/vision", 7), std::vector<std::string>{"task:training"});
  EXPECT_EQ(github_.IssueLabels("acme/vision", 9), std::vector<std::string>{"task:training"});
  bool patched = false;
  for (const FakeRequest& r : github_.Requests()) {
    EXPECT_NE(r.method, "DELETE") << r.target;
    bool create = r.method == "POST" && r.body.find("\"task:training\"") != std::string::npos;
    EXPECT_FALSE(create) << "recreated instead of renamed: " << r.body;
    if (r.method == "PATCH" && (r.target == "/repos/acme/vision/labels/task%3Atrainig" ||
                                r.target == "/repos/acme/vision/labels/task:trainig")) {
      patched = true;
      EXPECT_THAT(r.body, HasSubstr("\"new_name\":\"task:training\""));
    }
  }
  EXPECT_TRUE(patched);
}

TEST_F(LabelsSyncTest, TwinBesideItsRealLabelIsReportedNotDeleted) {
  github_.AddRepoLabel("acme/vision", {"task:training", "1d76db", "x"});
  github_.AddRepoLabel("acme/vision", {"task:trainig", "1d76db", "typo"});
  github_.AddIssueLabel("acme/vision", 7, "task:trainig");

  std::string out;
  ASSERT_EQ(Sync({"--prune"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("keep   task:trainig: looks like a misspelling of `task:training`"));
  EXPECT_THAT(Names(), ::testing::Contains("task:trainig"));
  EXPECT_EQ(github_.IssueLabels("acme/vision", 7), std::vector<std::string>{"task:trainig"});
  for (const FakeRequest& r : github_.Requests()) {
    EXPECT_FALSE(r.target.find("trainig") != std::string::npos && r.method != "GET")
        << r.method << " " << r.target;
  }
}

TEST_F(LabelsSyncTest, FakeRenameRefusesATakenName) {
  // GitHub answers 422 already_exists when new_name is taken (case-insensitively).
  github_.AddRepoLabel("acme/vision", {"task:training", "1d76db", ""});
  github_.AddRepoLabel("acme/vision", {"task:trainig", "1d76db", ""});
  github::CurlTransport transport({});
  github::HttpRequest req;
  req.method = "PATCH";
  req.url = github_.url() + "/repos/acme/vision/labels/task:trainig";
  req.headers = {"User-Agent: t", "Authorization: token ghp_sync_test_token"};
  req.body = R"({"new_name":"Task:Training"})";
  Result<github::HttpResponse> res = transport.Send(req);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->status, 422);
  EXPECT_THAT(res->body, HasSubstr("already_exists"));
  EXPECT_THAT(Names(), ::testing::Contains("task:trainig"));
}

}  // namespace
}  // namespace labelrun::testing
