// A decided job whose commit GitHub cannot give, through the real binary, the
// real Docker daemon and the loopback GitHub: a permanent answer (404, 403, 422)
// fails it at once with one comment and status:failed; a passing one (500) is
// retried with backoff while deliveries for other issues go on, the deliveries
// of its own issue wait in order, and a kill -9 mid-retry still ends in exactly
// one job.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "labelrun/store/sqlite.hpp"
#include "support/docker_env.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kToken[] = "ghp_labelrun_dispatch_retry_token";
constexpr char kApiToken[] = "dispatch-retry-api-token";
constexpr char kSha[] = "0123456789abcdef0123456789abcdef01234567";

// An `issues` delivery on `repo`#`issue` whose labels are now `labels`.
std::string IssuesDelivery(const std::string& repo, int64_t issue, const std::string& action,
                           const std::vector<std::string>& labels) {
  json issue_labels = json::array();
  for (const std::string& l : labels) issue_labels.push_back({{"name", l}});
  json payload = {{"action", action},
                  {"label", {{"name", "task:training"}}},
                  {"issue",
                   {{"number", issue},
                    {"state", "open"},
                    {"title", "t"},
                    {"body", nullptr},
                    {"labels", issue_labels}}},
                  {"repository", {{"id", 1}, {"full_name", repo}}},
                  {"sender", {{"login", "bob"}, {"type", "User"}}},
                  {"installation", {{"id", 5}}}};
  return payload.dump();
}

int64_t Query(const std::filesystem::path& db, const std::string& sql) {
  Result<store::Database> d = store::Database::Open(db);
  if (!d) return -1;
  Result<store::Statement> st = d->Prepare(sql);
  if (!st) return -1;
  Result<bool> row = st->Step();
  return row && *row ? st->ColumnInt(0) : -1;
}

class DispatchRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rt = ConnectTestDocker();
    ASSERT_TRUE(rt) << rt.error().message();
    ASSERT_EQ(EnsureTestImage(**rt), "");
    docker_ = std::move(*rt);
    FakeGithub::Options options;
    options.static_token = kToken;
    github_ = std::make_unique<FakeGithub>(options, SystemClock::Instance());
    dir_.Write("github-token", std::string(kToken) + "\n");
    dir_.Write("api-token", std::string(kApiToken) + "\n");
    // The code the jobs run: one file under the single top folder GitHub's
    // tarballs have.
    std::filesystem::create_directories(dir_.path() / "code" / "acme-x-0123456");
    std::ofstream(dir_.path() / "code" / "acme-x-0123456" / "hello.txt") << "hello from git\n";
    std::string out;
    ASSERT_EQ(RunCommand({"/bin/tar", "-czf", (dir_.path() / "code.tar.gz").string(), "-C",
                          (dir_.path() / "code").string(), "acme-x-0123456"},
                         &out),
              0)
        << out;
    std::ifstream in(dir_.path() / "code.tar.gz", std::ios::binary);
    tarball_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  void TearDown() override {
    std::ifstream in(dir_.path() / "state" / "instance-id");
    std::string instance;
    if (docker_ && std::getline(in, instance)) {
      if (auto left = docker_->List({{"labelrun.instance", instance}})) {
        for (const auto& c : *left) (void)docker_->Remove(c.id);
      }
    }
  }

  // A repository GitHub serves fully: default branch main at kSha, its tarball.
  void Publish(const std::string& repo) {
    github_->SetPermission(repo, "bob", "write");
    github_->SetRepository(repo, "main");
    github_->SetBranch(repo, "main", kSha);
    github_->SetTarball(repo, kSha, tarball_);
  }

  void Start(const std::string& command = "cat hello.txt") {
    LabelrunProcess::Options options;
    options.extra_yaml = "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
                         "/LABELS.md\n"
                         "rules:\n"
                         "  - name: train\n"
                         "    when: {all: [task:training]}\n"
                         "    job: {image: \"" +
                         std::string(kTestImage) + "\", command: [sh, -c, \"" + command +
                         "\"]}\n"
                         "github:\n  api_url: " +
                         github_->url() + "\n  token_file: " + (dir_ / "github-token").string() +
                         "\napi: {token_file: " + (dir_ / "api-token").string() + "}\n";
    server_ = std::make_unique<LabelrunProcess>(dir_, options);
    ASSERT_TRUE(server_->WaitReady()) << server_->Log();
  }

  int Deliver(const std::string& guid, const std::string& repo, int64_t issue,
              const std::string& action = "labeled",
              const std::vector<std::string>& labels = {"task:training"}) {
    return server_->Deliver("issues", guid, IssuesDelivery(repo, issue, action, labels)).status;
  }

  json Jobs() {
    HttpResponse r = HttpRequest("GET", server_->Url("/api/jobs"),
                                 {std::string("Authorization: Bearer ") + kApiToken}, "");
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("jobs", json::array()) : json::array();
  }

  // The requests for `path`, or for any path under it when it ends in '/'.
  std::vector<FakeRequest> RequestsTo(const std::string& path) const {
    std::vector<FakeRequest> out;
    for (const FakeRequest& r : github_->Requests()) {
      if (r.target == path || (path.ends_with('/') && r.target.starts_with(path))) {
        out.push_back(r);
      }
    }
    return out;
  }

  bool HasLabel(const std::string& repo, int64_t issue, const std::string& label) const {
    auto labels = github_->IssueLabels(repo, issue);
    return std::count(labels.begin(), labels.end(), label) == 1;
  }

  std::string LastComment(const std::string& repo, int64_t issue) const {
    auto c = github_->Comments(repo, issue);
    return c.empty() ? "" : c.back().body;
  }

  TempDir dir_;
  std::string tarball_;
  std::unique_ptr<runtime::DockerRuntime> docker_;
  std::unique_ptr<FakeGithub> github_;
  std::unique_ptr<LabelrunProcess> server_;
};

