#include "labelrun/report/job_page.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "failure.hpp"
#include "labelrun/core/json_writer.hpp"
#include "labelrun/core/strings.hpp"
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
pre.at-end{display:flex;flex-direction:column-reverse}
form.action{display:inline;margin-right:8px}
header form{display:inline;margin-left:12px}
label{display:block;margin:8px 0}
.error-box{border-left:4px solid #cf222e;padding-left:8px}
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

std::string Duration(const JobView& job, int64_t now_unix_ms = 0) {
  if (!job.started_unix_ms) return "";
  const int64_t end = job.finished_unix_ms ? *job.finished_unix_ms : now_unix_ms;
  if (end == 0) return "";
  return FormatDuration(
      std::chrono::milliseconds(std::max<int64_t>(0, end - *job.started_unix_ms)));
}

void FactRow(std::string& out, std::string_view name, const std::string& html) {
  out +=
      "<tr><th>" + std::string(name) + "</th><td>" + (html.empty() ? "—" : html) + "</td></tr>\n";
}

std::string CodeOrEmpty(const Redactor& r, std::string_view s) {
  return s.empty() ? "" : "<code>" + E(r, s) + "</code>";
}

// "owner/name" as GitHub spells them: only then is it put in a link to GitHub.
bool IsRepoName(std::string_view repo) {
  const size_t slash = repo.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == repo.size()) return false;
  for (char c : repo) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '/') {
      return false;
    }
  }
  return repo.find('/', slash + 1) == std::string_view::npos && repo.find("..") == repo.npos;
}

// "signed in as <user> [Log out]" in a page's header; nothing without a user.
void SessionHeader(std::string& out, std::string_view user, std::string_view csrf,
                   std::string_view logout) {
  if (user.empty()) return;
  out += " · signed in as <strong id=\"user\">" + Attr(user) + "</strong>";
  if (logout.empty()) return;
  out += "<form method=\"post\" action=\"" + Attr(logout) +
         "\"><input type=\"hidden\" name=\"csrf\" value=\"" + Attr(csrf) +
         "\"><button type=\"submit\">Log out</button></form>";
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

// Served as /assets/labelrun.js. A running job's page names its live JSON in
// <main data-live>; each part the JSON carries replaces the element of that id.
constexpr std::string_view kPageScript = R"((function () {
  'use strict';
  var main = document.querySelector('main[data-live]');
  if (!main || !window.fetch) return;
  var src = main.getAttribute('data-live');
  var parts = ['badge', 'status', 'error', 'facts', 'metrics', 'actions'];
  function apply(j) {
    parts.forEach(function (name) {
      var el = document.getElementById(name);
      if (el && typeof j[name] === 'string' && el.innerHTML !== j[name]) el.innerHTML = j[name];
    });
    var pre = document.getElementById('log');
    if (pre && typeof j.log === 'string' && pre.textContent !== j.log) {
      var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = j.log;
      if (atEnd || j.final) pre.scrollTop = pre.scrollHeight;
    }
    if (typeof j.title === 'string') document.title = j.title;
    main.setAttribute('data-state', j.state);
  }
  function tick() {
    fetch(src, {cache: 'no-store', credentials: 'same-origin'})
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (j) {
        apply(j);
        if (j.final) { main.removeAttribute('data-live'); return; }
        setTimeout(tick, 3000);
      })
      .catch(function () { setTimeout(tick, 10000); });
  }
  setTimeout(tick, 3000);
})();
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
                                    HashSource(ElementText(kStyle)) +
                                    "; script-src 'self'; connect-src 'self'; img-src data:; "
                                    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
  return policy;
}

std::string_view PageScript() { return kPageScript; }

std::string RenderJobList(const std::vector<JobListEntry>& jobs, std::optional<JobState> filter,
                          std::string_view list_path, const Redactor& redactor,
                          std::string_view older_href) {
  return RenderJobList(jobs, filter, list_path, redactor, older_href, JobListSession{});
}

