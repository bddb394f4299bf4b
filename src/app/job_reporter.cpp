#include "labelrun/app/job_reporter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "labelrun/core/json_text.hpp"
#include "labelrun/report/charts.hpp"
#include "labelrun/report/check_run.hpp"
#include "labelrun/report/job_page.hpp"
#include "labelrun/report/link_signing.hpp"
#include "labelrun/report/tail_backlog.hpp"

namespace labelrun::app {
namespace {

report::JobView ViewOf(const store::JobRecord& job, int queue_position) {
  report::JobView v;
  v.id = job.id;
  v.repo = job.repository;
  v.issue = job.issue;
  v.rule = job.spec.rule;
  v.state = job.state;
  v.reason = job.reason;
  v.queue_position = job.state == JobState::kQueued ? queue_position : 0;
  v.image = job.spec.image;
  v.image_digest = job.image_digest;
  v.host = job.host;
  v.gpus = job.gpus;
  v.commit = job.commit;
  v.pull_request = job.pull_request;
  v.from_fork = job.from_fork;
  if (!job.spec.metrics.empty()) v.metrics = job.spec.metrics;
  v.created_unix_ms = job.created_ms;
  v.started_unix_ms = job.started_ms;
  v.finished_unix_ms = job.finished_ms;
  v.exit_code = job.exit_code;
  return v;
}

std::string IssueKey(const std::string& repo, int64_t issue) {
  return repo + "#" + std::to_string(issue);
}

// The states every maintainer should see on the issue, each as its own edit.
// Pulling and starting are steps on the way to running: their edits may give
// way to the next one.
bool IsMilestone(JobState state) {
  return state == JobState::kQueued || state == JobState::kRunning || IsFinal(state);
}

bool IsStatusLabel(std::string_view label) {
  return std::find(report::kStatusLabels.begin(), report::kStatusLabels.end(), label) !=
         report::kStatusLabels.end();
}

// Issues whose status labels are remembered; past this, the oldest are forgotten
// (and treated as unknown again).
constexpr size_t kMaxIssuesKnown = 4096;

}  // namespace

struct JobReporter::Report {
  explicit Report(const report::Redactor* redactor, std::vector<std::string> wanted)
      : metrics(
            report::JobMetrics::Options{32, report::Series::kDefaultBuckets, std::move(wanted)}),
        tail(report::LogTail::Options{500, 128 * 1024, 2048, redactor}),
        backlog(report::TailBacklog::Options{500, 256 * 1024}) {}
  report::JobView view;
  int64_t installation = 0;
  report::JobMetrics metrics;
  report::LogTail tail;
  report::TailBacklog backlog;  // lines not yet in `tail`: drained before it is read
  report::GpuStats gpus;
  std::string body;               // the last comment handed out
  std::optional<JobState> shown;  // the state that comment shows
  int64_t last_row = 0;           // its outbox row
  // The outbox row of the edit that first showed `shown`, when that is a
  // milestone; 0 when `shown` is a step on the way.
  int64_t milestone_row = 0;
  std::string label;  // the status label set last
  // The label writes of `label` handed to the outbox: those not sent yet are
  // dropped when the job moves on before they are due.
  struct LabelWrite {
    int64_t outbox_id = 0;
    std::string label;
    bool add = false;
    bool was_present = false;  // add: the issue may have had the label before
  };
  std::vector<LabelWrite> label_writes;
  // A pull request's check run: the status its last body shows, and that body.
  std::string check_status;
  std::string check_body;
  bool dirty = false;  // lines or samples since the last comment
  std::chrono::steady_clock::time_point sent_at{};
};

std::vector<std::string> SecretsToRedact(std::vector<std::string> held,
                                         const rules::RuleSet* rules) {
  std::vector<std::string> out;
  for (std::string& s : held) {
    if (!s.empty()) out.push_back(std::move(s));
  }
  if (rules == nullptr) return out;
  auto plain = [](const std::string& v) {
    static constexpr std::string_view kWords[] = {"true", "false", "yes", "no", "on", "off"};
    for (std::string_view w : kWords) {
      if (v.size() == w.size() && std::equal(v.begin(), v.end(), w.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == b;
          })) {
        return true;
      }
    }
    // A short decimal number ("1", "0.5", "-3"): never hex, exponents or nan(...),
    // and never a long digit string, which may well be a key.
    return v.size() <= 6 && v.find_first_not_of("0123456789.-") == std::string::npos;
  };
  for (const rules::Rule& rule : rules->rules()) {
    for (const auto& [key, value] : rule.job.env) {
      if (!value.empty() && !plain(value)) out.push_back(value);
    }
  }
  return out;
}