TEST_F(DispatchRetryTest, APermanentAnswerFailsAtOnceWithOneCommentAndStatusFailed) {
  // 404 for the repository; 404 for its branch; 403 (not a rate limit) for the
  // repository; 422 for the branch.
  github_->SetPermission("acme/gone", "bob", "write");
  github_->SetPermission("acme/lost", "bob", "write");
  github_->SetRepository("acme/lost", "main");
  Publish("acme/locked");
  github_->PushPathFault("/repos/acme/locked", FakeFault::kForbidden, 1);  // not the permission
  Publish("acme/odd");
  github_->PushPathFault("/repos/acme/odd/git/ref/", FakeFault::kUnprocessable, 1);
  Start();
  ASSERT_EQ(Deliver("perm-1", "acme/gone", 3), 202);
  ASSERT_EQ(Deliver("perm-2", "acme/lost", 4), 202);
  ASSERT_EQ(Deliver("perm-3", "acme/locked", 5), 202);
  ASSERT_EQ(Deliver("perm-4", "acme/odd", 6), 202);

  const std::vector<std::tuple<std::string, int64_t, std::string, std::string>> cases = {
      {"acme/gone", 3, "GET /repos/acme/gone: HTTP 404", "/repos/acme/gone"},
      {"acme/lost", 4, "GET /repos/acme/lost/git/ref/heads/main: HTTP 404",
       "/repos/acme/lost/git/ref/"},
      {"acme/locked", 5, "GET /repos/acme/locked: HTTP 403", "/repos/acme/locked"},
      {"acme/odd", 6, "GET /repos/acme/odd/git/ref/heads/main: HTTP 422",
       "/repos/acme/odd/git/ref/"}};
  for (const auto& [repo, issue, answer, path] : cases) {
    ASSERT_TRUE(WaitUntil(
        [&] { return !LastComment(repo, issue).empty() && HasLabel(repo, issue, "status:failed"); },
        30s))
        << repo << "\n"
        << server_->Log();
  }
  std::this_thread::sleep_for(2s);  // time enough for a wrong retry or second comment to show
  for (const auto& [repo, issue, answer, path] : cases) {
    SCOPED_TRACE(repo);
    ASSERT_EQ(github_->Comments(repo, issue).size(), 1u);
    const std::string body = LastComment(repo, issue);
    EXPECT_THAT(body, HasSubstr("**Failed**"));
    EXPECT_THAT(body, HasSubstr("`" + repo + "`"));
    EXPECT_THAT(body, HasSubstr("rule `train`"));
    EXPECT_THAT(body, HasSubstr(answer));
    EXPECT_THAT(body, HasSubstr("No job was started"));
    EXPECT_EQ(RequestsTo(path).size(), 1u) << "a permanent answer is not asked again";
  }
  EXPECT_THAT(LastComment("acme/gone", 3), HasSubstr("not installed"));
  EXPECT_THAT(LastComment("acme/locked", 5), HasSubstr("Contents (read)"));
  EXPECT_EQ(Jobs().size(), 0u);
  EXPECT_EQ(Query(server_->db_path(), "SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(Query(server_->db_path(),
                  "SELECT count(*) FROM inbox WHERE state = 'failed' AND attempts = 1 AND "
                  "error LIKE '%cannot resolve the commit of acme/%'"),
            4);
}

