// A pull request job's check run: status and conclusion per state, the Cancel action
// while it runs, redaction, and GitHub's 65,535-character limit on each output part.
#include "labelrun/report/check_run.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "labelrun/report/comment.hpp"

namespace labelrun::report {
namespace {

using nlohmann::json;

constexpr int64_t kCreated = 1767268800000;  // 2026-01-01 12:00:00 UTC

JobView View(JobState state) {
  JobView v;
  v.id = "j0a1b2c3d4e";
  v.repo = "acme/vision";
  v.issue = 7;
  v.rule = "train";
  v.state = state;
  v.image = "pytorch/pytorch:2.8.0";
  v.commit = "2222222222222222222222222222222222222222";
  v.pull_request = true;
  v.created_unix_ms = kCreated;
  if (state != JobState::kQueued) v.started_unix_ms = kCreated + 5'000;
  if (IsFinal(state)) v.finished_unix_ms = kCreated + 65'000;
  if (state == JobState::kFailed) v.exit_code = 1;
  return v;
}

TEST(CheckRun, StatusAndConclusionFollowTheJob) {
  EXPECT_EQ(CheckRunStatus(JobState::kQueued), "queued");
  for (JobState s : {JobState::kPulling, JobState::kStarting, JobState::kRunning}) {
    EXPECT_EQ(CheckRunStatus(s), "in_progress");
    EXPECT_EQ(CheckRunConclusion(s), std::nullopt);
  }
  const std::vector<std::pair<JobState, std::string>> finals = {{JobState::kSucceeded, "success"},
                                                                {JobState::kFailed, "failure"},
                                                                {JobState::kCancelled, "cancelled"},
                                                                {JobState::kTimedOut, "timed_out"}};
  for (const auto& [state, conclusion] : finals) {
    EXPECT_EQ(CheckRunStatus(state), "completed");
    EXPECT_EQ(CheckRunConclusion(state), conclusion);
  }
}

TEST(CheckRun, BodyOffersCancelOnlyWhileTheJobIsOpen) {
  JobMetrics metrics;
  LogTail tail;
  GpuStats gpus;
  Redactor redactor;
  const CheckRunTarget target{"train", "2222222222222222222222222222222222222222",
                              "https://labelrun.example.com/jobs/j0a1b2c3d4e?exp=1&sig=ab"};
  for (JobState state :
       {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kTimedOut}) {
    const JobView view = View(state);
    json body = json::parse(RenderCheckRunBody(
        view, target, RenderCheckRunOutput(view, metrics, tail, gpus, redactor)));
    SCOPED_TRACE(std::string(JobStateName(state)));
    EXPECT_EQ(body["name"], "train");
    EXPECT_EQ(body["head_sha"], target.head_sha);
    EXPECT_EQ(body["external_id"], "j0a1b2c3d4e");
    EXPECT_EQ(body["details_url"], target.details_url);
    EXPECT_EQ(body["status"], CheckRunStatus(state));
    if (IsFinal(state)) {
      EXPECT_EQ(body["conclusion"], *CheckRunConclusion(state));
      EXPECT_EQ(body["completed_at"], "2026-01-01T12:01:05Z");
      EXPECT_TRUE(body["actions"].empty());
    } else {
      EXPECT_FALSE(body.contains("conclusion"));
      ASSERT_EQ(body["actions"].size(), 1u);
      EXPECT_EQ(body["actions"][0]["identifier"], "cancel");
      EXPECT_LE(body["actions"][0]["label"].get<std::string>().size(), 20u);
      EXPECT_LE(body["actions"][0]["description"].get<std::string>().size(), 40u);
    }
    if (state != JobState::kQueued) {
      EXPECT_EQ(body["started_at"], "2026-01-01T12:00:05Z");
    }
    const std::string title = body["output"]["title"];
    EXPECT_EQ(title.find('*'), std::string::npos) << title;
    EXPECT_EQ(title.find('\n'), std::string::npos) << title;
  }
}

TEST(CheckRun, OutputIsRedactedAndWithinGithubsLimits) {
  const std::string secret = "hunter2-db-password";
  Redactor redactor{{secret}};
  JobMetrics metrics;
  LogTail tail(LogTail::Options{100000, 64 << 20, 2048, &redactor});
  for (int i = 0; i < 20000; ++i) {
    tail.AddLine("step " + std::to_string(i) + " loss=0." + std::to_string(i % 97) + " " + secret +
                 " ✓ " + std::string(40, 'x'));
    metrics.OnLine("loss=0." + std::to_string(i % 97));
  }
  GpuStats gpus;
  const JobView view = View(JobState::kFailed);
  const CheckRunOutput out = RenderCheckRunOutput(view, metrics, tail, gpus, redactor);
  for (const std::string* part : {&out.title, &out.summary, &out.text}) {
    EXPECT_LE(CommentLength(*part), kCheckRunOutputLimit);
    EXPECT_EQ(part->find(secret), std::string::npos);
  }
  // The log keeps its newest lines.
  EXPECT_NE(out.text.find("step 19999 "), std::string::npos);
  EXPECT_EQ(out.text.find("step 0 "), std::string::npos);
  EXPECT_GT(out.text.size(), 50000u);
  EXPECT_NE(out.summary.find("| Metric |"), std::string::npos);
  EXPECT_NE(out.summary.find("Pull request"), std::string::npos);
  EXPECT_NE(out.title.find("Failed"), std::string::npos);
  // A small limit is honoured too (the summary is cut at a line).
  const CheckRunOutput small = RenderCheckRunOutput(view, metrics, tail, gpus, redactor, 1500);
  EXPECT_LE(CommentLength(small.summary), 1500u);
  EXPECT_LE(CommentLength(small.text), 1500u);
}

}  // namespace
}  // namespace labelrun::report
