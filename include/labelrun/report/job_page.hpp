#pragma once
// HTML for labelrun's own job pages: GET /jobs and GET /jobs/{id}. Pure: the server
// fetches the state, builds (and signs) the links, and sends what these return.
//
// The pages are standalone HTML5 with inline CSS, an inline SVG chart and, while a job
// runs, a small inline script; they load nothing else (the favicon is an empty data: URI,
// so browsers do not ask for /favicon.ico). Everything user-derived is redacted and
// HTML-escaped.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/core/job.hpp"
#include "labelrun/report/gpu_stats.hpp"
#include "labelrun/report/job_metrics.hpp"
#include "labelrun/report/job_view.hpp"
#include "labelrun/report/log_tail.hpp"
#include "labelrun/report/redact.hpp"

namespace labelrun::report {

struct JobListEntry {
  JobView view;
  std::string href;  // the job's page
};

// GET /jobs: a table of jobs in the order given (newest first is the caller's choice),
// with filter links `<list_path>?state=<JobStateName>` for every state and `<list_path>`
// for all; when `filter` is set only jobs in that state are listed and its link is marked
// aria-current. A non-empty `older_href` (the next page, older jobs) is linked below
// the table as "Older jobs" (rel="next").
std::string RenderJobList(const std::vector<JobListEntry>& jobs, std::optional<JobState> filter,
                          std::string_view list_path, const Redactor& redactor,
                          std::string_view older_href = {});

// What the list of a signed-in user adds: the repository filter (kept by the
// state links, and each repository in the table links to its own filter), and who
// is signed in with a Log out button.
struct JobListSession {
  std::string repo;  // the repository filter in force; empty: all
  std::string user;  // empty: not signed in (no logout form)
  std::string csrf;
  std::string logout;  // POST target
};
std::string RenderJobList(const std::vector<JobListEntry>& jobs, std::optional<JobState> filter,
                          std::string_view list_path, const Redactor& redactor,
                          std::string_view older_href, const JobListSession& session);

// One collected output file with its (signed) link.
struct OutputLink {
  std::string path;
  uint64_t size = 0;
  std::string href;
};

// The index of a job's collected outputs: each file with its size and link,
// and a link to the whole archive; `truncation`, when not empty, says what
// the size cap left out.
std::string RenderOutputsIndex(std::string_view job_id, const std::vector<OutputLink>& files,
                               std::string_view job_href, std::string_view archive_href,
                               const Redactor& redactor, std::string_view truncation = {});

struct JobPageLinks {
  std::string list;      // GET /jobs; empty: the header links nowhere
  std::string log;       // the full log, text/plain
  std::string log_tail;  // text/plain tail the page fetches every 5 s while the job is not
                         // final; empty: no refresh
  std::string loss_svg;  // the chart alone
  std::string outputs;   // empty: the job has no collected outputs, and no link shows
  // Set on pages of a job that is not final: the JSON the page polls (see
  // RenderJobLiveJson) through `script`, which replaces the badge, status, facts,
  // metrics and log with what it returns, and stops once the job is final.
  std::string live;
  std::string script;  // the page's script (served as a file: the policy allows no inline one)
  // GitHub's web address ("https://github.com"): the Issue row links
  // <github_url>/<repo>/issues/<n> (GitHub forwards a pull request's number there
  // to the pull request). Empty: not linked.
  std::string github_url;
  // A signed-in dashboard user: their name, the session's CSRF token, and where the
  // action forms post. Empty `user`: no forms (a signed link is read-only).
  std::string user;
  std::string csrf;
  std::string cancel;  // POST target of the Cancel button (shown while the job is open)
  std::string retry;   // POST target of the Retry button (shown once it ended)
  std::string logout;
  int64_t now_unix_ms = 0;  // a running job's duration so far is counted to this
};

// The parts of a job page that change while it runs, as HTML (log: as text), in a
// JSON object: {"state","final","title","badge","status","error","facts","metrics",
// "log","actions"}. `links` gives the issue link and the clock (now_unix_ms).
std::string RenderJobLiveJson(const JobView& job, const JobMetrics& metrics, const LogTail& tail,
                              const GpuStats& gpus, const JobPageLinks& links,
                              const Redactor& redactor);

// GET /login: the dashboard's sign-in form (name and token), posting to /login
// with `next` (a /jobs path) carried along; `error`, when not empty, is said above it.
std::string RenderLoginPage(std::string_view error, std::string_view next);

// GET /jobs/{id}: status line, facts table, each of the job's metrics (JobView::metrics) as
// an inline SVG chart (RenderLossSvg), metrics summary (first, last, min and max, with
// "(best)" only where GoalFor gives a direction), GPU utilisation, and the log tail in
// <pre id="log">, refreshed from links.log_tail while the job runs.
std::string RenderJobPage(const JobView& job, const JobMetrics& metrics, const LogTail& tail,
                          const GpuStats& gpus, const JobPageLinks& links,
                          const Redactor& redactor);

// The Content-Security-Policy of the pages above: their own inline <style> (by
// hash), scripts and fetches from the same origin, forms posting to the same
// origin, data: images (the favicon), and nothing else; no framing, no <base>.
const std::string& PageContentSecurityPolicy();

// The pages' script (served at /assets/labelrun.js): polls a running job's
// `live` JSON every 3 s and swaps the parts it names; stops when the job is final.
std::string_view PageScript();

}  // namespace labelrun::report
