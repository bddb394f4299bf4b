#include "labelrun/app/job_outcome_metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "labelrun/core/job.hpp"
#include "labelrun/core/version.hpp"

namespace labelrun::app {
namespace {

// Job ids remembered to count each job once: far more than ever run at once.
constexpr size_t kRemembered = 4096;

std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The shortest text that reads back as `v` ("0.1", not "0.10000000000000001").
std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void RenderHistogram(const std::string& name, const std::string& help,
                     const JobOutcomeMetrics::Histogram& h, std::string& out) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    out +=
        name + "_bucket{le=\"" + Number(h.bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(h.count) + "\n";
  out += name + "_sum " + Number(h.sum) + "\n";
  out += name + "_count " + std::to_string(h.count) + "\n";
}

}  // namespace

void JobOutcomeMetrics::Histogram::Observe(double seconds) {
  if (counts.size() != bounds.size() + 1) counts.assign(bounds.size() + 1, 0);
  const size_t i =
      static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  ++counts[i];
  sum += seconds;
  ++count;
}

bool JobOutcomeMetrics::FirstTime(const std::string& id, std::unordered_set<std::string>& seen,
                                  std::deque<std::string>& order) {
  if (!seen.insert(id).second) return false;
  order.push_back(id);
  if (order.size() > kRemembered) {
    seen.erase(order.front());
    order.pop_front();
  }
  return true;
}

void JobOutcomeMetrics::SetRules(const std::vector<std::string>& rules) {
  std::lock_guard lock(mu_);
  for (const std::string& rule : rules) {
    for (JobState s :
         {JobState::kSucceeded, JobState::kFailed, JobState::kCancelled, JobState::kTimedOut}) {
      finished_.try_emplace({rule, std::string(JobStateName(s))}, 0);
    }
  }
}

void JobOutcomeMetrics::OnJobChanged(const store::JobRecord& job, int queue_position) {
  {
    std::lock_guard lock(mu_);
    // The queue wait ends when the job leaves the queue for a host.
    if (job.started_ms && FirstTime(job.id, counted_start_, start_order_)) {
      queue_wait_.Observe(std::max<int64_t>(0, *job.started_ms - job.created_ms) / 1000.0);
    }
    if (IsFinal(job.state) && FirstTime(job.id, counted_finish_, finish_order_)) {
      ++finished_[{job.spec.rule, std::string(JobStateName(job.state))}];
      if (job.started_ms && job.finished_ms) {
        duration_.Observe(std::max<int64_t>(0, *job.finished_ms - *job.started_ms) / 1000.0);
      }
    }
  }
  next_.OnJobChanged(job, queue_position);
}

void JobOutcomeMetrics::Render(std::string& out) const {
  std::lock_guard lock(mu_);
  out +=
      "# HELP labelrun_jobs_finished_total Jobs that ended, by rule and outcome.\n"
      "# TYPE labelrun_jobs_finished_total counter\n";
  for (const auto& [key, n] : finished_) {
    out += "labelrun_jobs_finished_total{rule=\"" + Escape(key.first) + "\",outcome=\"" +
           Escape(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  RenderHistogram("labelrun_job_duration_seconds",
                  "How long finished jobs ran, from container start to end.", duration_, out);
  RenderHistogram("labelrun_job_queue_wait_seconds",
                  "How long jobs waited from their decision to a host taking them.", queue_wait_,
                  out);
}

void RenderBuildInfo(std::string& out) {
  out +=
      "# HELP labelrun_build_info The running labelrun's version and source commit.\n"
      "# TYPE labelrun_build_info gauge\n"
      "labelrun_build_info{version=\"" +
      Escape(kVersion) + "\",commit=\"" + Escape(kCommit) + "\"} 1\n";
}

}  // namespace labelrun::app
