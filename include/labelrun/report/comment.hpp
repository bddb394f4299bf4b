#pragma once
// The one issue comment per job: rendered in full on every update, edited in place.

#include <array>
#include <cstddef>
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

// GitHub refuses longer comment bodies ("Body is too long (maximum is 65536 characters)").
constexpr size_t kGithubCommentLimit = 65536;
// Smaller limits are raised to this: below it the summary itself may not fit.
constexpr size_t kMinCommentLimit = 2048;

// "<!-- labelrun:job=ID -->", where every byte of the id but letters, digits and `_ . -`
// becomes '_' (and so does the second '-' of "--"), so that it cannot end the HTML
// comment early. At most 128 bytes of the id are used.
std::string CommentMarker(std::string_view job_id);
// The job id of the first marker in a comment body, if any.
std::optional<std::string> FindJobMarker(std::string_view body);

// A body's length as counted against the limit, on the safe side of any way GitHub may
// count it: UTF-16 code units (never fewer than code points), plus one for every '\n' in
// case line breaks are stored as "\r\n". Invalid UTF-8 counts one per byte.
size_t CommentLength(std::string_view body);

// A whole comment body redacted on its way to GitHub (every comment labelrun posts passes
// here), except the signatures of labelrun's own signed links: a Markdown link destination
// `](<URL>)` where URL starts with `link_base` + "/jobs/" keeps its `sig=` value (hex, as
// report/link_signing.hpp makes it) when the rest of the URL holds nothing to redact.
// Everything else is as Redactor::Redact leaves it. An empty link_base exempts nothing.
std::string RedactComment(const Redactor& redactor, std::string_view body,
                          std::string_view link_base);

// The status label LABELS.md defines for a state: queued, pulling and starting are
// "status:queued" (the container does not run yet); running is "status:in-progress";
// succeeded is "status:done"; failed, cancelled and timed out are "status:failed".
std::string_view StatusLabel(JobState state);
// Every status label labelrun sets, so that the stale ones can be removed.
constexpr std::array<std::string_view, 4> kStatusLabels = {"status:queued", "status:in-progress",
                                                           "status:done", "status:failed"};

// The comment body, in this order: the marker; a status line in words ("**Queued**
// (position 3 in the queue)", "**Failed**: CUDA out of memory (torch.OutOfMemoryError)
// after 95ms — exited with code 1": a failed job is named by its container's OOM kill or
// by the Python exception its log ends in, LogTail::error()); for such an exception, its
// last frame and exception line in a code block; a table
// of rule, image with digest, host, GPUs, commit, started, duration, exit code; a metrics
// table (first, last, min @ step, max @ step, points per metric; the extreme that is best is
// marked "(best)" only for metrics with a direction, see GoalFor; steps named by the log's
// step label); the job's metrics (JobView::metrics, see JobMetrics::CurvesFor) as Mermaid
// xycharts (MermaidCharts) and a sparkline line each; GPU utilisation
// (mean, max, memory); the log tail in a <details> block whose code fence is longer than
// any backtick run inside it; links (empty ones left out).
//
// Every user-derived string (reason, names, metric keys, log lines) is redacted, cleaned
// to valid UTF-8 and escaped for where it goes. The body's CommentLength never exceeds
// `limit`: the summary is kept whole and the log tail loses whole lines from the top
// until it fits. Deterministic: no clock is read, so running jobs show their start time
// rather than an elapsed time.
// REQUIRES: limit >= kMinCommentLimit (smaller values are raised to it).
std::string RenderComment(const JobView& job, const JobMetrics& metrics, const LogTail& tail,
                          const GpuStats& gpus, const Links& links, const Redactor& redactor,
                          size_t limit = kGithubCommentLimit);

}  // namespace labelrun::report
