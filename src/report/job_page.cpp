#include "labelrun/report/job_page.hpp"

#include <openssl/evp.h>

#include <chrono>
#include <cmath>
#include <stdexcept>

#include "failure.hpp"
#include "labelrun/core/units.hpp"
#include "labelrun/report/charts.hpp"
#include "markdown.hpp"
#include "text.hpp"

namespace labelrun::report {
namespace {

constexpr JobState kStates[] = {JobState::kQueued,    JobState::kPulling,   JobState::kStarting,
                                JobState::kRunning,   JobState::kSucceeded, JobState::kFailed,
                                JobState::kCancelled, JobState::kTimedOut};

constexpr std::string_view kStyle = R"(<style>
body{font:14px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1f2328;background:#fff}
header{padding:10px 24px;border-bottom:1px solid #d0d7de;background:#f6f8fa}
main{padding:16px 24px;max-width:1100px}
table{border-collapse:collapse;margin:8px 0 16px}
th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:left;vertical-align:top}
td.num{text-align:right}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;max-height:480px;overflow:auto;white-space:pre-wrap;word-break:break-all}
.state{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;background:#eaeef2}
.state-running,.state-pulling,.state-starting{background:#ddf4ff;color:#0969da}
.state-succeeded{background:#dafbe1;color:#1a7f37}
.state-failed,.state-timed_out{background:#ffebe9;color:#cf222e}
.state-cancelled{background:#fff8c5;color:#9a6700}
nav a{margin-right:8px}
a[aria-current]{font-weight:600;text-decoration:none;color:#1f2328}
svg{max-width:100%;height:auto}
</style>
)";

// Cleaned first, then redacted (so that dropped bytes cannot join a secret's pieces after
// the redactor looked), then escaped.
std::string E(const Redactor& r, std::string_view s) {
  return text::HtmlEscape(r.Redact(text::CleanUtf8(s)));
}

std::string Attr(std::string_view s) { return text::HtmlEscape(text::CleanUtf8(s)); }

std::string StateBadge(JobState state) {
  const std::string name(JobStateName(state));
  std::string label = name;
  for (char& c : label) c = c == '_' ? ' ' : c;
  return "<span class=\"state state-" + name + "\">" + label + "</span>";
}

void Head(std::string& out, const std::string& title) {
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + title + "</title>\n<link rel=\"icon\" href=\"data:,\">\n";
  out += kStyle;
  out += "</head>\n<body>\n";
}

std::string Duration(const JobView& job) {
  if (!job.started_unix_ms || !job.finished_unix_ms) return "";
  return FormatDuration(std::chrono::milliseconds(
      std::max<int64_t>(0, *job.finished_unix_ms - *job.started_unix_ms)));
}

void FactRow(std::string& out, std::string_view name, const std::string& html) {
  out +=
      "<tr><th>" + std::string(name) + "</th><td>" + (html.empty() ? "—" : html) + "</td></tr>\n";
}

std::string CodeOrEmpty(const Redactor& r, std::string_view s) {
  return s.empty() ? "" : "<code>" + E(r, s) + "</code>";
}

std::string StatusText(const JobView& job, const LogTail& tail, const Redactor& r) {
  if (job.state == JobState::kFailed) {
    // "Failed: <what went wrong> — <reason>.", each said once.
    const Failure failure = DescribeFailure(job, tail.error(), r);
    std::string out = "Failed";
    if (!failure.headline.empty()) out += ": " + E(r, failure.headline);
    if (!failure.detail.empty()) {
      out += " — " + E(r, failure.detail);
    } else if (job.exit_code) {
      out += failure.headline.empty() ? " with exit code " : " — exit code ";
      out += std::to_string(*job.exit_code);
    }
    return out + ".";
  }
  std::string out;
  switch (job.state) {
    case JobState::kQueued:
      out = job.queue_position > 0
                ? "Queued, position " + std::to_string(job.queue_position) + " in the queue."
                : "Queued.";
      break;
    case JobState::kPulling:
      out = "Pulling the image.";
      break;
    case JobState::kStarting:
      out = "Starting.";
      break;
    case JobState::kRunning:
      out = "Running.";
      break;
    case JobState::kSucceeded:
      out = "Succeeded.";
      break;
    case JobState::kFailed:  // above
      break;
    case JobState::kCancelled:
      out = "Cancelled.";
      break;
    case JobState::kTimedOut:
      out = "Timed out.";
      break;
  }
  out = text::HtmlEscape(out);
  if (!job.reason.empty()) out += " " + E(r, job.reason);
  return out;
}

// "0.398 @ epoch 4", with " (best)" when this extreme is the metric's best (see GoalFor).
std::string Extreme(const Redactor& r, const Series& s, const std::optional<Sample>& at,
                    Goal goal) {
  if (!at) return "—";
  std::string out = text::FormatValue(at->value) + " @ " + E(r, s.step_label()) + " " +
                    text::FormatStep(at->step);
  return s.goal() == goal ? out + " (best)" : out;
}

void MetricsSection(std::string& out, const JobView& job, const JobMetrics& metrics,
                    const Redactor& r) {
  for (const JobMetrics::Entry* curve : metrics.CurvesFor(job.metrics)) {
    const std::string key = text::CleanUtf8(r.Redact(curve->key));
    out += "<section>\n<h2>" + text::HtmlEscape(key) + "</h2>\n";
    out += RenderLossSvg(curve->series, key);
    out += "</section>\n";
  }
  out += "<section>\n<h2>Metrics</h2>\n";
  if (metrics.entries().empty()) {
    out += "<p>No metrics in the log yet.</p>\n</section>\n";
    return;
  }
  out +=
      "<table>\n<thead><tr><th>Metric</th><th>First</th><th>Last</th><th>Min</th><th>Max</th>"
      "<th>Points</th><th>Trend</th></tr></thead>\n<tbody>\n";
  for (const JobMetrics::Entry& e : metrics.entries()) {
    const Series& s = e.series;
    out += "<tr><td><code>" + E(r, e.key) + "</code></td><td class=\"num\">" +
           (s.first() ? text::FormatValue(s.first()->value) : "—") + "</td><td class=\"num\">" +
           (s.last() ? text::FormatValue(s.last()->value) : "—") + "</td><td class=\"num\">" +
           Extreme(r, s, s.min(), Goal::kMinimize) + "</td><td class=\"num\">" +
           Extreme(r, s, s.max(), Goal::kMaximize) + "</td><td class=\"num\">" +
           markdown::Grouped(s.count()) + "</td><td>" + Sparkline(s) + "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n</section>\n";
}

void GpuSection(std::string& out, const GpuStats& gpus, const Redactor& r) {
  if (gpus.empty()) return;
  out +=
      "<section>\n<h2>GPU utilisation</h2>\n<table>\n<thead><tr><th>GPU</th><th>Mean</th>"
      "<th>Max</th><th>Memory (max / total)</th><th>Utilisation</th></tr></thead>\n<tbody>\n";
  for (const GpuSummary& g : gpus.Summaries()) {
    std::string memory = g.max_memory_used_bytes ? FormatBytes(*g.max_memory_used_bytes) : "—";
    if (g.memory_total_bytes) memory += " / " + FormatBytes(*g.memory_total_bytes);
    const Series* util = gpus.Utilization(g.gpu);
    out += "<tr><td><code>" + E(r, g.gpu) + "</code></td><td class=\"num\">" +
           std::to_string(std::lround(g.mean_utilization)) + "%</td><td class=\"num\">" +
           std::to_string(std::lround(g.max_utilization)) + "%</td><td class=\"num\">" + memory +
           "</td><td>" + (util ? Sparkline(*util) : "") + "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n</section>\n";
}

constexpr std::string_view kRefreshScript = R"(<script>
(function () {
  var pre = document.getElementById('log');
  var src = pre && pre.getAttribute('data-src');
  if (!src || !window.fetch) return;
  function tick() {
    fetch(src, {cache: 'no-store', credentials: 'same-origin'})
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (t) {
        var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.textContent = t;
        if (atEnd) pre.scrollTop = pre.scrollHeight;
        setTimeout(tick, 5000);
      })
      .catch(function () { setTimeout(tick, 15000); });
  }
  setTimeout(tick, 5000);
})();
</script>
)";

// "'sha256-BASE64'": a CSP source that allows the inline element whose text is `text`.
std::string HashSource(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  std::string b64(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), digest, static_cast<int>(size));
  b64.resize(static_cast<size_t>(n));
  return "'sha256-" + b64 + "'";
}

// The text of an element written as "<tag>TEXT</tag>\n".
std::string_view ElementText(std::string_view element) {
  const size_t open = element.find('>') + 1;
  return element.substr(open, element.rfind("</") - open);
}

}  // namespace

const std::string& PageContentSecurityPolicy() {
  static const std::string policy = "default-src 'none'; style-src " +
                                    HashSource(ElementText(kStyle)) + "; script-src " +
                                    HashSource(ElementText(kRefreshScript)) +
                                    "; connect-src 'self'; img-src data:; base-uri 'none'; "
                                    "form-action 'none'; frame-ancestors 'none'";
  return policy;
}

std::string RenderJobList(const std::vector<JobListEntry>& jobs, std::optional<JobState> filter,
                          std::string_view list_path, const Redactor& redactor,
                          std::string_view older_href) {
  std::string out;
  out.reserve(4096 + jobs.size() * 512);
  Head(out,
       filter ? "labelrun · " + std::string(JobStateName(*filter)) + " jobs" : "labelrun · jobs");
  out += "<header><strong>labelrun</strong></header>\n<main>\n<h1>Jobs</h1>\n";
  const std::string base = Attr(list_path);
  out += "<nav>State: <a href=\"" + base + "\"" + (filter ? "" : " aria-current=\"page\"") +
         ">all</a>";
  for (JobState s : kStates) {
    const std::string name(JobStateName(s));
    out += " <a href=\"" + base + "?state=" + name + "\"" +
           (filter == s ? " aria-current=\"page\"" : "") + ">" + name + "</a>";
  }
  out += "</nav>\n";
  out +=
      "<table>\n<thead><tr><th>Job</th><th>State</th><th>Repository</th><th>Issue</th>"
      "<th>Rule</th><th>Host</th><th>Created</th><th>Duration</th></tr></thead>\n<tbody>\n";
  size_t shown = 0;
  for (const JobListEntry& entry : jobs) {
    const JobView& job = entry.view;
    if (filter && job.state != *filter) continue;
    ++shown;
    out += "<tr><td><a href=\"" + Attr(entry.href) + "\"><code>" + E(redactor, job.id) +
           "</code></a></td><td>" + StateBadge(job.state) + "</td><td>" + E(redactor, job.repo) +
           "</td><td class=\"num\">" + (job.issue > 0 ? "#" + std::to_string(job.issue) : "") +
           "</td><td>" + CodeOrEmpty(redactor, job.rule) + "</td><td>" + E(redactor, job.host) +
           "</td><td>" + text::FormatUtc(job.created_unix_ms) + "</td><td>" + Duration(job) +
           "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n";
  if (shown == 0) out += "<p>No jobs.</p>\n";
  if (!older_href.empty()) {
    out += "<p><a rel=\"next\" href=\"" + Attr(older_href) + "\">Older jobs</a></p>\n";
  }
  out += "</main>\n</body>\n</html>\n";
  return out;
}

std::string RenderOutputsIndex(std::string_view job_id, const std::vector<OutputLink>& files,
                               std::string_view job_href, std::string_view archive_href,
                               const Redactor& redactor, std::string_view truncation) {
  std::string out;
  out.reserve(2048 + files.size() * 256);
  const std::string id = E(redactor, job_id);
  Head(out, "labelrun · outputs of " + std::string(job_id));
  out += "<header><strong>labelrun</strong> · <a href=\"" + Attr(job_href) + "\"><code>" + id +
         "</code></a></header>\n<main>\n<h1>Outputs of <code>" + id + "</code></h1>\n";
  if (!truncation.empty()) {
    out +=
        "<p class=\"truncated\"><strong>Truncated:</strong> " + E(redactor, truncation) + "</p>\n";
  }
  out += "<p><a href=\"" + Attr(archive_href) + "\">Download all (tar)</a></p>\n";
  out += "<table>\n<thead><tr><th>File</th><th>Size</th></tr></thead>\n<tbody>\n";
  for (const OutputLink& f : files) {
    out += "<tr><td><a href=\"" + Attr(f.href) + "\"><code>" + E(redactor, f.path) +
           "</code></a></td><td class=\"num\">" + FormatBytes(f.size) + "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n";
  if (files.empty()) out += "<p>The outputs folder was empty.</p>\n";
  out += "</main>\n</body>\n</html>\n";
  return out;
}

std::string RenderJobPage(const JobView& job, const JobMetrics& metrics, const LogTail& tail,
                          const GpuStats& gpus, const JobPageLinks& links,
                          const Redactor& redactor) {
  std::string out;
  out.reserve(32 * 1024);
  const std::string id = E(redactor, job.id);
  Head(out, "labelrun · job " + id + " · " + std::string(JobStateName(job.state)));
  out += links.list.empty()
             ? "<header><strong>labelrun</strong></header>\n<main>\n"
             : "<header><a href=\"" + Attr(links.list) + "\">labelrun jobs</a></header>\n<main>\n";
  out += "<h1>Job <code>" + id + "</code> " + StateBadge(job.state) + "</h1>\n";
  out += "<p class=\"status\">" + StatusText(job, tail, redactor) + "</p>\n";
  if (const std::vector<std::string> error = FailureLines(job, tail.error(), redactor);
      !error.empty()) {
    out += "<pre class=\"error\">";
    for (const std::string& line : error) {
      text::AppendHtmlEscaped(line, out);
      out += '\n';
    }
    out += "</pre>\n";
  }
  out += "<table class=\"facts\">\n<tbody>\n";
  std::string where = E(redactor, job.repo);
  if (job.issue > 0) where += " #" + std::to_string(job.issue);
  FactRow(out, "Issue", where);
  FactRow(out, "Rule", CodeOrEmpty(redactor, job.rule));
  std::string image = CodeOrEmpty(redactor, job.image);
  if (!job.image_digest.empty()) image += " " + CodeOrEmpty(redactor, job.image_digest);
  FactRow(out, "Image", image);
  FactRow(out, "Host", CodeOrEmpty(redactor, job.host));
  std::string gpu_list;
  for (const std::string& g : job.gpus) {
    if (!gpu_list.empty()) gpu_list += ", ";
    gpu_list += CodeOrEmpty(redactor, g);
  }
  FactRow(out, "GPUs", gpu_list);
  FactRow(out, "Commit", CodeOrEmpty(redactor, job.commit));
  if (job.pull_request) {
    FactRow(out, "Pull request",
            "#" + std::to_string(job.issue) + " at its head " + CodeOrEmpty(redactor, job.commit) +
                (job.from_fork ? ", from a fork" : ", from this repository"));
  }
  FactRow(out, "Created", text::FormatUtc(job.created_unix_ms));
  FactRow(out, "Started", job.started_unix_ms ? text::FormatUtc(*job.started_unix_ms) : "");
  FactRow(out, "Finished", job.finished_unix_ms ? text::FormatUtc(*job.finished_unix_ms) : "");
  FactRow(out, "Duration", Duration(job));
  FactRow(out, "Exit code", job.exit_code ? std::to_string(*job.exit_code) : "");
  out += "</tbody>\n</table>\n";
  std::string link_line;
  auto link = [&](std::string_view name, const std::string& href) {
    if (href.empty()) return;
    if (!link_line.empty()) link_line += " · ";
    link_line += "<a href=\"" + Attr(href) + "\">" + std::string(name) + "</a>";
  };
  link("Full log", links.log);
  link("Chart (SVG)", links.loss_svg);
  link("Outputs", links.outputs);
  if (!link_line.empty()) out += "<p>" + link_line + "</p>\n";
  MetricsSection(out, job, metrics, redactor);
  GpuSection(out, gpus, redactor);
  const bool live = !IsFinal(job.state) && !links.log_tail.empty();
  out += "<section>\n<h2>Log</h2>\n<pre id=\"log\"";
  if (live) out += " data-src=\"" + Attr(links.log_tail) + "\"";
  // A newline right after <pre> is dropped by HTML parsers; this one keeps a first empty
  // log line.
  out += ">\n";
  text::AppendHtmlEscaped(text::CleanUtf8(redactor.Redact(tail.Text()), true), out);
  out += "</pre>\n</section>\n</main>\n";
  if (live) out += kRefreshScript;
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace labelrun::report
