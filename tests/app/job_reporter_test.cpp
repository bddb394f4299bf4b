// What an issue shows of a job, request by request at the loopback GitHub: the
// reporter's comment and status labels through the real outbox and its paced
// worker, all on one ManualClock, so that every write's time is exact.

#include "labelrun/app/job_reporter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <thread>

#include "github/github_env.hpp"
#include "labelrun/github/outbox_worker.hpp"
#include "labelrun/rules/rule_set.hpp"
#include "labelrun/store/outbox.hpp"
#include "labelrun/store/sqlite.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::app {
namespace {

using github::testing::GithubEnv;
using labelrun::testing::FakeRequest;
using labelrun::testing::TempDir;
using std::chrono::milliseconds;

constexpr char kRepo[] = "acme/vision";
constexpr int64_t kIssue = 12;

// One write as seen by GitHub: "POST comment Queued", "PATCH comment Running",
// "POST labels status:done", "DELETE status:queued", with its time after t0.
struct Seen {
  std::string what;
  int64_t at_ms = 0;
  long status = 0;
};

std::string Describe(const std::vector<Seen>& seen) {
  std::string out;
  for (const Seen& s : seen) {
    out += "  +" + std::to_string(s.at_ms) + " ms " + s.what + " -> " + std::to_string(s.status) +
           "\n";
  }
  return out;
}

class JobReporterTimelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OutboxStore::Open(dir_ / "labelrun.db");
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = std::move(*opened);
    worker_ = std::make_unique<github::OutboxWorker>(*store_, env_.client, env_.clock, stats_);
    ReporterOptions options;
    options.jobs_dir = dir_ / "jobs";
    reporter_ = std::make_unique<JobReporter>(options, worker_.get(), env_.clock);
    env_.fake.AddIssueLabel(kRepo, kIssue, "task:training");
    t0_ = env_.clock.NowUnixMillis();
  }

  // The job at `state`, as the dispatcher reports it `at_ms` after t0.
  void Report(JobState state, int64_t at_ms, int queue_position = 1) {
    RunUntil(at_ms);
    job_.id = "j1";
    job_.repository = kRepo;
    job_.issue = kIssue;
    job_.installation = GithubEnv::kInstallation;
    job_.spec.rule = "train";
    job_.spec.image = "labelrun-test/busybox:1";
    job_.created_ms = t0_;
    job_.state = state;
    if (state == JobState::kRunning) job_.started_ms = env_.clock.NowUnixMillis();
    if (IsFinal(state)) {
      job_.finished_ms = env_.clock.NowUnixMillis();
      job_.exit_code = state == JobState::kSucceeded ? 0 : 1;
    }
    reporter_->OnJobChanged(job_, queue_position);
  }

  // Runs the paced worker on the ManualClock up to `at_ms` after t0.
  void RunUntil(int64_t at_ms) {
    const int64_t until = t0_ + at_ms;
    for (int i = 0; i < 1000; ++i) {
      auto step = worker_->RunOnce();
      ASSERT_TRUE(step) << step.error().message();
      if (step->sent) continue;
      if (!step->next_due) break;
      const int64_t due =
          std::chrono::duration_cast<milliseconds>(step->next_due->time_since_epoch()).count();
      if (due > until) break;
      env_.clock.Advance(milliseconds(due - env_.clock.NowUnixMillis()));
    }
    if (env_.clock.NowUnixMillis() < until) {
      env_.clock.Advance(milliseconds(until - env_.clock.NowUnixMillis()));
    }
  }

  // The writes GitHub received (token requests left out), in order.
  std::vector<Seen> Writes() {
    std::vector<Seen> out;
    for (const FakeRequest& r : env_.fake.Requests()) {
      if (r.method == "GET" || r.target.starts_with("/app/")) continue;
      Seen s{r.method, r.at_unix_ms - t0_, r.status};
      if (r.target.find("/comments") != std::string::npos) {
        s.what += " comment";
        std::smatch m;
        if (std::regex_search(
                r.body, m,
                std::regex(R"(\*\*(Queued|Pulling|Starting|Running|Succeeded|Failed)[^*]*\*\*)"))) {
          s.what += " " + m[1].str();
        }
      } else if (r.method == "POST") {
        std::smatch m;
        std::string body = r.body;
        s.what += " labels";
        while (std::regex_search(body, m, std::regex(R"re("([a-z]+:[a-z-]+)")re"))) {
          s.what += " " + m[1].str();
          body = m.suffix();
        }
      } else {
        s.what += " " + r.target.substr(r.target.rfind('/') + 1);
        s.what = std::regex_replace(s.what, std::regex("%3A"), ":");
      }
      out.push_back(s);
    }
    return out;
  }

  std::vector<std::string> What(const std::vector<Seen>& seen) {
    std::vector<std::string> out;
    for (const Seen& s : seen) out.push_back(s.what);
    return out;
  }

  GithubEnv env_;
  TempDir dir_;
  std::unique_ptr<store::OutboxStore> store_;
  github::OutboxStats stats_;
  std::unique_ptr<github::OutboxWorker> worker_;
  std::unique_ptr<JobReporter> reporter_;
  store::JobRecord job_;
  int64_t t0_ = 0;
};