JobReporter::JobReporter(ReporterOptions options, github::OutboxWorker* outbox, const Clock& clock)
    : options_(std::move(options)), outbox_(outbox), clock_(clock), redactor_(options_.secrets) {}

JobReporter::~JobReporter() { Stop(); }

void JobReporter::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void JobReporter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string JobReporter::Link(const std::string& path) const {
  if (options_.public_url.empty()) return "";
  const int64_t expires =
      clock_.NowUnixMillis() / 1000 +
      std::chrono::duration_cast<std::chrono::seconds>(options_.link_ttl).count();
  return options_.public_url + report::SignLink(path, expires, options_.link_key);
}

JobReporter::Report& JobReporter::Ensure(const store::JobRecord& job) {
  auto it = jobs_.find(job.id);
  if (it != jobs_.end()) return *it->second;
  auto r = std::make_unique<Report>(&redactor_, job.spec.metrics);
  r->installation = job.installation;
  r->view = ViewOf(job, 0);
  Report& ref = *r;
  jobs_[job.id] = std::move(r);
  // A job met for the first time past its start (labelrun restarted): its log
  // on disk gives back the curve and the tail.
  if (job.state != JobState::kQueued) Replay(ref);
  return ref;
}

void JobReporter::Replay(Report& r) {
  std::ifstream in(options_.jobs_dir / r.view.id / "log", std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    // "<timestamp> <o|e> <text>"
    const size_t sp = line.find(' ');
    const std::string_view text = sp != std::string::npos && sp + 3 <= line.size()
                                      ? std::string_view(line).substr(sp + 3)
                                      : std::string_view(line);
    AddLogLine(r, text);
  }
}

void JobReporter::AddLogLine(Report& r, std::string_view stored) {
  // A redraw keeps its '\r' (see LogTail::AddStored); metrics read the text alone.
  std::string_view text = stored;
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  r.metrics.OnLine(text);
  r.backlog.Add(stored, r.tail);
}

int64_t JobReporter::Send(const store::OutboxWrite& write, Report* r) {
  if (outbox_ && batch_) {
    batch_->push_back(write);
    return kBatchedRow;
  }
  if (outbox_) {
    Result<int64_t> queued = outbox_->Enqueue(write);
    if (!queued) {
      spdlog::error("job {}: cannot queue a GitHub write: {}", write.job_key,
                    queued.error().message());
      return 0;
    }
    return *queued;
  }
  std::string what;
  switch (write.kind) {
    case store::WriteKind::kComment:
      what = "comment " + (r ? "updated for job " + r->view.id : "(" + write.job_key + ")");
      break;
    case store::WriteKind::kAddLabels:
      what = "label " + write.payload + " added";
      break;
    case store::WriteKind::kRemoveLabel:
      what = "label " + write.payload + " removed";
      break;
    case store::WriteKind::kCheckRun:
      what = "check run updated for job " + (r ? r->view.id : write.job_key);
      break;
    default:
      what = "reaction " + write.payload;
  }
  const std::string page = r ? Link("/jobs/" + r->view.id) : "";
  spdlog::info("{}#{}: {} (local mode: not sent to GitHub){}{}", write.repository, write.issue,
               what, page.empty() ? "" : "; job page: ", page);
  std::vector<std::string>& kept = local_by_issue_[IssueKey(write.repository, write.issue)];
  // What the outbox's redaction does for GitHub, done here for the comments kept locally.
  kept.push_back(write.kind == store::WriteKind::kComment ? RedactComment(write.payload) : what);
  if (kept.size() > 200) kept.erase(kept.begin());
  return 0;
}

void JobReporter::ObserveIssueLabels(const std::string& repository, int64_t issue,
                                     const std::vector<std::string>& labels) {
  std::lock_guard lock(mu_);
  // A delivery may be older than labelrun's own writes: what it lists is added
  // to what may be on the issue, never taken as the whole truth.
  std::set<std::string>& known = KnownStatusLabels(repository, issue, /*unknown_means_all=*/false);
  for (const std::string& label : labels) {
    if (IsStatusLabel(label)) known.insert(label);
  }
}

