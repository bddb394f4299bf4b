#pragma once
// A pull request job's check run on its head commit: the same facts as its comment,
// shaped for GitHub's Checks tab. Pure: the caller sends the body.

#include <optional>
#include <string>
#include <string_view>

#include "labelrun/core/job.hpp"
#include "labelrun/report/gpu_stats.hpp"
#include "labelrun/report/job_metrics.hpp"
#include "labelrun/report/job_view.hpp"
#include "labelrun/report/log_tail.hpp"
#include "labelrun/report/redact.hpp"

namespace labelrun::report {

// GitHub's limit on each of output.title, output.summary and output.text.
constexpr size_t kCheckRunOutputLimit = 65535;

// "queued" while queued; "in_progress" from pulling to running; "completed" at the end.
std::string_view CheckRunStatus(JobState state);
// The conclusion of a final state: "success", "failure", "cancelled", "timed_out";
// nullopt while the job is not final.
std::optional<std::string_view> CheckRunConclusion(JobState state);

struct CheckRunOutput {
  std::string title;    // the status line, as plain text
  std::string summary;  // the status line, the facts, metrics table, sparklines, GPUs
  std::string text;     // the log tail
};

// Every part redacted and cleaned as the comment's are, each within `limit` characters
// (counted as report::CommentLength counts them, on the safe side).
CheckRunOutput RenderCheckRunOutput(const JobView& job, const JobMetrics& metrics,
                                    const LogTail& tail, const GpuStats& gpus,
                                    const Redactor& redactor, size_t limit = kCheckRunOutputLimit);

struct CheckRunTarget {
  std::string name;         // the rule's name
  std::string head_sha;     // the commit the job runs
  std::string details_url;  // the job page; "" for none
};

// The JSON body of POST /repos/{o}/{r}/check-runs (PATCH takes it without head_sha):
// name, head_sha, external_id (the job id), details_url, status, conclusion and
// completed_at when final, started_at once started, output, and while the job is not
// final one action, "Cancel" (identifier "cancel"); a final one has none.
std::string RenderCheckRunBody(const JobView& job, const CheckRunTarget& target,
                               const CheckRunOutput& output);

}  // namespace labelrun::report
