#pragma once
// What maintainers see of a job: one comment on the issue, kept up to date, and
// the status label that follows the job (status:queued -> status:in-progress ->
// status:done / status:failed). A pull request's job is also a check run on its
// head commit (queued -> in_progress -> completed), sent after each comment edit. Fed by the
// dispatcher (a scheduler::JobObserver) and rendered by report/. With GitHub configured the writes
// go through the outbox; without it (local mode) they are kept here, shown on the job pages and
// logged, marked as not sent.
//
// Edits while a job runs are throttled to one per update_interval and only sent
// when the comment changed; state changes are sent at once. Queued, running and
// the final state each reach GitHub as their own edit, in order, and before
// their label writes; a progress edit may replace one still pending. Label
// writes of a state the job has already left are dropped if not yet sent, and
// only status labels the issue may have are removed. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "labelrun/app/local_comment.hpp"
#include "labelrun/core/clock.hpp"
#include "labelrun/github/outbox_worker.hpp"
#include "labelrun/report/comment.hpp"
#include "labelrun/report/gpu_stats.hpp"
#include "labelrun/report/job_metrics.hpp"
#include "labelrun/report/job_page.hpp"
#include "labelrun/report/job_view.hpp"
#include "labelrun/report/log_tail.hpp"
#include "labelrun/report/redact.hpp"
#include "labelrun/rules/rule_set.hpp"
#include "labelrun/scheduler/dispatcher.hpp"

namespace labelrun::app {

struct ReporterOptions {
  std::chrono::milliseconds update_interval{30'000};
  std::string public_url;  // base of links in comments; empty: no links
  std::chrono::milliseconds link_ttl{7LL * 24 * 3600 * 1000};
  std::string link_key;              // HMAC key of signed links
  std::filesystem::path jobs_dir;    // the dispatcher's: logs to replay after a restart
  std::vector<std::string> secrets;  // redacted wherever job output is shown
  size_t max_jobs_kept = 256;        // finished jobs kept in memory for pages
};

// The exact values labelrun's redactor masks wherever text leaves it (comments, pages,
// API): `held` (the webhook secrets and the tokens labelrun reads: API, dashboard, link
// key, github.token_file) and the value of every rule's env, which is never shown. Env
// values that are short decimal numbers (up to 6 characters) or booleans are left out (masking "1"
// or "true" would hide ordinary log text); the redactor itself ignores values shorter than
// report::Redactor::kMinSecretLength. Empty entries are dropped.
std::vector<std::string> SecretsToRedact(std::vector<std::string> held,
                                         const rules::RuleSet* rules);

// The links a job page carries (see report::JobPageLinks).
using PageLinks = report::JobPageLinks;

// A job as the reporter holds it, copied out for pages and the API.
struct JobSnapshot {
  report::JobView view;
  std::string comment;                    // the current comment markdown
  std::string metric_svg;                 // the curve as SVG
  std::string page_html;                  // filled by RenderPage
  std::string latest_metrics_json;        // {"loss": 0.41, ...}
  std::vector<std::string> local_writes;  // local mode: what would have been sent
};

// The outbox job_key of a job's check run ("check-run:<id>").
std::string CheckRunKey(const std::string& job_id);

class JobReporter final : public scheduler::JobObserver {
 public:
  // `outbox` null: local mode.
  JobReporter(ReporterOptions options, github::OutboxWorker* outbox, const Clock& clock);
  ~JobReporter() override;
  JobReporter(const JobReporter&) = delete;
  JobReporter& operator=(const JobReporter&) = delete;

  void Start();  // the thread that sends throttled edits
  void Stop();

  void OnJobChanged(const store::JobRecord& job, int queue_position) override;
  void OnLogLine(const std::string& job_id, runtime::LogStream stream,
                 std::string_view text) override;
  void OnGpuSamples(const std::string& job_id,
                    const std::vector<scheduler::GpuSample>& samples) override;

  // Makes a job known (from the store, its log replayed) without sending
  // anything: for pages of jobs that ended before this labelrun started.
  void Load(const store::JobRecord& job);

  // The labels a delivery lists for an issue, seen before the delivery's job is
  // submitted: labelrun removes only status labels an issue may have (listed by
  // a delivery, or added by labelrun). Without one, any status label may be there.
  void ObserveIssueLabels(const std::string& repository, int64_t issue,
                          const std::vector<std::string>& labels);

