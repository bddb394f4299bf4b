// Pull requests as triggers, through the real binary, the real Docker daemon and
// the loopback GitHub: a label runs the PR's own head commit (fetched through the
// base repository) and follows it with a check run on that commit; a fork runs
// only where its rule allows forks; new commits cancel the old head's job and take
// the label off (or keep it running where the rule says keep); merging cancels; the
// check run's Cancel and Re-run act for senders with the rule's permission only;
// `/labelrun retry` runs the head GitHub reports then; a triage sender's label starts
// nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

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

constexpr char kToken[] = "ghp_labelrun_pull_request_test_token";
constexpr char kApiToken[] = "pull-request-api-token";
constexpr char kRepo[] = "acme/vision";
constexpr char kMainSha[] = "1111111111111111111111111111111111111111";
constexpr char kHeadSha[] = "2222222222222222222222222222222222222222";
constexpr char kNewHeadSha[] = "3333333333333333333333333333333333333333";
constexpr char kForkSha[] = "4444444444444444444444444444444444444444";

// A `pull_request` delivery for acme/vision#`number`.
std::string PullRequestDelivery(const std::string& action, int64_t number,
                                const std::string& head_sha, const std::string& head_repo,
                                const std::string& sender,
                                const std::vector<std::string>& labels = {"task:training"},
                                const std::string& label = "task:training") {
  json pr_labels = json::array();
  for (const std::string& l : labels) pr_labels.push_back({{"name", l}});
  json payload = {
      {"action", action},
      {"number", number},
      {"pull_request",
       {{"number", number},
        {"state", "open"},
        {"labels", pr_labels},
        {"merged", false},
        {"head", {{"sha", head_sha}, {"ref", "feature"}, {"repo", {{"full_name", head_repo}}}}},
        {"base", {{"ref", "main"}, {"repo", {{"full_name", kRepo}}}}}}},
      {"repository", {{"id", 1}, {"full_name", kRepo}, {"default_branch", "main"}}},
      {"sender", {{"login", sender}, {"type", "User"}}},
      {"installation", {{"id", 5}}}};
  if (action == "labeled" || action == "unlabeled") payload["label"] = {{"name", label}};
  if (action == "synchronize") payload["before"] = kHeadSha, payload["after"] = head_sha;
  return payload.dump();
}

// A `check_run` delivery (Re-run or a requested action) on the check run `run`.
std::string CheckRunDelivery(const FakeCheckRun& run, const std::string& action,
                             const std::string& sender, const std::string& identifier = "") {
  json payload = {{"action", action},
                  {"check_run",
                   {{"id", run.id},
                    {"name", run.name},
                    {"head_sha", run.head_sha},
                    {"external_id", run.external_id},
                    {"status", run.status},
                    {"pull_requests", {{{"number", 7}}}}}},
                  {"repository", {{"id", 1}, {"full_name", kRepo}}},
                  {"sender", {{"login", sender}, {"type", "User"}}},
                  {"installation", {{"id", 5}}}};
  if (!identifier.empty()) payload["requested_action"] = {{"identifier", identifier}};
  return payload.dump();
}

