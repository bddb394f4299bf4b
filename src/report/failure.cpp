#include "failure.hpp"

#include "text.hpp"

namespace labelrun::report {
namespace {

// How the scheduler words a container that the kernel killed at its memory limit.
constexpr std::string_view kOomKilled = "killed: out of memory";

bool OomKilled(const JobView& job) {
  return job.state == JobState::kFailed && job.reason.rfind(kOomKilled, 0) == 0;
}

}  // namespace

Failure DescribeFailure(const JobView& job, const std::optional<LogError>& error,
                        const Redactor& redactor) {
  Failure out;
  out.detail = job.reason;
  if (job.state != JobState::kFailed) return out;
  if (OomKilled(job)) {
    out.headline = "out of memory (the container hit its memory limit)";
    // "killed: out of memory (limit 16 GiB)" -> "limit 16 GiB"
    std::string_view rest = std::string_view(job.reason).substr(kOomKilled.size());
    while (!rest.empty() && (text::IsBlank(rest.front()) || rest.front() == '(')) {
      rest.remove_prefix(1);
    }
    while (!rest.empty() && (text::IsBlank(rest.back()) || rest.back() == ')')) {
      rest.remove_suffix(1);
    }
    out.detail = std::string(rest);
    return out;
  }
  if (error) out.headline = ErrorSummary(*error, redactor);
  return out;
}

std::vector<std::string> FailureLines(const JobView& job, const std::optional<LogError>& error,
                                      const Redactor& redactor) {
  std::vector<std::string> lines;
  if (job.state != JobState::kFailed || !error || OomKilled(job) || error->lines.empty()) {
    return lines;
  }
  std::string joined;
  for (const std::string& line : error->lines) {
    if (!joined.empty()) joined += '\n';
    joined += line;
  }
  // Together, so that a key printed over several lines is masked whole.
  const std::string redacted = text::CleanUtf8(redactor.Redact(joined), /*keep_newlines=*/true);
  size_t start = 0;
  while (start <= redacted.size()) {
    size_t nl = redacted.find('\n', start);
    if (nl == std::string::npos) nl = redacted.size();
    lines.push_back(text::Ellipsize(std::string_view(redacted).substr(start, nl - start),
                                    kMaxFailureLineChars));
    start = nl + 1;
  }
  return lines;
}

}  // namespace labelrun::report