  // A refusal or explanation comment from processing, in local mode: kept (one
  // per issue and cause, as on GitHub, where a second one edits the first),
  // listed by LocalComments() and logged with its text, marked as not sent.
  void KeepLocalComment(const store::OutboxWrite& write);
  // The comments KeepLocalComment kept, oldest first (the newest 500).
  std::vector<LocalComment> LocalComments();

  // The job's current comment markdown; "" when the reporter does not know it.
  std::string CommentMarkdown(const std::string& job_id);
  std::string LatestMetricsJson(const std::string& job_id);
  // Everything a job page shows, rendered; nullopt when unknown. `links` are the
  // page's own links (see report::JobPageLinks).
  std::optional<std::string> RenderPage(const std::string& job_id, const PageLinks& links);
  // The changing parts of the page, as report::RenderJobLiveJson gives them.
  std::optional<std::string> RenderLive(const std::string& job_id, const PageLinks& links);
  std::optional<std::string> RenderSvg(const std::string& job_id);
  // The local-mode writes kept for an issue (refusals, job comments), newest last.
  std::vector<std::string> LocalWrites(const std::string& repository, int64_t issue);

  const report::Redactor& redactor() const { return redactor_; }
  // Masks these values too from now on (a configuration reload's secrets and env
  // values; see SecretsToRedact). Thread-safe.
  void AddSecrets(std::vector<std::string> secrets) { redactor_.AddSecrets(std::move(secrets)); }
  // A comment body as it may leave labelrun (report::RedactComment with this reporter's
  // redactor and public URL): what the outbox applies to every comment it queues, and
  // local mode to the comments it keeps. Thread-safe.
  std::string RedactComment(std::string_view body) const;
  // Absolute, signed link to `path` (e.g. "/jobs/j1a2b"); "" without public_url.
  std::string Link(const std::string& path) const;

 private:
  struct Report;
  Report& Ensure(const store::JobRecord& job);  // REQUIRES: mu_ held
  void Replay(Report& r);                       // REQUIRES: mu_ held
  // One line as the log file stores it, to the metrics and the tail. REQUIRES: mu_ held
  void AddLogLine(Report& r, std::string_view stored);
  // The comment as it stands, with its signed links: what GitHub gets and what
  // the local API serves. REQUIRES: mu_ held
  std::string Render(Report& r);
  // Renders and, when it changed, hands the comment to the outbox (or keeps it).
  void Publish(Report& r);  // REQUIRES: mu_ held
  // A pull request job's check run, when its body changed. REQUIRES: mu_ held
  void PublishCheckRun(Report& r);
  void SetStatusLabel(Report& r);  // REQUIRES: mu_ held
  // The status labels that may be on the issue. REQUIRES: mu_ held.
  std::set<std::string>& KnownStatusLabels(const std::string& repository, int64_t issue,
                                           bool unknown_means_all);
  // The outbox id of the write; 0 in local mode or when it could not be queued;
  // kBatchedRow while a pass collects its writes in batch_. REQUIRES: mu_ held
  int64_t Send(const store::OutboxWrite& write, Report* r);
  static constexpr int64_t kBatchedRow = -1;
  void Loop();
  // How long the pass may sleep: until the next dirty job is due, at most 250 ms.
  std::chrono::milliseconds UntilNextPass();  // REQUIRES: mu_ held
  // Publishes every job due for a progress edit, queuing their writes in one
  // commit. Takes send_mu_, then mu_ (not across the commit).
  void PublishDue();
  void Evict();  // REQUIRES: mu_ held

  ReporterOptions options_;
  github::OutboxWorker* outbox_;
  const Clock& clock_;
  report::Redactor redactor_;

  // Held by whoever queues writes to the outbox, before mu_: writes reach the
  // outbox in the order they were decided, even while a pass commits outside mu_.
  std::mutex send_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<store::OutboxWrite>* batch_ = nullptr;  // a pass's writes, while it collects
  bool stopping_ = false;
  std::map<std::string, std::unique_ptr<Report>> jobs_;
  std::deque<std::string> finished_order_;
  std::map<std::string, std::vector<std::string>> local_by_issue_;  // "repo#issue"
  std::deque<LocalComment> local_comments_;
  std::map<std::string, std::set<std::string>> status_labels_;  // "repo#issue"
  std::deque<std::string> status_labels_order_;                 // oldest first
  std::thread thread_;
};

}  // namespace labelrun::app