TEST_F(DispatchRetryTest, AServerErrorIsRetriedWithBackoffWhileOtherIssuesGoOn) {
  Publish("acme/flaky");
  Publish("acme/calm");
  github_->PushPathFault("/repos/acme/flaky/git/ref/", FakeFault::kServerError, 3);
  Start();
  ASSERT_EQ(Deliver("flaky-1", "acme/flaky", 1), 202);
  ASSERT_TRUE(WaitUntil([&] { return RequestsTo("/repos/acme/flaky/git/ref/").size() == 1; }, 30s))
      << server_->Log();
  // A delivery for another issue, received while the first waits for its retry,
  // gets its Queued comment at once.
  const int64_t acked = SystemClock::Instance().NowUnixMillis();
  ASSERT_EQ(Deliver("calm-1", "acme/calm", 2), 202);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return LastComment("acme/calm", 2).find("Queued") != std::string::npos ||
               LastComment("acme/calm", 2).find("Running") != std::string::npos;
      },
      30s))
      << server_->Log();
  const int64_t commented = SystemClock::Instance().NowUnixMillis();
  const size_t flaky_asks = RequestsTo("/repos/acme/flaky/git/ref/").size();
  EXPECT_LT(flaky_asks, 4u) << "the other issue waited for the retries";
  EXPECT_TRUE(github_->Comments("acme/flaky", 1).empty());
  std::cout << "[ figures  ] other issue: 202 -> first comment " << commented - acked
            << " ms, while the first had been asked " << flaky_asks << " time(s)\n";

  // The first succeeds on its fourth ask, after waits of about 1, 2 and 4 s, and
  // its job runs the resolved commit.
  ASSERT_TRUE(WaitUntil(
      [&] { return LastComment("acme/flaky", 1).find("Succeeded") != std::string::npos; }, 90s))
      << server_->Log();
  const std::vector<FakeRequest> asks = RequestsTo("/repos/acme/flaky/git/ref/");
  ASSERT_EQ(asks.size(), 4u);
  std::vector<long> statuses;
  for (const FakeRequest& r : asks) statuses.push_back(r.status);
  EXPECT_EQ(statuses, (std::vector<long>{500, 500, 500, 200}));
  const std::vector<int64_t> min_gap = {900, 1900, 3900};
  std::string gaps;
  for (size_t i = 1; i < asks.size(); ++i) {
    const int64_t gap = asks[i].at_unix_ms - asks[i - 1].at_unix_ms;
    gaps += std::to_string(gap) + " ms ";
    EXPECT_GE(gap, min_gap[i - 1]) << "retry " << i;
    EXPECT_LT(gap, min_gap[i - 1] + 5000) << "retry " << i;
  }
  std::cout << "[ figures  ] waits between the asks: " << gaps << "\n";
  json jobs = Jobs();
  int on_flaky = 0;
  for (const json& j : jobs) {
    if (j.value("repository", "") == "acme/flaky") {
      ++on_flaky;
      EXPECT_EQ(j.value("commit", ""), kSha);
    }
  }
  EXPECT_EQ(on_flaky, 1);
  EXPECT_EQ(github_->Comments("acme/flaky", 1).size(), 1u);
  EXPECT_FALSE(HasLabel("acme/flaky", 1, "status:failed"));
}