// A gzip tarball with the single top folder GitHub's have, holding `files`.
std::string Tarball(const std::filesystem::path& dir, const std::string& name,
                    const std::vector<std::pair<std::string, std::string>>& files) {
  const std::filesystem::path top = dir / name / "acme-vision-abc1234";
  std::filesystem::create_directories(top);
  for (const auto& [file, text] : files) std::ofstream(top / file) << text;
  const std::filesystem::path out = dir / (name + ".tar.gz");
  std::string log;
  EXPECT_EQ(RunCommand({"/bin/tar", "-czf", out.string(), "-C", (dir / name).string(),
                        "acme-vision-abc1234"},
                       &log),
            0)
      << log;
  std::ifstream in(out, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class PullRequestTest : public ::testing::Test {
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
    github_->SetPermission(kRepo, "bob", "write");
    github_->SetPermission(kRepo, "trudy", "triage");
    github_->SetRepository(kRepo, "main");
    github_->SetBranch(kRepo, "main", kMainSha);
    // The default branch lacks the PR's file; each head has its own.
    github_->SetTarball(kRepo, kMainSha, Tarball(dir_.path(), "main", {{"readme", "main\n"}}));
    github_->SetTarball(kRepo, kHeadSha,
                        Tarball(dir_.path(), "head", {{"pr-only.txt", "from the PR head\n"}}));
    github_->SetTarball(kRepo, kNewHeadSha,
                        Tarball(dir_.path(), "new", {{"pr-only.txt", "from the new head\n"}}));
    // A fork's head, served through the base repository as GitHub does.
    github_->SetTarball(kRepo, kForkSha,
                        Tarball(dir_.path(), "fork", {{"pr-only.txt", "from the fork\n"}}));
  }

  void TearDown() override {
    server_.reset();
    std::ifstream in(dir_.path() / "state" / "instance-id");
    std::string instance;
    if (docker_ && std::getline(in, instance)) {
      if (auto left = docker_->List({{"labelrun.instance", instance}})) {
        for (const auto& c : *left) (void)docker_->Remove(c.id);
      }
    }
  }

  // Rule `train` (task:training, same-repository PRs only) runs `command`; rule
  // `bench` (task:benchmarking) allows forks.
  void Start(const std::string& command, const std::string& train_extra = "") {
    LabelrunProcess::Options options;
    const std::string image = "\"" + std::string(kTestImage) + "\"";
    options.extra_yaml =
        "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
        "/LABELS.md\n"
        "rules:\n"
        "  - name: train\n"
        "    when: {all: [task:training]}\n" +
        train_extra + "    job: {image: " + image + ", command: [sh, -c, \"" + command +
        "\"]}\n"
        "  - name: bench\n"
        "    priority: 5\n"
        "    when: {all: [task:benchmarking]}\n"
        "    allow_forks: true\n"
        "    job: {image: " +
        image +
        ", command: [sh, -c, \"cat pr-only.txt\"]}\n"
        "github:\n  api_url: " +
        github_->url() + "\n  token_file: " + (dir_ / "github-token").string() +
        "\napi: {token_file: " + (dir_ / "api-token").string() +
        "}\nreport: {update_interval: 1s, public_url: \"https://labelrun.example.com\"}\n";
    server_ = std::make_unique<LabelrunProcess>(dir_, options);
    ASSERT_TRUE(server_->WaitReady()) << server_->Log();
  }

  int Deliver(const std::string& event, const std::string& guid, const std::string& body) {
    return server_->Deliver(event, guid, body).status;
  }

  json Jobs() {
    HttpResponse r = HttpRequest("GET", server_->Url("/api/jobs"),
                                 {std::string("Authorization: Bearer ") + kApiToken}, "");
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("jobs", json::array()) : json::array();
  }

  std::vector<FakeCheckRun> Runs() const { return github_->CheckRuns(kRepo); }

  // The first check run whose status (and conclusion, when given) is this.
  std::optional<FakeCheckRun> RunIn(const std::string& status,
                                    const std::string& conclusion = "") const {
    for (const FakeCheckRun& r : Runs()) {
      if (r.status == status && (conclusion.empty() || r.conclusion == conclusion)) return r;
    }
    return std::nullopt;
  }

  // What was sent for check runs, in order: "POST queued", "PATCH in_progress", ...
  std::vector<std::string> CheckRunWrites() const {
    std::vector<std::string> out;
    for (const FakeRequest& r : github_->Requests()) {
      if (r.target.find("/check-runs") == std::string::npos || r.method == "GET") continue;
      json body = json::parse(r.body, nullptr, false);
      out.push_back(r.method + " " + (body.is_object() ? body.value("status", "?") : "?"));
    }
    return out;
  }

  std::string Sent() const {
    std::string out;
    for (const FakeRequest& r : github_->Requests()) {
      out += r.method + " " + r.target + " " + std::to_string(r.status) + " " +
             r.body.substr(0, 160) + "\n";
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<runtime::DockerRuntime> docker_;
  std::unique_ptr<FakeGithub> github_;
  std::unique_ptr<LabelrunProcess> server_;
};

TEST_F(PullRequestTest, ALabelRunsThePullRequestHeadAndItsCheckRunEndsInSuccess) {
  Start("cat pr-only.txt && echo loss=0.5 && sleep 3 && echo loss=0.25");
  ASSERT_EQ(
      Deliver("pull_request", "pr-1", PullRequestDelivery("labeled", 7, kHeadSha, kRepo, "bob")),
      202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("completed").has_value(); }, 120s))
      << server_->Log() << Sent();
  const FakeCheckRun run = *RunIn("completed");
  EXPECT_EQ(run.conclusion, "success") << run.summary << run.text;
  EXPECT_EQ(run.name, "train");
  EXPECT_EQ(run.head_sha, kHeadSha);
  EXPECT_THAT(run.details_url, HasSubstr("https://labelrun.example.com/jobs/" + run.external_id));
  EXPECT_THAT(run.title, HasSubstr("Succeeded"));
  EXPECT_THAT(run.summary, HasSubstr("| Metric |"));
  EXPECT_THAT(run.summary, HasSubstr("#7"));
  // The job ran the PR's own file, which the default branch does not have.
  EXPECT_THAT(run.text, HasSubstr("from the PR head"));
  EXPECT_TRUE(run.action_identifiers.empty());  // nothing to cancel once it ended
  EXPECT_EQ(Runs().size(), 1u);

  // Created queued, then in progress, then completed; each state its own write.
  std::vector<std::string> writes = CheckRunWrites();
  writes.erase(std::unique(writes.begin(), writes.end()), writes.end());
  EXPECT_EQ(writes,
            (std::vector<std::string>{"POST queued", "PATCH in_progress", "PATCH completed"}))
      << Sent();
  // While it ran, it offered Cancel (the in_progress write carried the action).
  bool offered_cancel = false;
  for (const FakeRequest& r : github_->Requests()) {
    if (r.method == "PATCH" && r.target.find("/check-runs/") != std::string::npos &&
        r.body.find("\"in_progress\"") != std::string::npos) {
      offered_cancel |= r.body.find("\"identifier\":\"cancel\"") != std::string::npos;
    }
  }
  EXPECT_TRUE(offered_cancel) << Sent();
  // The code came from the base repository at the head commit, never the default branch.
  bool head_tarball = false;
  for (const FakeRequest& r : github_->Requests()) {
    EXPECT_THAT(r.target, Not(HasSubstr(std::string("/tarball/") + kMainSha)));
    head_tarball |= r.target == std::string("/repos/acme/vision/tarball/") + kHeadSha;
  }
  EXPECT_TRUE(head_tarball) << Sent();

  // The comment, the API and the job page name the pull request, its head and where it is from.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto c = github_->Comments(kRepo, 7);
        return !c.empty() && c.back().body.find("Succeeded") != std::string::npos;
      },
      30s))
      << Sent();
  EXPECT_THAT(github_->Comments(kRepo, 7).back().body,
              HasSubstr(std::string("#7 at its head `") + kHeadSha + "`, from this repository"));
  json jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  EXPECT_EQ(jobs[0]["id"], run.external_id);
  EXPECT_EQ(jobs[0]["commit"], kHeadSha);
  EXPECT_EQ(jobs[0]["pull_request"],
            (json{{"number", 7}, {"head_sha", kHeadSha}, {"from_fork", false}}));
}

