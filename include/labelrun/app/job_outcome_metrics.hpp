#pragma once
// Prometheus figures of finished jobs: how many ended by rule and outcome, how
// long they ran and how long they waited in the queue. A JobObserver in front
// of the reporter: it counts what passes and hands everything on.

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "labelrun/scheduler/dispatcher.hpp"

namespace labelrun::app {

class JobOutcomeMetrics final : public scheduler::JobObserver {
 public:
  explicit JobOutcomeMetrics(scheduler::JobObserver& next) : next_(next) {}

  // The rules whose counters show as 0 before any of their jobs ends (so that
  // dashboards and alerts see the series from the start).
  void SetRules(const std::vector<std::string>& rules);

  void OnJobChanged(const store::JobRecord& job, int queue_position) override;
  void OnLogLine(const std::string& job_id, runtime::LogStream stream,
                 std::string_view text) override {
    next_.OnLogLine(job_id, stream, text);
  }
  void OnGpuSamples(const std::string& job_id,
                    const std::vector<scheduler::GpuSample>& samples) override {
    next_.OnGpuSamples(job_id, samples);
  }

  // labelrun_jobs_finished_total{rule,outcome}, labelrun_job_duration_seconds and
  // labelrun_job_queue_wait_seconds, in Prometheus' text format.
  void Render(std::string& out) const;

  struct Histogram {
    std::vector<double> bounds;    // upper bounds in seconds, ascending (+Inf implied)
    std::vector<uint64_t> counts;  // per bound, not cumulative; one more for +Inf
    double sum = 0;
    uint64_t count = 0;
    void Observe(double seconds);
  };

 private:
  // Whether `id` is seen for the first time in `seen` (bounded: the oldest ids go).
  static bool FirstTime(const std::string& id, std::unordered_set<std::string>& seen,
                        std::deque<std::string>& order);

  scheduler::JobObserver& next_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> finished_;  // (rule, outcome)
  Histogram duration_{{1, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400}, {}};
  Histogram queue_wait_{{0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 14400}, {}};
  std::unordered_set<std::string> counted_finish_, counted_start_;
  std::deque<std::string> finish_order_, start_order_;
};

// labelrun_build_info{version,commit} 1.
void RenderBuildInfo(std::string& out);

}  // namespace labelrun::app
