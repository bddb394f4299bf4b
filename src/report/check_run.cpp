#include "labelrun/report/check_run.hpp"

#include <algorithm>

#include "comment_parts.hpp"
#include "labelrun/core/json_writer.hpp"
#include "labelrun/report/comment.hpp"
#include "text.hpp"

namespace labelrun::report {
namespace {

// "2025-03-01T14:05:09Z", as GitHub takes timestamps.
std::string Iso8601(int64_t unix_ms) {
  std::string s = text::FormatUtc(unix_ms);  // "2025-03-01 14:05:09 UTC"
  if (s.size() == 23) s = s.substr(0, 10) + "T" + s.substr(11, 8) + "Z";
  return s;
}

// The status line as plain text: no emphasis or code marks, one line.
std::string PlainTitle(std::string line) {
  std::string out;
  for (char c : line) {
    if (c == '*' || c == '`' || c == '\n') continue;
    out += c;
  }
  return text::Ellipsize(out, 1000);
}

// `s` cut to whole lines that fit `limit`, with a note when something was left out.
std::string Fit(const std::string& s, size_t limit) {
  if (CommentLength(s) <= limit) return s;
  constexpr std::string_view kCut = "\n(cut to fit GitHub's limit)\n";
  std::string out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    const size_t end = nl == std::string::npos ? s.size() : nl + 1;
    std::string_view line(s.data() + start, end - start);
    if (CommentLength(out) + CommentLength(line) + CommentLength(kCut) > limit) break;
    out.append(line);
    start = end;
  }
  return out + std::string(kCut);
}

}  // namespace

std::string_view CheckRunStatus(JobState state) {
  if (state == JobState::kQueued) return "queued";
  return IsFinal(state) ? "completed" : "in_progress";
}

std::optional<std::string_view> CheckRunConclusion(JobState state) {
  switch (state) {
    case JobState::kSucceeded:
      return "success";
    case JobState::kFailed:
      return "failure";
    case JobState::kCancelled:
      return "cancelled";
    case JobState::kTimedOut:
      return "timed_out";
    default:
      return std::nullopt;
  }
}

CheckRunOutput RenderCheckRunOutput(const JobView& job, const JobMetrics& metrics,
                                    const LogTail& tail, const GpuStats& gpus,
                                    const Redactor& redactor, size_t limit) {
  limit = std::max<size_t>(limit, 1024);
  CheckRunOutput out;
  const std::string status = internal::StatusLine(job, tail, redactor);
  out.title = PlainTitle(status);
  std::string summary = status;
  for (const std::string& part :
       {internal::ErrorBlock(job, tail, redactor), internal::FactsTable(job, redactor),
        internal::MetricsTable(job, metrics, redactor),
        internal::Sparklines(job, metrics, redactor), internal::GpuTable(gpus, redactor)}) {
    if (!part.empty()) summary += "\n" + part;
  }
  out.summary = Fit(summary, limit);
  out.text = internal::LogTailBlock(tail, redactor, limit);
  return out;
}

std::string RenderCheckRunBody(const JobView& job, const CheckRunTarget& target,
                               const CheckRunOutput& output) {
  JsonWriter w(output.summary.size() + output.text.size() + 512);
  w.BeginObject();
  w.Key("name").String(text::CleanUtf8(target.name));
  w.Key("head_sha").String(text::CleanUtf8(target.head_sha));
  w.Key("external_id").String(text::CleanUtf8(job.id));
  if (!target.details_url.empty()) w.Key("details_url").String(text::CleanUtf8(target.details_url));
  w.Key("status").String(CheckRunStatus(job.state));
  if (job.started_unix_ms) w.Key("started_at").String(Iso8601(*job.started_unix_ms));
  if (std::optional<std::string_view> conclusion = CheckRunConclusion(job.state)) {
    w.Key("conclusion").String(*conclusion);
    w.Key("completed_at").String(Iso8601(job.finished_unix_ms.value_or(job.created_unix_ms)));
  }
  w.Key("output").BeginObject();
  w.Key("title").String(text::CleanUtf8(output.title));
  w.Key("summary").String(text::CleanUtf8(output.summary, /*keep_newlines=*/true));
  if (!output.text.empty()) {
    w.Key("text").String(text::CleanUtf8(output.text, /*keep_newlines=*/true));
  }
  w.EndObject();
  w.Key("actions").BeginArray();
  if (!IsFinal(job.state)) {
    w.BeginObject();
    w.Key("label").String("Cancel");
    w.Key("description").String("Stop this labelrun job");
    w.Key("identifier").String("cancel");
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace labelrun::report