TEST_F(PullRequestTest, AForkRunsOnlyWhereItsRuleAllowsForks) {
  Start("cat pr-only.txt");
  // Rule `train` does not allow forks: one explanation, however many deliveries.
  ASSERT_EQ(Deliver("pull_request", "fork-1",
                    PullRequestDelivery("labeled", 8, kForkSha, "mallory/vision", "bob")),
            202);
  ASSERT_TRUE(WaitUntil([&] { return !github_->Comments(kRepo, 8).empty(); }, 30s))
      << server_->Log();
  ASSERT_EQ(Deliver("pull_request", "fork-2",
                    PullRequestDelivery("labeled", 8, kForkSha, "mallory/vision", "bob",
                                        {"task:training", "kind:bug"}, "task:training")),
            202);
  // Rule `bench` allows forks: the fork's head runs, fetched through the base repository.
  ASSERT_EQ(Deliver("pull_request", "fork-3",
                    PullRequestDelivery("labeled", 9, kForkSha, "mallory/vision", "bob",
                                        {"task:benchmarking"}, "task:benchmarking")),
            202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("completed").has_value(); }, 120s))
      << server_->Log() << Sent();
  const FakeCheckRun run = *RunIn("completed");
  EXPECT_EQ(run.conclusion, "success");
  EXPECT_EQ(run.name, "bench");
  EXPECT_EQ(run.head_sha, kForkSha);
  EXPECT_THAT(run.text, HasSubstr("from the fork"));
  EXPECT_THAT(run.summary, HasSubstr("from a fork"));

  const std::vector<FakeComment> comments = github_->Comments(kRepo, 8);
  ASSERT_EQ(comments.size(), 1u) << Sent();
  EXPECT_THAT(comments[0].body, HasSubstr("comes from a fork"));
  EXPECT_THAT(comments[0].body, HasSubstr("allow_forks: true"));
  json jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  EXPECT_EQ(jobs[0]["rule"], "bench");
  EXPECT_EQ(jobs[0]["pull_request"],
            (json{{"number", 9}, {"head_sha", kForkSha}, {"from_fork", true}}));
  for (const FakeCheckRun& r : Runs()) EXPECT_NE(r.name, "train");
}

