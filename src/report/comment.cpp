#include "labelrun/report/comment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "comment_parts.hpp"
#include "failure.hpp"
#include "labelrun/core/units.hpp"
#include "labelrun/report/charts.hpp"
#include "markdown.hpp"
#include "text.hpp"

namespace labelrun::report {
namespace {

using markdown::Code;
using markdown::Prose;

constexpr std::string_view kMarkerPrefix = "<!-- labelrun:job=";
constexpr std::string_view kMarkerSuffix = " -->";
constexpr std::string_view kDash = "—";

std::string_view StateWord(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "Queued";
    case JobState::kPulling:
      return "Pulling the image";
    case JobState::kStarting:
      return "Starting";
    case JobState::kRunning:
      return "Running";
    case JobState::kSucceeded:
      return "Succeeded";
    case JobState::kFailed:
      return "Failed";
    case JobState::kCancelled:
      return "Cancelled";
    case JobState::kTimedOut:
      return "Timed out";
  }
  return "Unknown";
}

std::optional<int64_t> DurationMs(const JobView& job) {
  if (!job.started_unix_ms || !job.finished_unix_ms) return std::nullopt;
  return std::max<int64_t>(0, *job.finished_unix_ms - *job.started_unix_ms);
}

std::string StatusLine(const JobView& job, const LogTail& tail, const Redactor& r) {
  const Failure failure = DescribeFailure(job, tail.error(), r);
  // The state word alone in bold, as every status line has it; what went wrong follows.
  std::string out = "**" + std::string(StateWord(job.state)) + "**";
  if (!failure.headline.empty()) out += ": " + Prose(r, failure.headline, 300);
  const auto duration = DurationMs(job);
  switch (job.state) {
    case JobState::kQueued:
      if (job.queue_position > 0) {
        out += " (position " + std::to_string(job.queue_position) + " in the queue)";
      }
      break;
    case JobState::kPulling:
    case JobState::kStarting:
    case JobState::kRunning:
      if (!job.host.empty()) out += " on " + Code(r, job.host, 100, false);
      if (job.state == JobState::kRunning && job.started_unix_ms) {
        out += " since " + text::FormatUtc(*job.started_unix_ms);
      }
      break;
    case JobState::kSucceeded:
      if (duration) out += " in " + FormatDuration(std::chrono::milliseconds(*duration));
      break;
    case JobState::kFailed:
    case JobState::kCancelled:
    case JobState::kTimedOut:
      if (duration) out += " after " + FormatDuration(std::chrono::milliseconds(*duration));
      break;
  }
  if (!failure.detail.empty()) {
    out += " — " + Prose(r, failure.detail, 300);
  } else if (job.state == JobState::kFailed && job.exit_code) {
    out += " — exit code " + std::to_string(*job.exit_code);
  }
  return out + "\n";
}

// A failed job's error lines (the traceback's last frame and its exception), redacted
// together as the tail is, in a code block; empty when there are none.
std::string ErrorBlock(const JobView& job, const LogTail& tail, const Redactor& r) {
  const std::vector<std::string> lines = FailureLines(job, tail.error(), r);
  if (lines.empty()) return "";
  size_t run = 0;
  for (const std::string& line : lines) run = std::max(run, markdown::LongestBacktickRun(line));
  const std::string fence(std::max<size_t>(3, run + 1), '`');
  std::string out = fence + "text\n";
  for (const std::string& line : lines) out += line + "\n";
  return out + fence + "\n";
}

std::string Row(std::string_view name, const std::string& value) {
  return "| " + std::string(name) + " | " + (value.empty() ? std::string(kDash) : value) + " |\n";
}

std::string CodeOrDash(const Redactor& r, std::string_view s, size_t max) {
  return s.empty() ? std::string() : Code(r, s, max, true);
}

std::string FactsTable(const JobView& job, const Redactor& r) {
  std::string out = "| Job | " + Code(r, job.id, 64, true) + " |\n|---|---|\n";
  out += Row("Rule", CodeOrDash(r, job.rule, 100));
  std::string image = CodeOrDash(r, job.image, 200);
  if (!job.image_digest.empty()) image += " " + Code(r, job.image_digest, 100, true);
  out += Row("Image", image);
  out += Row("Host", CodeOrDash(r, job.host, 100));
  std::string gpus;
  constexpr size_t kShownGpus = 16;
  for (size_t i = 0; i < job.gpus.size() && i < kShownGpus; ++i) {
    if (i) gpus += ", ";
    gpus += Code(r, job.gpus[i], 64, true);
  }
  if (job.gpus.size() > kShownGpus) {
    gpus += " and " + std::to_string(job.gpus.size() - kShownGpus) + " more";
  }
  if (job.gpus.empty() && !job.host.empty()) gpus = "none";
  out += Row("GPUs", gpus);
  out += Row("Commit", CodeOrDash(r, job.commit, 40));
  if (job.pull_request) {
    out += Row("Pull request", "#" + std::to_string(job.issue) + " at its head " +
                                   CodeOrDash(r, job.commit, 64) +
                                   (job.from_fork ? ", from a fork" : ", from this repository"));
  }
  out += Row("Started", job.started_unix_ms ? text::FormatUtc(*job.started_unix_ms) : "");
  std::string duration;
  if (auto d = DurationMs(job)) {
    duration = FormatDuration(std::chrono::milliseconds(*d));
  } else if (job.started_unix_ms && !IsFinal(job.state)) {
    duration = "running";
  }
  out += Row("Duration", duration);
  out += Row("Exit code", job.exit_code ? std::to_string(*job.exit_code) : "");
  return out;
}

std::string FirstOrLast(const std::optional<Sample>& s) {
  return s ? text::FormatValue(s->value) : std::string(kDash);
}

// "0.398 @ epoch 4", with " (best)" when this extreme is the metric's best (see GoalFor).
std::string Extreme(const Redactor& r, const Series& s, const std::optional<Sample>& at,
                    Goal goal) {
  if (!at) return std::string(kDash);
  std::string out = text::FormatValue(at->value) + " @ " + Prose(r, s.step_label(), 64) + " " +
                    text::FormatStep(at->step);
  return s.goal() == goal ? out + " (best)" : out;
}

std::string MetricsTable(const JobView& job, const JobMetrics& metrics, const Redactor& r) {
  if (job.state == JobState::kQueued || job.state == JobState::kPulling ||
      job.state == JobState::kStarting) {
    return "";
  }
  std::string out = "#### Metrics\n\n";
  if (metrics.entries().empty()) {
    out +=
        IsFinal(job.state) ? "No metrics were found in the log.\n" : "No metrics in the log yet.\n";
    return out;
  }
  out += "| Metric | First | Last | Min | Max | Points |\n|---|--:|--:|--:|--:|--:|\n";
  for (const JobMetrics::Entry& e : metrics.entries()) {
    const Series& s = e.series;
    std::string points = markdown::Grouped(s.count());
    if (s.non_finite_count() > 0) {
      points += " (" + markdown::Grouped(s.non_finite_count()) + " nan/inf)";
    }
    out += "| " + Code(r, e.key, 64, true) + " | " + FirstOrLast(s.first()) + " | " +
           FirstOrLast(s.last()) + " | " + Extreme(r, s, s.min(), Goal::kMinimize) + " | " +
           Extreme(r, s, s.max(), Goal::kMaximize) + " | " + points + " |\n";
  }
  if (metrics.dropped_points() > 0) {
    out += "\n" + markdown::Grouped(metrics.dropped_points()) +
           " points of further metrics were not kept (at most " +
           std::to_string(metrics.entries().size()) + " metrics per job).\n";
  }
  return out;
}

std::string Curve(const JobView& job, const JobMetrics& metrics, const Redactor& r) {
  const std::vector<const JobMetrics::Entry*> entries = metrics.CurvesFor(job.metrics);
  if (entries.empty()) return "";
  std::vector<std::string> keys;
  for (const JobMetrics::Entry* e : entries) keys.push_back(r.Redact(e->key));
  std::vector<NamedSeries> named;
  for (size_t i = 0; i < entries.size(); ++i) named.push_back({keys[i], &entries[i]->series});
  std::string out = MermaidCharts(named);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!out.empty()) out += "\n";
    out += SparklineLine(keys[i], entries[i]->series) + "\n";
  }
  return out;
}