TEST_F(JobReporterTimelineTest, AJobShorterThanThePacingStillShowsRunningThenItsEnd) {
  reporter_->ObserveIssueLabels(kRepo, kIssue, {"task:training"});
  Report(JobState::kQueued, 0);
  Report(JobState::kStarting, 50);
  Report(JobState::kRunning, 330);
  Report(JobState::kSucceeded, 900);
  RunUntil(20'000);
  const std::vector<Seen> seen = Writes();
  // Every state reaches the issue, each as its own edit; the labels of states the
  // job left before they were due are never sent, so none is taken back after.
  EXPECT_EQ(What(seen),
            (std::vector<std::string>{"POST comment Queued", "PATCH comment Running",
                                      "PATCH comment Succeeded", "POST labels status:done"}))
      << Describe(seen);
  ASSERT_EQ(seen.size(), 4u) << Describe(seen);
  EXPECT_EQ(seen[0].at_ms, 0);
  EXPECT_EQ(seen[1].at_ms, 1000);  // the pacing of the one write before it
  EXPECT_EQ(seen[2].at_ms, 2000);
  EXPECT_EQ(env_.fake.IssueLabels(kRepo, kIssue),
            (std::vector<std::string>{"task:training", "status:done"}));
  EXPECT_EQ(stats_.failed.load(), 0);
}

TEST_F(JobReporterTimelineTest, AThreeSecondJobShowsEachStateBeforeItsLabels) {
  reporter_->ObserveIssueLabels(kRepo, kIssue, {"task:training"});
  Report(JobState::kQueued, 0);
  Report(JobState::kStarting, 50);
  Report(JobState::kRunning, 330);
  Report(JobState::kSucceeded, 3330);
  RunUntil(20'000);
  const std::vector<Seen> seen = Writes();
  EXPECT_EQ(What(seen),
            (std::vector<std::string>{"POST comment Queued", "PATCH comment Running",
                                      "POST labels status:in-progress", "PATCH comment Succeeded",
                                      "POST labels status:done", "DELETE status:in-progress"}))
      << Describe(seen);
  ASSERT_EQ(seen.size(), 6u) << Describe(seen);
  EXPECT_EQ(seen[0].at_ms, 0);
  // Running: within the pacing of the one write before it (the queued comment).
  EXPECT_LE(seen[1].at_ms, 330 + 1000);
  EXPECT_EQ(seen[3].at_ms, 3330);  // the end goes out as soon as it is known
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].at_ms - seen[i - 1].at_ms, 1000) << Describe(seen);
  }
  for (const Seen& s : seen) EXPECT_LT(s.status, 300) << Describe(seen);
  EXPECT_EQ(env_.fake.IssueLabels(kRepo, kIssue),
            (std::vector<std::string>{"task:training", "status:done"}));
}