TEST_F(PullRequestTest, NewCommitsCancelTheOldHeadsJobAndTakeTheLabelOff) {
  Start("cat pr-only.txt && sleep 60");
  github_->AddIssueLabel(kRepo, 7, "task:training");
  ASSERT_EQ(
      Deliver("pull_request", "push-1", PullRequestDelivery("labeled", 7, kHeadSha, kRepo, "bob")),
      202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("in_progress").has_value(); }, 120s))
      << server_->Log() << Sent();
  ASSERT_EQ(Deliver("pull_request", "push-2",
                    PullRequestDelivery("synchronize", 7, kNewHeadSha, kRepo, "carol")),
            202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("completed").has_value(); }, 90s))
      << server_->Log() << Sent();
  const FakeCheckRun run = *RunIn("completed");
  EXPECT_EQ(run.conclusion, "cancelled");
  EXPECT_EQ(run.head_sha, kHeadSha);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto labels = github_->IssueLabels(kRepo, 7);
        return std::count(labels.begin(), labels.end(), "task:training") == 0;
      },
      30s))
      << Sent();
  std::string notice;
  for (const FakeComment& c : github_->Comments(kRepo, 7)) {
    if (c.body.find("New commits") != std::string::npos) notice = c.body;
  }
  EXPECT_THAT(notice, HasSubstr("was cancelled"));
  EXPECT_THAT(notice, HasSubstr("The label `task:training` was removed"));
  EXPECT_THAT(notice, HasSubstr("`3333333`"));
  // Nothing ran the new head: nobody labelled it.
  for (const FakeRequest& r : github_->Requests()) {
    EXPECT_THAT(r.target, Not(HasSubstr(std::string("/tarball/") + kNewHeadSha)));
  }
  json jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  EXPECT_EQ(jobs[0]["state"], "cancelled");
  EXPECT_THAT(jobs[0]["reason"].get<std::string>(), HasSubstr("new commits"));
}