TEST_F(DispatchRetryTest, DeliveriesForOneIssueStayInOrderWhileTheFirstRetries) {
  Publish("acme/flaky");
  github_->PushPathFault("/repos/acme/flaky/git/ref/", FakeFault::kServerError, 2);
  Start("cat hello.txt; sleep 60");
  ASSERT_EQ(Deliver("order-1", "acme/flaky", 1), 202);
  ASSERT_TRUE(WaitUntil([&] { return RequestsTo("/repos/acme/flaky/git/ref/").size() == 1; }, 30s))
      << server_->Log();
  // The trigger label goes again while the job that the first delivery decided
  // is not stored yet: handled first, this cancel would find nothing, and the
  // job would then run for its whole minute.
  ASSERT_EQ(Deliver("order-2", "acme/flaky", 1, "unlabeled", {}), 202);
  ASSERT_TRUE(WaitUntil(
      [&] {
        json jobs = Jobs();
        return jobs.size() == 1 && jobs[0].value("state", "") == "cancelled";
      },
      60s))
      << Jobs().dump() << "\n"
      << server_->Log();
  const std::string log = server_->Log();
  const size_t queued = log.find("delivery order-1: job ");
  const size_t cancel = log.find("processed delivery order-2");
  ASSERT_NE(queued, std::string::npos) << log;
  ASSERT_NE(cancel, std::string::npos) << log;
  EXPECT_LT(queued, cancel) << log;
  EXPECT_EQ(RequestsTo("/repos/acme/flaky/git/ref/").size(), 3u);
  EXPECT_EQ(Jobs()[0].value("cancelled_by", ""), "@bob") << Jobs().dump();
}

TEST_F(DispatchRetryTest, AKillDuringTheRetriesStillRunsExactlyOneJob) {
  Publish("acme/flaky");
  github_->PushPathFault("/repos/acme/flaky/git/ref/", FakeFault::kServerError, 3);
  Start();
  ASSERT_EQ(Deliver("kill-1", "acme/flaky", 1), 202);
  ASSERT_TRUE(WaitUntil([&] { return RequestsTo("/repos/acme/flaky/git/ref/").size() == 2; }, 30s))
      << server_->Log();
  // Mid-retry: the delivery is pending with its failed attempts stored.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Query(server_->db_path(),
                     "SELECT count(*) FROM inbox WHERE guid = 'kill-1' AND state = 'pending' AND "
                     "attempts = 2") == 1;
      },
      10s));
  server_->process().Signal(SIGKILL);
  ASSERT_TRUE(server_->process().Wait(10s));
  server_->Restart();
  ASSERT_TRUE(server_->WaitReady()) << server_->Log();
  // GitHub redelivers it meanwhile: the same GUID is a no-op (200: already stored).
  ASSERT_EQ(Deliver("kill-1", "acme/flaky", 1), 200);
  ASSERT_TRUE(WaitUntil(
      [&] { return LastComment("acme/flaky", 1).find("Succeeded") != std::string::npos; }, 90s))
      << server_->Log();
  std::this_thread::sleep_for(2s);  // time enough for a second job to show
  EXPECT_EQ(Jobs().size(), 1u) << Jobs().dump();
  EXPECT_EQ(Query(server_->db_path(), "SELECT count(*) FROM jobs WHERE delivery = 'kill-1'"), 1);
  EXPECT_EQ(Query(server_->db_path(),
                  "SELECT count(*) FROM inbox WHERE guid = 'kill-1' AND state = 'done'"),
            1);
  EXPECT_EQ(RequestsTo("/repos/acme/flaky/git/ref/").size(), 4u);
  EXPECT_EQ(github_->Comments("acme/flaky", 1).size(), 1u);
}

}  // namespace
}  // namespace labelrun::testing