TEST_F(JobReporterTimelineTest, RemovesOnlyTheStatusLabelsTheIssueHas) {
  // An earlier run left status:done, and the delivery lists it.
  env_.fake.AddIssueLabel(kRepo, kIssue, "status:done");
  reporter_->ObserveIssueLabels(kRepo, kIssue, {"task:training", "status:done"});
  Report(JobState::kQueued, 0);
  Report(JobState::kRunning, 5000);  // waited for a host long enough for its label
  Report(JobState::kFailed, 12'000);
  RunUntil(30'000);
  const std::vector<Seen> seen = Writes();
  EXPECT_EQ(What(seen),
            (std::vector<std::string>{
                "POST comment Queued", "POST labels status:queued", "DELETE status:done",
                "PATCH comment Running", "POST labels status:in-progress", "DELETE status:queued",
                "PATCH comment Failed", "POST labels status:failed", "DELETE status:in-progress"}))
      << Describe(seen);
  // No DELETE of a label that was not there.
  for (const Seen& s : seen) EXPECT_LT(s.status, 300) << Describe(seen);
  EXPECT_EQ(env_.fake.IssueLabels(kRepo, kIssue),
            (std::vector<std::string>{"task:training", "status:failed"}));
}

TEST_F(JobReporterTimelineTest, WithoutADeliveryEveryOtherStatusLabelMayBeThere) {
  // A job recovered after a restart: nothing says which labels the issue has.
  env_.fake.AddIssueLabel(kRepo, kIssue, "status:in-progress");
  Report(JobState::kSucceeded, 0);
  RunUntil(20'000);
  const std::vector<Seen> seen = Writes();
  EXPECT_EQ(What(seen),
            (std::vector<std::string>{"POST comment Succeeded", "POST labels status:done",
                                      "DELETE status:queued", "DELETE status:in-progress",
                                      "DELETE status:failed"}))
      << Describe(seen);
  EXPECT_EQ(env_.fake.IssueLabels(kRepo, kIssue),
            (std::vector<std::string>{"task:training", "status:done"}));
}

TEST_F(JobReporterTimelineTest, QueueMovesMergeButNeverTakeThePlaceOfAState) {
  reporter_->ObserveIssueLabels(kRepo, kIssue, {"task:training"});
  Report(JobState::kQueued, 0, 3);
  Report(JobState::kQueued, 100, 2);
  Report(JobState::kQueued, 200, 1);  // replaces the position-2 edit, still pending
  Report(JobState::kRunning, 300);    // replaces the position-1 edit: queued went out
  Report(JobState::kSucceeded, 400);  // the running edit is pending: a row of its own
  RunUntil(20'000);
  const std::vector<Seen> seen = Writes();
  EXPECT_EQ(What(seen),
            (std::vector<std::string>{"POST comment Queued", "PATCH comment Running",
                                      "PATCH comment Succeeded", "POST labels status:done"}))
      << Describe(seen);
}

// A pass queues its progress edits in one commit made outside the reporter's
// lock. While that commit waits on a busy database, log lines and pages do not
// wait with it, and a state change that comes meanwhile is queued after the
// pass's edit: the edit that shows the new state stays a write of its own.
TEST_F(JobReporterTimelineTest, APassWaitingOnTheDatabaseHoldsUpNeitherLogLinesNorTheNextState) {
  ReporterOptions options;
  options.jobs_dir = dir_ / "jobs";
  options.update_interval = std::chrono::seconds(1);
  reporter_ = std::make_unique<JobReporter>(options, worker_.get(), env_.clock);
  reporter_->ObserveIssueLabels(kRepo, kIssue, {"task:training"});
  Report(JobState::kRunning, 0);
  reporter_->Start();

  auto blocker = store::Database::Open(dir_ / "labelrun.db");
  ASSERT_TRUE(blocker) << blocker.error().message();
  ASSERT_TRUE(blocker->Exec("BEGIN IMMEDIATE"));  // the database is busy from here
  env_.clock.Advance(milliseconds(1500));
  reporter_->OnLogLine("j1", runtime::LogStream::kStdout, "first-line epoch 1 loss=0.5");
  // The pass renders, then waits to commit. 1.5 s leaves a loaded (sanitizer) run
  // time to get there; the lock is let go about 2 s in, well within the 5 s busy
  // timeout. The bodies checked below show whether the pass rendered in time.
  std::this_thread::sleep_for(milliseconds(1500));

  const auto before = std::chrono::steady_clock::now();
  reporter_->OnLogLine("j1", runtime::LogStream::kStdout, "second-line epoch 2 loss=0.4");
  const std::string markdown = reporter_->CommentMarkdown("j1");
  const auto waited = std::chrono::steady_clock::now() - before;
  EXPECT_LT(waited, milliseconds(1000));
  EXPECT_NE(markdown.find("second-line"), std::string::npos) << markdown;

  job_.state = JobState::kSucceeded;
  job_.finished_ms = env_.clock.NowUnixMillis();
  job_.exit_code = 0;
  std::thread finish([&] { reporter_->OnJobChanged(job_, 0); });
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_TRUE(blocker->Exec("ROLLBACK"));  // well within the 5 s busy timeout
  finish.join();
  reporter_->Stop();

  Result<std::vector<store::OutboxWrite>> rows = store_->All();
  ASSERT_TRUE(rows) << rows.error().message();
  std::vector<std::string> comments;
  for (const store::OutboxWrite& w : *rows) {
    if (w.kind == store::WriteKind::kComment) comments.push_back(w.payload);
  }
  ASSERT_EQ(comments.size(), 2u);
  // The pass rendered before the second line came, so it was waiting on the
  // database while that line was taken.
  EXPECT_NE(comments[0].find("**Running"), std::string::npos) << comments[0];
  EXPECT_NE(comments[0].find("first-line"), std::string::npos) << comments[0];
  EXPECT_EQ(comments[0].find("second-line"), std::string::npos) << comments[0];
  EXPECT_NE(comments[1].find("**Succeeded"), std::string::npos) << comments[1];
  EXPECT_NE(comments[1].find("second-line"), std::string::npos) << comments[1];

  RunUntil(20'000);
  const std::vector<Seen> seen = Writes();
  EXPECT_EQ(What(seen), (std::vector<std::string>{"POST comment Running", "PATCH comment Succeeded",
                                                  "POST labels status:done"}))
      << Describe(seen);
}

TEST(SecretsToRedactTest, EveryEnvValueButShortNumbersAndBooleansIsMasked) {
  rules::Rule rule;
  rule.name = "train";
  rule.job.env = {
      {"A_FLAG", "true"},
      {"B_WORKERS", "16"},
      {"C_RATE", "0.001"},
      {"D_HEX_KEY", "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"},
      {"E_NAN", "nan(secret-ish-value)"},
      {"F_EXP", "1e123456789"},
      {"G_PIN", "4829105738"},
      {"H_WORD", "passphrase-value"}};
  const rules::RuleSet set = rules::RuleSet::Build({rule}, {}, nullptr);
  const std::vector<std::string> secrets = SecretsToRedact({"webhook-secret"}, &set);
  for (const std::string kept : {"true", "16", "0.001"}) {
    EXPECT_EQ(std::count(secrets.begin(), secrets.end(), kept), 0) << kept;
  }
  for (const std::string masked :
       {"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "nan(secret-ish-value)", "1e123456789", "4829105738", "passphrase-value",
        "webhook-secret"}) {
    EXPECT_EQ(std::count(secrets.begin(), secrets.end(), masked), 1) << masked;
  }
}

}  // namespace
}  // namespace labelrun::app