TEST_F(PullRequestTest, NewCommitsKeepTheOldHeadsJobWhereTheRuleSaysKeep) {
  Start("cat pr-only.txt && sleep 4", "    on_new_commits: keep\n");
  github_->AddIssueLabel(kRepo, 7, "task:training");
  ASSERT_EQ(
      Deliver("pull_request", "keep-1", PullRequestDelivery("labeled", 7, kHeadSha, kRepo, "bob")),
      202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("in_progress").has_value(); }, 120s))
      << server_->Log() << Sent();
  ASSERT_EQ(Deliver("pull_request", "keep-2",
                    PullRequestDelivery("synchronize", 7, kNewHeadSha, kRepo, "carol")),
            202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("completed").has_value(); }, 90s))
      << server_->Log() << Sent();
  EXPECT_EQ(RunIn("completed")->conclusion, "success");
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto labels = github_->IssueLabels(kRepo, 7);
        return std::count(labels.begin(), labels.end(), "task:training") == 0;
      },
      30s))
      << Sent();
  std::string notice;
  for (const FakeComment& c : github_->Comments(kRepo, 7)) {
    if (c.body.find("New commits") != std::string::npos) notice = c.body;
  }
  EXPECT_THAT(notice, HasSubstr("keeps running for the previous head `2222222`"));
}

TEST_F(PullRequestTest, TheCheckRunsCancelAndRerunActOnlyForSendersWithThePermission) {
  Start("cat pr-only.txt && sleep 60");
  ASSERT_EQ(
      Deliver("pull_request", "act-1", PullRequestDelivery("labeled", 7, kHeadSha, kRepo, "bob")),
      202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("in_progress").has_value(); }, 120s))
      << server_->Log() << Sent();
  const FakeCheckRun running = *RunIn("in_progress");
  EXPECT_EQ(running.action_identifiers, std::vector<std::string>{"cancel"});

  // A triage sender's Cancel is refused and said on the pull request.
  ASSERT_EQ(Deliver("check_run", "act-2",
                    CheckRunDelivery(running, "requested_action", "trudy", "cancel")),
            202);
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (const FakeComment& c : github_->Comments(kRepo, 7)) {
          if (c.body.find("Cancel for job") != std::string::npos) return true;
        }
        return false;
      },
      30s))
      << server_->Log() << Sent();
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(RunIn("completed").has_value()) << "a triage sender cancelled the job";
  std::string refusal;
  for (const FakeComment& c : github_->Comments(kRepo, 7)) {
    if (c.body.find("Cancel for job") != std::string::npos) refusal = c.body;
  }
  EXPECT_THAT(refusal, HasSubstr("@trudy has triage permission"));

  // A writer's Cancel stops it.
  ASSERT_EQ(
      Deliver("check_run", "act-3", CheckRunDelivery(running, "requested_action", "bob", "cancel")),
      202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("completed", "cancelled").has_value(); }, 60s))
      << server_->Log() << Sent();
  EXPECT_THAT(RunIn("completed")->title, HasSubstr("Cancelled"));

  // Re-run: refused for triage, a new job on the same commit for a writer.
  const FakeCheckRun ended = *RunIn("completed");
  ASSERT_EQ(Deliver("check_run", "act-4", CheckRunDelivery(ended, "rerequested", "trudy")), 202);
  ASSERT_EQ(Deliver("check_run", "act-5", CheckRunDelivery(ended, "rerequested", "bob")), 202);
  ASSERT_TRUE(WaitUntil([&] { return Runs().size() == 2; }, 60s)) << server_->Log() << Sent();
  ASSERT_TRUE(WaitUntil([&] { return Jobs().size() == 2; }, 10s));
  json jobs = Jobs();
  EXPECT_EQ(jobs[0]["commit"], kHeadSha);
  EXPECT_EQ(jobs[0]["sender"], "bob");
  EXPECT_NE(jobs[0]["id"], ended.external_id);
  EXPECT_EQ(Runs()[1].head_sha, kHeadSha);
  EXPECT_EQ(Runs()[1].external_id, jobs[0]["id"]);
  EXPECT_THAT(server_->Log(), HasSubstr("@trudy has triage permission; rule `train` needs write"));
  EXPECT_EQ(server_->CountInLog("re-runs job " + ended.external_id), 1u) << server_->Log();
}