std::set<std::string>& JobReporter::KnownStatusLabels(const std::string& repository, int64_t issue,
                                                      bool unknown_means_all) {
  const std::string key = IssueKey(repository, issue);
  auto it = status_labels_.find(key);
  if (it != status_labels_.end()) return it->second;
  while (status_labels_.size() >= kMaxIssuesKnown && !status_labels_order_.empty()) {
    status_labels_.erase(status_labels_order_.front());
    status_labels_order_.pop_front();
  }
  status_labels_order_.push_back(key);
  std::set<std::string>& known = status_labels_[key];
  // An issue labelrun has not seen a delivery for (a job recovered after a
  // restart, a retry from the API): any status label may be on it.
  if (unknown_means_all) {
    for (std::string_view label : report::kStatusLabels) known.emplace(label);
  }
  return known;
}

void JobReporter::SetStatusLabel(Report& r) {
  const std::string wanted(report::StatusLabel(r.view.state));
  if (wanted == r.label) return;
  std::set<std::string>& present =
      KnownStatusLabels(r.view.repo, r.view.issue, /*unknown_means_all=*/true);
  // The previous state's label writes that are not sent yet would only be undone
  // by this state's: they are dropped, and the issue goes straight to the new label.
  for (const Report::LabelWrite& w : r.label_writes) {
    if (!outbox_ || w.outbox_id == 0) continue;
    Result<bool> cancelled = outbox_->Cancel(w.outbox_id);
    if (!cancelled || !*cancelled) continue;  // tried or sent: it counts
    if (w.add && !w.was_present) present.erase(w.label);
    if (!w.add) present.insert(w.label);
  }
  r.label_writes.clear();

  store::OutboxWrite add;
  add.installation_id = r.installation;
  add.repository = r.view.repo;
  add.issue = r.view.issue;
  add.kind = store::WriteKind::kAddLabels;
  add.payload = wanted;
  r.label_writes.push_back({Send(add, &r), wanted, true, present.count(wanted) > 0});
  present.insert(wanted);
  // Only status labels the issue may have are removed: a DELETE of a label that
  // is not there is a paced write for nothing.
  for (std::string_view label : report::kStatusLabels) {
    if (label == wanted || !present.count(std::string(label))) continue;
    store::OutboxWrite remove = add;
    remove.kind = store::WriteKind::kRemoveLabel;
    remove.payload = std::string(label);
    r.label_writes.push_back({Send(remove, &r), remove.payload, false, true});
    present.erase(remove.payload);
  }
  r.label = wanted;
}

std::string JobReporter::Render(Report& r) {
  report::Links links;
  links.job_page = Link("/jobs/" + r.view.id);
  links.log = Link("/jobs/" + r.view.id + "/log");
  if (IsFinal(r.view.state)) links.outputs = Link("/jobs/" + r.view.id + "/outputs");
  r.backlog.Drain(r.tail);
  return report::RenderComment(r.view, r.metrics, r.tail, r.gpus, links, redactor_);
}

void JobReporter::Publish(Report& r) {
  std::string body = Render(r);
  r.dirty = false;
  r.sent_at = clock_.Steady();
  if (body == r.body) return;
  r.body = std::move(body);
  // Queued, running and the end each reach GitHub as an edit of their own: a new
  // body may take the place of a pending edit that shows the same state, a step
  // on the way (pulling, starting) or progress after its milestone went out, but
  // never of the pending edit that first shows a milestone.
  const bool same_state = r.shown && *r.shown == r.view.state;
  const bool coalesce = r.shown && (same_state || r.last_row != r.milestone_row);
  store::OutboxWrite write;
  write.installation_id = r.installation;
  write.repository = r.view.repo;
  write.issue = r.view.issue;
  write.kind = store::WriteKind::kComment;
  write.job_key = r.view.id;
  write.payload = r.body;
  write.coalesce = coalesce;
  r.last_row = Send(write, &r);
  if (!same_state) r.milestone_row = IsMilestone(r.view.state) ? r.last_row : 0;
  r.shown = r.view.state;
  if (r.view.pull_request) PublishCheckRun(r);
}

std::string CheckRunKey(const std::string& job_id) { return "check-run:" + job_id; }