std::string Percent(double v) { return std::to_string(std::lround(v)) + "%"; }

std::string GpuTable(const GpuStats& gpus, const Redactor& r) {
  if (gpus.empty()) return "";
  std::string out =
      "#### GPU utilisation\n\n| GPU | Mean | Max | Memory (max / total) |\n|---|--:|--:|--:|\n";
  for (const GpuSummary& g : gpus.Summaries()) {
    std::string memory =
        g.max_memory_used_bytes ? FormatBytes(*g.max_memory_used_bytes) : std::string(kDash);
    if (g.memory_total_bytes) memory += " / " + FormatBytes(*g.memory_total_bytes);
    out += "| " + Code(r, g.gpu, 64, true) + " | " + Percent(g.mean_utilization) + " | " +
           Percent(g.max_utilization) + " | " + memory + " |\n";
  }
  return out;
}

std::string LinksLine(const Links& links) {
  std::string out;
  auto add = [&](std::string_view name, const std::string& url) {
    const std::string dest = markdown::Destination(url);
    if (dest.empty()) return;
    if (!out.empty()) out += " · ";
    out += "[" + std::string(name) + "](" + dest + ")";
  };
  add("Job page", links.job_page);
  add("Full log", links.log);
  add("Outputs", links.outputs);
  return out.empty() ? out : out + "\n";
}

