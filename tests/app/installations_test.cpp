// labelrun learns the App's installations from `installation` and
// `installation_repositories` deliveries (the real @octokit/webhooks-examples
// payloads), keeps them in its database, forgets deleted and suspended ones, and
// asks GitHub (GET /repos/{owner}/{repo}/installation) when it knows none.
// `labelrun labels sync` is the reader.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "labelrun/core/clock.hpp"
#include "support/fake_github.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

json Example(const std::string& event, const std::string& action, int64_t installation = 0) {
  for (const ExamplePayload& e : LoadWebhookExamples()) {
    if (e.event != event || e.action != action) continue;
    json payload = json::parse(e.json);
    // The examples of one scenario come from different installations; the
    // tests follow one installation through its life.
    if (installation != 0) payload["installation"]["id"] = installation;
    return payload;
  }
  ADD_FAILURE() << "no example " << event << "." << action;
  return json::object();
}

int TokenRequestsFor(const FakeGithub& github, int64_t installation) {
  int n = 0;
  const std::string path = "/app/installations/" + std::to_string(installation) + "/access_tokens";
  for (const FakeRequest& r : github.Requests()) n += r.target == path;
  return n;
}

class InstallationsTest : public ::testing::Test {
 protected:
  InstallationsTest() : github_(GithubOptions(), SystemClock::Instance()) {
    key_ = dir_.Write("app.pem", AppTestKey().pkcs1_pem);
    std::filesystem::permissions(
        key_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  static FakeGithub::Options GithubOptions() {
    FakeGithub::Options o;
    o.app_issuer = "12345";
    o.public_key_pem = AppTestKey().public_pem;
    return o;
  }
  LabelrunProcess::Options ServerOptions() {
    LabelrunProcess::Options o;
    o.extra_yaml = "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
                   "/LABELS.md\n"
                   "github:\n  api_url: " +
                   github_.url() + "\n  app_id: \"12345\"\n  private_key_file: " + key_.string() +
                   "\n";
    return o;
  }
  int Sync(LabelrunProcess& server, const std::string& repo, std::string* out) {
    return RunCommand({LABELRUN_BINARY, "labels", "sync", "--config", server.config_path().string(),
                       "--repo", repo, "--dry-run"},
                      out);
  }
  void DeliverAndWait(LabelrunProcess& server, const std::string& event, const std::string& guid,
                      const json& payload) {
    ASSERT_EQ(server.Deliver(event, guid, payload.dump()).status, 202) << server.Log();
    ASSERT_TRUE(WaitUntil([&] { return server.CountInLog("processed delivery " + guid) > 0; }, 30s))
        << server.Log();
  }

  TempDir dir_;
  FakeGithub github_;
  std::filesystem::path key_;
};

TEST_F(InstallationsTest, CreatedRepositoriesAddedRemovedDeletedAcrossARestart) {
  LabelrunProcess server(dir_, ServerOptions());
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  DeliverAndWait(server, "installation", "inst-created", Example("installation", "created"));
  EXPECT_THAT(server.Log(), HasSubstr("installation=957387 account=Codertocat"));

  std::string out;
  ASSERT_EQ(Sync(server, "Codertocat/Hello-World", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("dry run"));
  EXPECT_EQ(TokenRequestsFor(github_, 957387), 1);

  DeliverAndWait(server, "installation_repositories", "repos-added",
                 Example("installation_repositories", "added"));
  ASSERT_EQ(Sync(server, "Codertocat/Space", &out), 0) << out;
  EXPECT_EQ(TokenRequestsFor(github_, 957387), 2);

  // What labelrun learnt is in its database: a restart keeps it.
  server.process().Signal(SIGTERM);
  ASSERT_TRUE(server.process().Wait(30s).has_value());
  server.Restart();
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(Sync(server, "Codertocat/Space", &out), 0) << out;

  DeliverAndWait(server, "installation_repositories", "repos-removed",
                 Example("installation_repositories", "removed", 957387));
  // Nothing known any more, and GitHub says the App is not installed there.
  EXPECT_EQ(Sync(server, "octocat/Hello-World", &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("no installation known for octocat/Hello-World"));
  EXPECT_THAT(out, HasSubstr("not installed"));

  DeliverAndWait(server, "installation", "inst-deleted",
                 Example("installation", "deleted", 957387));
  EXPECT_EQ(Sync(server, "Codertocat/Space", &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("no installation known for Codertocat/Space"));
  EXPECT_EQ(Sync(server, "Codertocat/Hello-World", &out), 2) << out;
}

TEST_F(InstallationsTest, SuspendForgetsAndUnsuspendComesBackThroughGitHub) {
  LabelrunProcess server(dir_, ServerOptions());
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  json created = Example("installation", "created", 16598467);
  DeliverAndWait(server, "installation", "created", created);
  std::string out;
  ASSERT_EQ(Sync(server, "Codertocat/Hello-World", &out), 0) << out;

  DeliverAndWait(server, "installation", "suspended", Example("installation", "suspend"));
  // Forgotten: GitHub is asked, and (the App being suspended there) says 404.
  EXPECT_EQ(Sync(server, "Codertocat/Hello-World", &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("no installation known for Codertocat/Hello-World"));
  auto asks = [&](long status) {
    int n = 0;
    for (const FakeRequest& r : github_.Requests()) {
      if (r.target != "/repos/Codertocat/Hello-World/installation") continue;
      EXPECT_EQ(r.auth_scheme, "Bearer");
      n += r.status == status;
    }
    return n;
  };
  EXPECT_EQ(asks(404), 1);

  // The unsuspend payload lists no repositories: GitHub is asked, with the App's JWT.
  DeliverAndWait(server, "installation", "unsuspended", Example("installation", "unsuspend"));
  github_.SetRepoInstallation("Codertocat/Hello-World", 16598467);
  ASSERT_EQ(Sync(server, "Codertocat/Hello-World", &out), 0) << out;
  EXPECT_EQ(asks(200), 1);
  EXPECT_EQ(TokenRequestsFor(github_, 16598467), 2);
  // The answer is recorded: the next run does not ask again.
  ASSERT_EQ(Sync(server, "Codertocat/Hello-World", &out), 0) << out;
  EXPECT_EQ(asks(200), 1);
  EXPECT_EQ(asks(404), 1);
}

TEST_F(InstallationsTest, WithoutADatabaseGitHubIsAsked) {
  github_.SetRepoInstallation("acme/vision", 4242);
  LabelrunProcess::Options o = ServerOptions();
  std::filesystem::path config = dir_.Write(
      "sync.yaml", "state_dir: " + (dir_ / "never-served").string() + "\n" + o.extra_yaml);
  std::string out;
  ASSERT_EQ(RunCommand({LABELRUN_BINARY, "labels", "sync", "--config", config.string(), "--repo",
                        "acme/vision", "--dry-run"},
                       &out),
            0)
      << out;
  EXPECT_EQ(TokenRequestsFor(github_, 4242), 1);
}

TEST_F(InstallationsTest, LabelsSyncWaitsOutARateLimitOnTheTokenEndpoint) {
  // One secondary rate limit on POST /app/installations/77/access_tokens, with
  // retry-after: 1. labels sync waits it out instead of exiting 1 at once.
  github_.PushTokenFault(FakeFault::kSecondaryRetryAfter, 1, 1);
  std::filesystem::path config =
      dir_.Write("sync.yaml", "state_dir: " + (dir_ / "never-served").string() + "\n" +
                                  ServerOptions().extra_yaml);
  std::string out;
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(RunCommand({LABELRUN_BINARY, "labels", "sync", "--config", config.string(), "--repo",
                        "acme/vision", "--installation", "77", "--dry-run"},
                       &out),
            0)
      << out;
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(TokenRequestsFor(github_, 77), 2);

  // A refusal is not retried, and says which installation.
  github_.Uninstall(78);
  auto refused = std::chrono::steady_clock::now();
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "labels", "sync", "--config", config.string(), "--repo",
                        "acme/vision", "--installation", "78", "--dry-run"},
                       &out),
            1);
  EXPECT_THAT(out, HasSubstr("installation 78"));
  EXPECT_THAT(out, HasSubstr("HTTP 404"));
  EXPECT_LT(std::chrono::steady_clock::now() - refused, 5s);
  EXPECT_EQ(TokenRequestsFor(github_, 78), 1);
}

}  // namespace
}  // namespace labelrun::testing
