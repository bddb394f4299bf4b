#pragma once
// The parts of a job's comment that its check run shows too (report/check_run.cpp).
// Each is redacted and cleaned as the comment's is.

#include <cstddef>
#include <string>

#include "labelrun/report/gpu_stats.hpp"
#include "labelrun/report/job_metrics.hpp"
#include "labelrun/report/job_view.hpp"
#include "labelrun/report/log_tail.hpp"
#include "labelrun/report/redact.hpp"

namespace labelrun::report::internal {

// "**Running** on `host` since ...", one line with its '\n'.
std::string StatusLine(const JobView& job, const LogTail& tail, const Redactor& r);
// The failed job's error lines in a code block; "" when none.
std::string ErrorBlock(const JobView& job, const LogTail& tail, const Redactor& r);
// The facts table (rule, image, host, GPUs, commit, ...).
std::string FactsTable(const JobView& job, const Redactor& r);
// "#### Metrics" and its table; "" before the job runs.
std::string MetricsTable(const JobView& job, const JobMetrics& metrics, const Redactor& r);
// One sparkline line per drawn metric (no Mermaid).
std::string Sparklines(const JobView& job, const JobMetrics& metrics, const Redactor& r);
std::string GpuTable(const GpuStats& gpus, const Redactor& r);
// The log tail's last lines that fit `budget` (CommentLength) in a <details> block; "" if
// none.
std::string LogTailBlock(const LogTail& tail, const Redactor& r, size_t budget);

}  // namespace labelrun::report::internal