void JobReporter::PublishCheckRun(Report& r) {
  const report::CheckRunOutput output =
      report::RenderCheckRunOutput(r.view, r.metrics, r.tail, r.gpus, redactor_);
  const report::CheckRunTarget target{r.view.rule, r.view.commit, Link("/jobs/" + r.view.id)};
  std::string body = report::RenderCheckRunBody(r.view, target, output);
  if (body == r.check_body) return;
  const std::string status(report::CheckRunStatus(r.view.state));
  store::OutboxWrite write;
  write.installation_id = r.installation;
  write.repository = r.view.repo;
  write.issue = r.view.issue;
  write.kind = store::WriteKind::kCheckRun;
  write.job_key = CheckRunKey(r.view.id);
  write.payload = body;
  // queued -> in_progress -> completed each reach GitHub as their own write; a body
  // of the same status may take the place of one still pending.
  write.coalesce = status == r.check_status;
  Send(write, &r);
  r.check_body = std::move(body);
  r.check_status = status;
}

void JobReporter::OnJobChanged(const store::JobRecord& job, int queue_position) {
  std::lock_guard send_lock(send_mu_);
  std::lock_guard lock(mu_);
  Report& r = Ensure(job);
  const bool state_changed = r.view.state != job.state || r.body.empty();
  const bool moved = r.view.queue_position != queue_position;
  r.view = ViewOf(job, queue_position);
  r.installation = job.installation;
  if (state_changed || moved) {
    // The comment first: with GitHub's writes paced, the queued comment goes out at
    // once rather than behind the label changes.
    Publish(r);
    SetStatusLabel(r);
  }
  if (IsFinal(job.state) &&
      std::find(finished_order_.begin(), finished_order_.end(), job.id) == finished_order_.end()) {
    finished_order_.push_back(job.id);
    Evict();
  }
}

void JobReporter::Load(const store::JobRecord& job) {
  std::lock_guard lock(mu_);
  if (jobs_.count(job.id)) return;
  Report& r = Ensure(job);
  r.view = ViewOf(job, 0);
  r.label = std::string(report::StatusLabel(job.state));
  r.shown = job.state;
  r.check_status = std::string(report::CheckRunStatus(job.state));
  if (IsFinal(job.state)) {
    finished_order_.push_back(job.id);
    Evict();
  }
}

void JobReporter::Evict() {
  while (finished_order_.size() > options_.max_jobs_kept) {
    jobs_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

void JobReporter::OnLogLine(const std::string& job_id, runtime::LogStream, std::string_view text) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  Report& r = *it->second;
  AddLogLine(r, text);
  if (!r.dirty && !IsFinal(r.view.state) &&
      clock_.Steady() - r.sent_at >= options_.update_interval) {
    cv_.notify_one();  // due already: the pass need not wait for its next poll
  }
  r.dirty = true;
}

void JobReporter::OnGpuSamples(const std::string& job_id,
                               const std::vector<scheduler::GpuSample>& samples) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  for (const scheduler::GpuSample& s : samples) {
    report::GpuSample g;
    g.gpu = s.gpu;
    g.utilization_percent = s.utilization_percent;
    g.memory_used_bytes = static_cast<uint64_t>(s.memory_used_mib * 1024 * 1024);
    g.memory_total_bytes = static_cast<uint64_t>(s.memory_total_mib * 1024 * 1024);
    it->second->gpus.Add(g);
  }
  it->second->dirty = true;
}

void JobReporter::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, UntilNextPass());
    if (stopping_) break;
    lock.unlock();
    PublishDue();
    lock.lock();
  }
}

std::chrono::milliseconds JobReporter::UntilNextPass() {
  // Polled at least this often: a job that is not dirty yet may become due
  // without a wake-up (a GPU sample), and a test clock moves without one.
  std::chrono::milliseconds wait(250);
  const auto now = clock_.Steady();
  for (const auto& [id, r] : jobs_) {
    if (!r->dirty || IsFinal(r->view.state)) continue;
    const auto due = r->sent_at + options_.update_interval;
    wait = std::min(wait, std::max(std::chrono::milliseconds(0),
                                   std::chrono::ceil<std::chrono::milliseconds>(due - now)));
  }
  return wait;
}

