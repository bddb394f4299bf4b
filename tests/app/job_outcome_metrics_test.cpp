// The finished-job figures of /metrics: each job counted once by rule and
// outcome however often its final state is observed, durations and queue waits
// in the right buckets, and everything handed on to the next observer.
#include "labelrun/app/job_outcome_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;

class Recorder final : public scheduler::JobObserver {
 public:
  void OnJobChanged(const store::JobRecord& job, int) override { changed.push_back(job.id); }
  void OnLogLine(const std::string& id, runtime::LogStream, std::string_view text) override {
    lines.push_back(id + ":" + std::string(text));
  }
  void OnGpuSamples(const std::string& id, const std::vector<scheduler::GpuSample>&) override {
    samples.push_back(id);
  }
  std::vector<std::string> changed, lines, samples;
};

store::JobRecord Job(const std::string& id, const std::string& rule, JobState state,
                     int64_t created, std::optional<int64_t> started,
                     std::optional<int64_t> finished) {
  store::JobRecord job;
  job.id = id;
  job.spec.rule = rule;
  job.state = state;
  job.created_ms = created;
  job.started_ms = started;
  job.finished_ms = finished;
  return job;
}

TEST(JobOutcomeMetrics, CountsEachFinishedJobOnceByRuleAndOutcome) {
  Recorder next;
  app::JobOutcomeMetrics metrics(next);
  metrics.SetRules({"train", "eval"});
  std::string before;
  metrics.Render(before);
  EXPECT_THAT(before,
              HasSubstr("labelrun_jobs_finished_total{rule=\"eval\",outcome=\"timed_out\"} 0\n"));
  EXPECT_THAT(before, HasSubstr("labelrun_job_duration_seconds_count 0\n"));

  metrics.OnJobChanged(Job("j1", "train", JobState::kQueued, 1000, {}, {}), 1);
  metrics.OnJobChanged(Job("j1", "train", JobState::kRunning, 1000, 3500, {}), 0);
  metrics.OnJobChanged(Job("j1", "train", JobState::kRunning, 1000, 3500, {}), 0);
  metrics.OnJobChanged(Job("j1", "train", JobState::kSucceeded, 1000, 3500, 93500), 0);
  // The final state seen again (a re-render, a recovery) counts nothing more.
  metrics.OnJobChanged(Job("j1", "train", JobState::kSucceeded, 1000, 3500, 93500), 0);
  // Cancelled in the queue: an outcome, without a run time or a queue wait.
  metrics.OnJobChanged(Job("j2", "train", JobState::kCancelled, 2000, {}, 4000), 0);
  // A rule the config no longer has still counts (a job decided before a reload).
  metrics.OnJobChanged(Job("j3", "old \"rule\"", JobState::kFailed, 0, 100, 200), 0);

  std::string out;
  metrics.Render(out);
  EXPECT_THAT(out,
              HasSubstr("labelrun_jobs_finished_total{rule=\"train\",outcome=\"succeeded\"} 1\n"));
  EXPECT_THAT(out,
              HasSubstr("labelrun_jobs_finished_total{rule=\"train\",outcome=\"cancelled\"} 1\n"));
  EXPECT_THAT(
      out,
      HasSubstr("labelrun_jobs_finished_total{rule=\"old \\\"rule\\\"\",outcome=\"failed\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE labelrun_jobs_finished_total counter\n"));
  // j1 ran 90 s (in the 300 s bucket, not the 60 s one) and j3 0.1 s.
  EXPECT_THAT(out, HasSubstr("labelrun_job_duration_seconds_bucket{le=\"60\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("labelrun_job_duration_seconds_bucket{le=\"300\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("labelrun_job_duration_seconds_count 2\n"));
  EXPECT_THAT(out, HasSubstr("labelrun_job_duration_seconds_sum 90.1\n"));
  // j1 waited 2.5 s, j3 0.1 s; each once.
  EXPECT_THAT(out, HasSubstr("labelrun_job_queue_wait_seconds_bucket{le=\"0.1\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("labelrun_job_queue_wait_seconds_bucket{le=\"5\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("labelrun_job_queue_wait_seconds_count 2\n"));

  EXPECT_EQ(next.changed.size(), 7u);
  metrics.OnLogLine("j1", runtime::LogStream::kStdout, "loss=1");
  metrics.OnGpuSamples("j1", {});
  EXPECT_EQ(next.lines, std::vector<std::string>{"j1:loss=1"});
  EXPECT_EQ(next.samples, std::vector<std::string>{"j1"});
}

TEST(JobOutcomeMetrics, BuildInfoNamesTheVersionAndCommit) {
  std::string out;
  app::RenderBuildInfo(out);
  EXPECT_THAT(
      out,
      ::testing::MatchesRegex(
          "(.|\n)*\nlabelrun_build_info\\{version=\"[0-9.]+\",commit=\"[0-9a-f]{12}\"\\} 1\n"));
}

}  // namespace
}  // namespace labelrun::testing
