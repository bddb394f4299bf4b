#pragma once
// How a failed job's status names its failure, for the comment and the job page alike.
// Private to report/.

#include <optional>
#include <string>
#include <vector>

#include "labelrun/report/job_view.hpp"
#include "labelrun/report/log_error.hpp"
#include "labelrun/report/redact.hpp"

namespace labelrun::report {

struct Failure {
  // What went wrong in a few words, shown as "Failed: <headline>": "CUDA out of memory
  // (torch.OutOfMemoryError)", "out of memory (the container hit its memory limit)".
  // Plain text, redacted; empty when nothing better than the reason is known.
  std::string headline;
  // What follows the headline: the job's reason, less what the headline already says.
  std::string detail;
};

// For a failed job: a container killed at its memory limit (the scheduler's reason
// "killed: out of memory ..."), else the Python exception the log ends in. Other states
// and failures keep their reason as the detail, with no headline.
Failure DescribeFailure(const JobView& job, const std::optional<LogError>& error,
                        const Redactor& redactor);

// The lines a failed job's error shows above the log (the last frame and the exception
// line), redacted together as the log tail is, cleaned to valid UTF-8 and each cut to at
// most kMaxFailureLineChars characters; empty unless the headline names that exception.
inline constexpr size_t kMaxFailureLineChars = 600;
std::vector<std::string> FailureLines(const JobView& job, const std::optional<LogError>& error,
                                      const Redactor& redactor);

}  // namespace labelrun::report