TEST_F(PullRequestTest, MergingThePullRequestCancelsItsJob) {
  Start("cat pr-only.txt && sleep 60");
  ASSERT_EQ(
      Deliver("pull_request", "merge-1", PullRequestDelivery("labeled", 7, kHeadSha, kRepo, "bob")),
      202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("in_progress").has_value(); }, 120s))
      << server_->Log() << Sent();
  json merged = json::parse(PullRequestDelivery("closed", 7, kHeadSha, kRepo, "bob"));
  merged["pull_request"]["state"] = "closed";
  merged["pull_request"]["merged"] = true;
  ASSERT_EQ(Deliver("pull_request", "merge-2", merged.dump()), 202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("completed", "cancelled").has_value(); }, 90s))
      << server_->Log() << Sent();
  json jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  EXPECT_EQ(jobs[0]["state"], "cancelled");
}

TEST_F(PullRequestTest, RetryOnAPullRequestRunsItsHeadAsGithubReportsIt) {
  Start("cat pr-only.txt");
  github_->SetPullRequest(kRepo, {7, kNewHeadSha, kRepo, "open"});
  json comment = {
      {"action", "created"},
      {"issue",
       {{"number", 7},
        {"state", "open"},
        {"title", "t"},
        {"labels", {{{"name", "task:training"}}}},
        {"pull_request", {{"url", "https://api.github.com/repos/acme/vision/pulls/7"}}}}},
      {"comment", {{"id", 9}, {"body", "/labelrun retry"}, {"author_association", "MEMBER"}}},
      {"repository", {{"id", 1}, {"full_name", kRepo}}},
      {"sender", {{"login", "bob"}, {"type", "User"}}},
      {"installation", {{"id", 5}}}};
  ASSERT_EQ(Deliver("issue_comment", "retry-1", comment.dump()), 202);
  ASSERT_TRUE(WaitUntil([&] { return RunIn("completed").has_value(); }, 120s))
      << server_->Log() << Sent();
  const FakeCheckRun run = *RunIn("completed");
  EXPECT_EQ(run.conclusion, "success");
  EXPECT_EQ(run.head_sha, kNewHeadSha);
  EXPECT_THAT(run.text, HasSubstr("from the new head"));
  json jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  EXPECT_EQ(jobs[0]["pull_request"],
            (json{{"number", 7}, {"head_sha", kNewHeadSha}, {"from_fork", false}}));
}

TEST_F(PullRequestTest, ATriageSendersLabelStartsNothing) {
  Start("cat pr-only.txt");
  ASSERT_EQ(Deliver("pull_request", "triage-1",
                    PullRequestDelivery("labeled", 7, kHeadSha, kRepo, "trudy")),
            202);
  ASSERT_TRUE(WaitUntil([&] { return !github_->Comments(kRepo, 7).empty(); }, 30s))
      << server_->Log();
  std::this_thread::sleep_for(2s);
  EXPECT_THAT(github_->Comments(kRepo, 7)[0].body, HasSubstr("@trudy has triage permission"));
  EXPECT_TRUE(Jobs().empty());
  EXPECT_TRUE(Runs().empty());
  for (const FakeRequest& r : github_->Requests()) {
    EXPECT_THAT(r.target, Not(HasSubstr("/tarball/")));
  }
}

}  // namespace
}  // namespace labelrun::testing