// The log tail's lines after redaction (of the whole tail at once, so that a private key
// spread over several lines is found) and cleaning.
std::vector<std::string> RedactedTail(const LogTail& tail, const Redactor& r) {
  const std::string redacted = text::CleanUtf8(r.Redact(tail.Text()), /*keep_newlines=*/true);
  std::vector<std::string> lines;
  if (tail.size() == 0) return lines;
  size_t start = 0;
  while (true) {
    const size_t nl = redacted.find('\n', start);
    lines.push_back(redacted.substr(start, nl == std::string::npos ? nl : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

std::string DetailsOpen(size_t shown, uint64_t total) {
  std::string summary = shown == total ? "Log: " + markdown::Grouped(total) + " lines"
                                       : "Log: last " + markdown::Grouped(shown) + " of " +
                                             markdown::Grouped(total) + " lines";
  return "<details><summary>" + summary + "</summary>\n\n";
}

// DetailsOpen at its longest for this total: the shown count as long as the total.
size_t DetailsOpenMaxLength(uint64_t total) {
  return CommentLength("<details><summary>Log: last " + markdown::Grouped(total) + " of " +
                       markdown::Grouped(total) + " lines</summary>\n\n");
}

constexpr std::string_view kDetailsClose = "\n</details>\n";

// The <details> block with as many of the last lines as fit in `budget`; empty if none.
std::string TailBlock(const std::vector<std::string>& lines, uint64_t total, size_t budget) {
  if (lines.empty()) return "";
  // The wrapper's cost is taken at its largest (every count as long as the total).
  total = std::max<uint64_t>(total, lines.size());
  const size_t wrapper =
      DetailsOpenMaxLength(total) + CommentLength(kDetailsClose) + CommentLength("text\n\n");
  if (budget <= wrapper) return "";
  size_t used = wrapper;
  size_t run = 0;
  size_t first = lines.size();
  while (first > 0) {
    const std::string& line = lines[first - 1];
    const size_t longest = std::max(run, markdown::LongestBacktickRun(line));
    const size_t fence = std::max<size_t>(3, longest + 1);
    const size_t cost = CommentLength(line) + 2;
    const size_t old_fence = std::max<size_t>(3, run + 1);
    const size_t next = used + cost + 2 * (fence - old_fence) + (first == lines.size() ? 6 : 0);
    if (next > budget) break;
    used = next;
    run = longest;
    --first;
  }
  if (first == lines.size()) return "";
  const std::string fence(std::max<size_t>(3, run + 1), '`');
  std::string out = DetailsOpen(lines.size() - first, total);
  out += fence + "text\n";
  for (size_t i = first; i < lines.size(); ++i) out += lines[i] + "\n";
  out += fence + "\n";
  out += kDetailsClose;
  return out;
}

// The id as the marker shows it: other bytes become '_' (and the second '-' of "--"), so
// nothing is deleted and no two pieces join up.
std::string MarkerId(std::string_view id) {
  std::string out(id.substr(0, 128));
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    const bool ok =
        text::IsAlnum(c) || c == '_' || c == '.' || (c == '-' && (i == 0 || out[i - 1] != '-'));
    if (!ok) out[i] = '_';
  }
  return out;
}

// MarkerId, redacted: cleaned first, so that redaction sees what is shown.
std::string RedactedMarkerId(std::string_view id, const Redactor& r) {
  const std::string shown = MarkerId(r.Redact(MarkerId(id)));
  return r.Matches(shown) ? "redacted" : shown;
}

}  // namespace

std::string CommentMarker(std::string_view job_id) {
  return std::string(kMarkerPrefix) + MarkerId(job_id) + std::string(kMarkerSuffix);
}

std::optional<std::string> FindJobMarker(std::string_view body) {
  const size_t at = body.find(kMarkerPrefix);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t start = at + kMarkerPrefix.size();
  const size_t end = body.find(kMarkerSuffix, start);
  if (end == std::string_view::npos || end == start || end - start > 128) return std::nullopt;
  return std::string(body.substr(start, end - start));
}

size_t CommentLength(std::string_view body) {
  size_t newlines = 0;
  for (char c : body) newlines += c == '\n';
  return text::Utf16Units(body) + newlines;
}

namespace {

// `url` is one of labelrun's signed links whose only secret-looking part is its signature.
bool OwnSignedLink(std::string_view url, std::string_view link_base, const Redactor& r) {
  if (link_base.empty() || url.size() <= link_base.size() + 6 ||
      url.compare(0, link_base.size(), link_base) != 0 ||
      url.compare(link_base.size(), 6, "/jobs/") != 0) {
    return false;
  }
  size_t at = url.find("?sig=");
  if (at == std::string_view::npos) at = url.find("&sig=");
  if (at == std::string_view::npos) return false;
  const size_t value = at + 5;
  size_t end = value;
  auto hex = [](char c) { return text::IsDigit(c) || (c >= 'a' && c <= 'f'); };
  while (end < url.size() && hex(url[end])) ++end;
  if (end - value < 32 || (end < url.size() && url[end] != '&')) return false;
  std::string rest(url.substr(0, value));
  rest += url.substr(end);
  return !r.Matches(rest);
}

}  // namespace

std::string RedactComment(const Redactor& redactor, std::string_view body,
                          std::string_view link_base) {
  std::string out;
  out.reserve(body.size());
  size_t pos = 0;     // start of the text not yet copied
  size_t search = 0;  // where to look for the next destination
  while (!link_base.empty()) {
    const size_t open = body.find("](<", search);
    if (open == std::string_view::npos) break;
    const size_t start = open + 3;
    const size_t close = body.find(">)", start);
    if (close == std::string_view::npos) break;
    const std::string_view url = body.substr(start, close - start);
    if (url.find('\n') == std::string_view::npos && OwnSignedLink(url, link_base, redactor)) {
      redactor.RedactTo(body.substr(pos, start - pos), out);
      out.append(url);
      pos = close;
    }
    search = start;
  }
  redactor.RedactTo(body.substr(pos), out);
  return out;
}

std::string_view StatusLabel(JobState state) {
  switch (state) {
    case JobState::kQueued:
    case JobState::kPulling:
    case JobState::kStarting:
      return kStatusLabels[0];
    case JobState::kRunning:
      return kStatusLabels[1];
    case JobState::kSucceeded:
      return kStatusLabels[2];
    case JobState::kFailed:
    case JobState::kCancelled:
    case JobState::kTimedOut:
      return kStatusLabels[3];
  }
  return kStatusLabels[3];
}

std::string RenderComment(const JobView& job, const JobMetrics& metrics, const LogTail& tail,
                          const GpuStats& gpus, const Links& links, const Redactor& redactor,
                          size_t limit) {
  limit = std::max(limit, kMinCommentLimit);
  // Parts in order; `drop` > 0 may be left out, lowest first, should a small limit need it.
  struct Part {
    std::string text;
    int drop;
  };
  std::vector<Part> parts = {
      // The id is labelrun's own, but nothing leaves unredacted.
      {std::string(kMarkerPrefix) + RedactedMarkerId(job.id, redactor) +
           std::string(kMarkerSuffix) + "\n",
       0},
      {StatusLine(job, tail, redactor), 0},
      {ErrorBlock(job, tail, redactor), 1},
      {FactsTable(job, redactor), 5},
      {MetricsTable(job, metrics, redactor), 4},
      {Curve(job, metrics, redactor), 2},
      {GpuTable(gpus, redactor), 3},
  };
  const std::string links_line = LinksLine(links);
  auto separated = [](const std::string& s) { return s.empty() ? s : "\n" + s; };
  auto head_length = [&] {
    size_t n = CommentLength(separated(links_line));
    for (const Part& p : parts) {
      n += CommentLength(p.text) + (p.text.empty() || p.drop == 0 ? 0 : 2);
    }
    return n;
  };
  // Drop parts only when the summary alone does not fit (never at GitHub's limit).
  for (int order = 1; order <= 5 && head_length() > limit; ++order) {
    for (Part& p : parts) {
      if (p.drop == order) p.text.clear();
    }
  }
  std::string body;
  for (const Part& p : parts) {
    if (p.text.empty()) continue;
    if (p.drop != 0) body += "\n";
    body += p.text;
  }
  const size_t used = CommentLength(body) + CommentLength(separated(links_line));
  if (used < limit) {
    const std::string block =
        TailBlock(RedactedTail(tail, redactor), tail.total_lines(), limit - used - 2);
    if (!block.empty()) body += "\n" + block;
  }
  body += separated(links_line);
  return body;
}

namespace internal {

std::string StatusLine(const JobView& job, const LogTail& tail, const Redactor& r) {
  return report::StatusLine(job, tail, r);
}
std::string ErrorBlock(const JobView& job, const LogTail& tail, const Redactor& r) {
  return report::ErrorBlock(job, tail, r);
}
std::string FactsTable(const JobView& job, const Redactor& r) { return report::FactsTable(job, r); }
std::string MetricsTable(const JobView& job, const JobMetrics& metrics, const Redactor& r) {
  return report::MetricsTable(job, metrics, r);
}
std::string Sparklines(const JobView& job, const JobMetrics& metrics, const Redactor& r) {
  std::string out;
  for (const JobMetrics::Entry* e : metrics.CurvesFor(job.metrics)) {
    out += SparklineLine(r.Redact(e->key), e->series) + "\n";
  }
  return out;
}
std::string GpuTable(const GpuStats& gpus, const Redactor& r) { return report::GpuTable(gpus, r); }
std::string LogTailBlock(const LogTail& tail, const Redactor& r, size_t budget) {
  return TailBlock(RedactedTail(tail, r), tail.total_lines(), budget);
}

}  // namespace internal

}  // namespace labelrun::report