std::string RenderJobList(const std::vector<JobListEntry>& jobs, std::optional<JobState> filter,
                          std::string_view list_path, const Redactor& redactor,
                          std::string_view older_href, const JobListSession& session) {
  std::string out;
  out.reserve(4096 + jobs.size() * 512);
  Head(out,
       filter ? "labelrun · " + std::string(JobStateName(*filter)) + " jobs" : "labelrun · jobs");
  out += "<header><strong>labelrun</strong>";
  SessionHeader(out, session.user, session.csrf, session.logout);
  out += "</header>\n<main>\n<h1>Jobs</h1>\n";
  const std::string base = Attr(list_path);
  const std::string repo_query =
      session.repo.empty() ? "" : "repo=" + Attr(UrlEncode(session.repo));
  auto filtered = [&](std::string_view state) {
    std::string q = repo_query;
    if (!state.empty()) q += std::string(q.empty() ? "" : "&amp;") + "state=" + std::string(state);
    return base + (q.empty() ? "" : "?" + q);
  };
  out += "<nav>State: <a href=\"" + filtered("") + "\"" + (filter ? "" : " aria-current=\"page\"") +
         ">all</a>";
  for (JobState s : kStates) {
    const std::string name(JobStateName(s));
    out += " <a href=\"" + filtered(name) + "\"" + (filter == s ? " aria-current=\"page\"" : "") +
           ">" + name + "</a>";
  }
  out += "</nav>\n";
  if (!session.user.empty()) {
    out += "<form class=\"filter\" method=\"get\" action=\"" + base +
           "\"><label>Repository <input name=\"repo\" placeholder=\"owner/name\" value=\"" +
           Attr(session.repo) + "\"></label>";
    if (filter) {
      out += "<input type=\"hidden\" name=\"state\" value=\"" + std::string(JobStateName(*filter)) +
             "\">";
    }
    out += "<button type=\"submit\">Filter</button>";
    if (!session.repo.empty()) {
      out += " <a href=\"" + base +
             (filter ? "?state=" + std::string(JobStateName(*filter)) : std::string()) +
             "\">all repositories</a>";
    }
    out += "</form>\n";
  }
  out +=
      "<table>\n<thead><tr><th>Job</th><th>State</th><th>Repository</th><th>Issue</th>"
      "<th>Rule</th><th>Host</th><th>Created</th><th>Duration</th></tr></thead>\n<tbody>\n";
  size_t shown = 0;
  for (const JobListEntry& entry : jobs) {
    const JobView& job = entry.view;
    if (filter && job.state != *filter) continue;
    ++shown;
    std::string repo = E(redactor, job.repo);
    if (!session.user.empty()) {
      std::string q = "repo=" + Attr(UrlEncode(job.repo));
      if (filter) q += "&amp;state=" + std::string(JobStateName(*filter));
      repo = "<a href=\"" + base + "?" + q + "\">" + repo + "</a>";
    }
    out += "<tr><td><a href=\"" + Attr(entry.href) + "\"><code>" + E(redactor, job.id) +
           "</code></a></td><td>" + StateBadge(job.state) + "</td><td>" + repo +
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

std::string RenderLoginPage(std::string_view error, std::string_view next) {
  std::string out;
  Head(out, "labelrun · sign in");
  out += "<header><strong>labelrun</strong></header>\n<main>\n<h1>Sign in</h1>\n";
  if (!error.empty()) {
    out += "<p class=\"error-box\" id=\"login-error\">" + Attr(error) + "</p>\n";
  }
  out +=
      "<form method=\"post\" action=\"/login\">\n"
      "<label>Your name (shown on what you do, e.g. \"cancelled by you\") "
      "<input name=\"user\" required maxlength=\"39\" pattern=\"[A-Za-z0-9._\\-]+\" "
      "autocomplete=\"username\"></label>\n"
      "<label>Dashboard token <input name=\"token\" type=\"password\" required "
      "autocomplete=\"current-password\"></label>\n"
      "<input type=\"hidden\" name=\"next\" value=\"" +
      Attr(next) +
      "\">\n<button type=\"submit\">Sign in</button>\n</form>\n</main>\n</body>\n</html>\n";
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

namespace {

struct Parts {
  std::string badge, status, error, facts, metrics, log, actions;
};

std::string ErrorHtml(const JobView& job, const LogTail& tail, const Redactor& redactor) {
  const std::vector<std::string> error = FailureLines(job, tail.error(), redactor);
  if (error.empty()) return "";
  std::string out = "<pre class=\"error\">";
  for (const std::string& line : error) {
    text::AppendHtmlEscaped(line, out);
    out += '\n';
  }
  out += "</pre>\n<p><a href=\"#log\">The log, where it ends</a></p>\n";
  return out;
}

std::string FactsHtml(const JobView& job, const JobPageLinks& links, const Redactor& redactor) {
  std::string out;
  std::string where = E(redactor, job.repo);
  if (job.issue > 0) where += " #" + std::to_string(job.issue);
  if (!links.github_url.empty() && job.issue > 0 && IsRepoName(job.repo)) {
    where = "<a href=\"" +
            Attr(links.github_url + "/" + job.repo + "/issues/" + std::to_string(job.issue)) +
            "\">" + where + "</a>";
  }
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
  std::string duration = Duration(job, links.now_unix_ms);
  if (!duration.empty()) duration = "<span id=\"duration\">" + duration + "</span>";
  FactRow(out, "Duration", duration);
  FactRow(out, "Exit code", job.exit_code ? std::to_string(*job.exit_code) : "");
  return out;
}

std::string ActionsHtml(const JobView& job, const JobPageLinks& links) {
  if (links.user.empty()) return "";
  auto form = [&](const std::string& target, std::string_view name, std::string_view id) {
    return "<form class=\"action\" method=\"post\" action=\"" + Attr(target) + "\" id=\"" +
           std::string(id) + "\"><input type=\"hidden\" name=\"csrf\" value=\"" + Attr(links.csrf) +
           "\"><button type=\"submit\">" + std::string(name) + "</button></form>";
  };
  if (!IsFinal(job.state))
    return links.cancel.empty() ? "" : form(links.cancel, "Cancel", "cancel");
  return links.retry.empty() ? "" : form(links.retry, "Retry", "retry");
}

Parts RenderParts(const JobView& job, const JobMetrics& metrics, const LogTail& tail,
                  const GpuStats& gpus, const JobPageLinks& links, const Redactor& redactor) {
  Parts p;
  p.badge = StateBadge(job.state);
  p.status = "<p class=\"status\">" + StatusText(job, tail, redactor) + "</p>";
  p.error = ErrorHtml(job, tail, redactor);
  p.facts = "<tbody>\n" + FactsHtml(job, links, redactor) + "</tbody>\n";
  MetricsSection(p.metrics, job, metrics, redactor);
  GpuSection(p.metrics, gpus, redactor);
  p.log = text::CleanUtf8(redactor.Redact(tail.Text()), true);
  p.actions = ActionsHtml(job, links);
  return p;
}

// As text; the page escapes it.
std::string PageTitle(const JobView& job, const Redactor& redactor) {
  return "labelrun · job " + redactor.Redact(text::CleanUtf8(job.id)) + " · " +
         std::string(JobStateName(job.state));
}

}  // namespace

std::string RenderJobLiveJson(const JobView& job, const JobMetrics& metrics, const LogTail& tail,
                              const GpuStats& gpus, const JobPageLinks& links,
                              const Redactor& redactor) {
  const Parts p = RenderParts(job, metrics, tail, gpus, links, redactor);
  JsonWriter w(4096 + p.log.size() + p.metrics.size());
  w.BeginObject()
      .Key("state")
      .String(JobStateName(job.state))
      .Key("final")
      .Bool(IsFinal(job.state))
      .Key("title")
      .String(PageTitle(job, redactor))
      .Key("badge")
      .String(p.badge)
      .Key("status")
      .String(p.status)
      .Key("error")
      .String(p.error)
      .Key("facts")
      .String(p.facts)
      .Key("metrics")
      .String(p.metrics)
      .Key("log")
      .String(p.log)
      .Key("actions")
      .String(p.actions)
      .EndObject();
  return w.Take();
}

std::string RenderJobPage(const JobView& job, const JobMetrics& metrics, const LogTail& tail,
                          const GpuStats& gpus, const JobPageLinks& links,
                          const Redactor& redactor) {
  std::string out;
  out.reserve(32 * 1024);
  const Parts p = RenderParts(job, metrics, tail, gpus, links, redactor);
  const std::string id = E(redactor, job.id);
  Head(out, text::HtmlEscape(PageTitle(job, redactor)));
  out += links.list.empty() ? "<header><strong>labelrun</strong>"
                            : "<header><a href=\"" + Attr(links.list) + "\">labelrun jobs</a>";
  SessionHeader(out, links.user, links.csrf, links.logout);
  out += "</header>\n";
  const bool live = !IsFinal(job.state) && !links.live.empty() && !links.script.empty();
  out += live ? "<main data-live=\"" + Attr(links.live) + "\">\n" : "<main>\n";
  out += "<h1>Job <code>" + id + "</code> <span id=\"badge\">" + p.badge + "</span></h1>\n";
  out += "<div id=\"status\">" + p.status + "</div>\n";
  out += "<div id=\"error\" class=\"error-top\">" + p.error + "</div>\n";
  if (!links.user.empty()) out += "<div id=\"actions\">" + p.actions + "</div>\n";
  out += "<table class=\"facts\" id=\"facts\">\n" + p.facts + "</table>\n";
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
  out += "<div id=\"metrics\">\n" + p.metrics + "</div>\n";
  // A failed job's log opens at its end, where the error is: a reversed flex column
  // starts scrolled to the bottom, with no script.
  const bool at_end = job.state == JobState::kFailed || job.state == JobState::kTimedOut;
  out += "<section>\n<h2>Log</h2>\n<pre id=\"log\"";
  if (at_end) out += " class=\"at-end\"";
  // A newline right after <pre> is dropped by HTML parsers; this one keeps a first empty
  // log line.
  out += ">\n";
  if (at_end) out += "<span>";
  text::AppendHtmlEscaped(p.log, out);
  if (at_end) out += "</span>";
  out += "</pre>\n</section>\n</main>\n";
  if (live) out += "<script src=\"" + Attr(links.script) + "\"></script>\n";
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace labelrun::report