void JobReporter::PublishDue() {
  std::lock_guard send_lock(send_mu_);
  std::vector<store::OutboxWrite> batch;
  {
    std::lock_guard lock(mu_);
    batch_ = &batch;
    const auto now = clock_.Steady();
    for (auto& [id, r] : jobs_) {
      if (r->dirty && !IsFinal(r->view.state) && now - r->sent_at >= options_.update_interval) {
        Publish(*r);
      }
    }
    batch_ = nullptr;
  }
  if (batch.empty()) return;
  // The pass's edits in one commit, made outside mu_ so that log lines and pages
  // do not wait on the database. They show the state the job's last flushed write
  // showed, and each carries the whole report, so the next flushed commit carries
  // them to disk (see OutboxStore::EnqueueAll). send_mu_ keeps any other write from
  // being queued before them.
  Result<std::vector<int64_t>> rows =
      outbox_->EnqueueAll(batch, store::OutboxStore::Flush::kWithNext);
  if (!rows) {
    spdlog::error("cannot queue {} GitHub write(s): {}", batch.size(), rows.error().message());
  }
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].kind != store::WriteKind::kComment) continue;
    auto it = jobs_.find(batch[i].job_key);
    if (it == jobs_.end()) continue;
    const int64_t row = rows ? (*rows)[i] : 0;
    if (it->second->last_row == kBatchedRow) it->second->last_row = row;
    if (it->second->milestone_row == kBatchedRow) it->second->milestone_row = row;
  }
}

void JobReporter::KeepLocalComment(const store::OutboxWrite& write) {
  if (outbox_) return;
  LocalComment kept{write.repository, write.issue, write.job_key, RedactComment(write.payload),
                    clock_.NowUnixMillis()};
  // One log line: the text with its line breaks and runs of blanks folded.
  std::string one_line;
  for (char c : kept.body) {
    bool blank = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (!blank) {
      one_line += c;
    } else if (!one_line.empty() && one_line.back() != ' ') {
      one_line += ' ';
    }
  }
  if (one_line.size() > 2000) one_line = one_line.substr(0, 2000) + "...";
  std::lock_guard lock(mu_);
  std::vector<std::string>& by_issue = local_by_issue_[IssueKey(write.repository, write.issue)];
  by_issue.push_back(kept.body);
  if (by_issue.size() > 200) by_issue.erase(by_issue.begin());
  for (auto it = local_comments_.begin(); it != local_comments_.end(); ++it) {
    if (it->repository == kept.repository && it->issue == kept.issue && it->cause == kept.cause) {
      local_comments_.erase(it);
      break;
    }
  }
  local_comments_.push_back(std::move(kept));
  if (local_comments_.size() > 500) local_comments_.pop_front();
  // Logged once kept: the API lists what the log line announces.
  spdlog::info("{}#{}: {} comment (local mode: not sent to GitHub): {}", write.repository,
               write.issue, write.job_key, one_line);
}

std::vector<LocalComment> JobReporter::LocalComments() {
  std::lock_guard lock(mu_);
  return {local_comments_.begin(), local_comments_.end()};
}

std::string JobReporter::RedactComment(std::string_view body) const {
  return report::RedactComment(redactor_, body, options_.public_url);
}

std::string JobReporter::CommentMarkdown(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return "";
  return Render(*it->second);
}

std::string JobReporter::LatestMetricsJson(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return "";
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : it->second->metrics.LatestValues(redactor_)) out[name] = value;
  return JsonText(out);
}

std::optional<std::string> JobReporter::RenderPage(const std::string& job_id,
                                                   const PageLinks& links) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  Report& r = *it->second;
  report::JobPageLinks page = links;
  if (IsFinal(r.view.state)) page.log_tail.clear();
  page.now_unix_ms = clock_.NowUnixMillis();
  r.backlog.Drain(r.tail);
  return report::RenderJobPage(r.view, r.metrics, r.tail, r.gpus, page, redactor_);
}

std::optional<std::string> JobReporter::RenderLive(const std::string& job_id,
                                                   const PageLinks& links) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  Report& r = *it->second;
  report::JobPageLinks page = links;
  page.now_unix_ms = clock_.NowUnixMillis();
  r.backlog.Drain(r.tail);
  return report::RenderJobLiveJson(r.view, r.metrics, r.tail, r.gpus, page, redactor_);
}

std::optional<std::string> JobReporter::RenderSvg(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  const Report& r = *it->second;
  // The first of the job's metrics (the job page shows one SVG per metric inline).
  const std::string first = r.view.metrics.empty() ? "loss" : r.view.metrics[0];
  const report::JobMetrics::Entry* curve = r.metrics.CurveFor(first);
  if (!curve) return report::RenderLossSvg(report::Series(), first);
  return report::RenderLossSvg(curve->series, redactor_.Redact(curve->key));
}

std::vector<std::string> JobReporter::LocalWrites(const std::string& repository, int64_t issue) {
  std::lock_guard lock(mu_);
  auto it = local_by_issue_.find(IssueKey(repository, issue));
  return it == local_by_issue_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace labelrun::app
