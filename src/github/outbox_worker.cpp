#include "labelrun/github/outbox_worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "labelrun/core/json_text.hpp"
#include "labelrun/core/strings.hpp"

namespace labelrun::github {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

system_clock::time_point FromMillis(int64_t ms) {
  return system_clock::time_point(milliseconds(ms));
}

int64_t ToMillis(system_clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

std::optional<Repo> ParseRepo(std::string_view full) {
  size_t slash = full.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == full.size()) {
    return std::nullopt;
  }
  return Repo{std::string(full.substr(0, slash)), std::string(full.substr(slash + 1))};
}

Result<int64_t> Sent(Status status) {
  if (!status) return status.error();
  return 0;
}

// GitHub's limit on each of a check run's output.title, summary and text.
constexpr size_t kCheckRunFieldLimit = 65535;

// Cuts `s` to at most `limit` characters (code points) at a character boundary:
// the tail is kept when `keep_tail` (a log), else the head.
void ClampCharacters(std::string& s, size_t limit, bool keep_tail) {
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  if (chars <= limit) return;
  size_t drop = chars - limit;
  if (keep_tail) {
    size_t at = 0;
    while (at < s.size() && drop > 0) {
      ++at;
      while (at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) ++at;
      --drop;
    }
    s.erase(0, at);
  } else {
    size_t at = s.size();
    while (at > 0 && drop > 0) {
      --at;
      while (at > 0 && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
      --drop;
    }
    s.resize(at);
  }
}

// A check run body with its output passed through `redact` and kept within
// GitHub's limits; the body unchanged when it is not a JSON object.
std::string RedactCheckRun(std::string_view body,
                           const std::function<std::string(std::string_view)>& redact) {
  using nlohmann::json;
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return std::string(body);
  if (j.contains("output") && j["output"].is_object()) {
    json& output = j["output"];
    for (const char* key : {"title", "summary", "text"}) {
      if (!output.contains(key) || !output[key].is_string()) continue;
      std::string value = output[key].get<std::string>();
      if (redact) value = redact(value);
      ClampCharacters(value, kCheckRunFieldLimit, std::string_view(key) == "text");
      output[key] = value;
    }
  }
  return JsonText(j);
}

}  // namespace

OutboxWorker::OutboxWorker(store::OutboxStore& store, Client& client, const Clock& clock,
                           OutboxStats& stats, OutboxOptions options)
    : store_(store), client_(client), clock_(clock), stats_(stats), options_(options) {}

OutboxWorker::~OutboxWorker() { Stop(); }

store::OutboxWrite OutboxWorker::Redacted(const store::OutboxWrite& write) const {
  store::OutboxWrite redacted = write;
  if (write.kind == store::WriteKind::kCheckRun) {
    redacted.payload = RedactCheckRun(write.payload, options_.redact_comment);
  } else if (write.kind == store::WriteKind::kComment && options_.redact_comment) {
    redacted.payload = options_.redact_comment(write.payload);
  }
  return redacted;
}

Result<int64_t> OutboxWorker::Enqueue(const store::OutboxWrite& write) {
  Result<int64_t> id = store_.Enqueue(Redacted(write), clock_.NowUnixMillis());
  if (Result<int64_t> depth = store_.Depth()) stats_.depth.store(*depth);
  if (id) Wake();
  return id;
}

Result<std::vector<int64_t>> OutboxWorker::EnqueueAll(const std::vector<store::OutboxWrite>& writes,
                                                      store::OutboxStore::Flush flush) {
  std::vector<store::OutboxWrite> redacted;
  redacted.reserve(writes.size());
  for (const store::OutboxWrite& w : writes) redacted.push_back(Redacted(w));
  Result<std::vector<int64_t>> ids = store_.EnqueueAll(redacted, clock_.NowUnixMillis(), flush);
  if (Result<int64_t> depth = store_.Depth()) stats_.depth.store(*depth);
  if (ids) Wake();
  return ids;
}

Result<bool> OutboxWorker::Cancel(int64_t id) {
  Result<bool> cancelled = store_.Cancel(id);
  if (Result<int64_t> depth = store_.Depth()) stats_.depth.store(*depth);
  return cancelled;
}

Result<int64_t> OutboxWorker::SendComment(const store::OutboxWrite& w, const Repo& repo,
                                          system_clock::time_point& answered) {
  std::string marker = JobMarker(w.job_key);
  std::string body = w.payload;
  if (body.find(marker) == std::string::npos) body = marker + "\n" + body;

  std::optional<int64_t> id;
  if (w.comment_known) {
    if (w.report_comment_id != 0) id = w.report_comment_id;
  } else {
    Result<std::optional<int64_t>> known = store_.CommentId(w.repository, w.issue, w.job_key);
    if (!known) return known.error();
    id = *known;
  }
  if (!id && w.attempts > 1) {
    // An earlier attempt may have created the comment before labelrun (or the
    // connection) died: find it by its marker rather than post it twice.
    Result<std::optional<Comment>> found =
        client_.FindComment(w.installation_id, repo, w.issue, marker);
    if (!found) return found.error();
    if (found->has_value()) id = (*found)->id;
  }
  if (id) {
    Result<Comment> updated = client_.UpdateComment(w.installation_id, repo, *id, body);
    answered = clock_.Now();
    if (updated) return *id;
    // Someone deleted the report comment: post it again below.
    if (updated.error().code() != ErrorCode::kNotFound) return updated.error();
  }
  Result<Comment> created = client_.CreateComment(w.installation_id, repo, w.issue, body);
  answered = clock_.Now();
  if (!created) return created.error();
  return created->id;
}

Result<int64_t> OutboxWorker::SendCheckRun(const store::OutboxWrite& w, const Repo& repo,
                                           system_clock::time_point& answered) {
  using nlohmann::json;
  json body = json::parse(w.payload, nullptr, false);
  if (!body.is_object()) {
    return Unexpected(ErrorCode::kInvalidArgument, "check run body is not a JSON object");
  }
  const std::string head_sha = body.value("head_sha", "");
  const std::string external_id = body.value("external_id", "");
  std::optional<int64_t> id;
  if (w.comment_known) {
    if (w.report_comment_id != 0) id = w.report_comment_id;
  } else {
    Result<std::optional<int64_t>> known = store_.CommentId(w.repository, w.issue, w.job_key);
    if (!known) return known.error();
    id = *known;
  }
  if (!id && w.attempts > 1 && !head_sha.empty() && !external_id.empty()) {
    // An earlier attempt may have created the check run: find it by its job id.
    Result<std::optional<int64_t>> found =
        client_.FindCheckRun(w.installation_id, repo, head_sha, external_id);
    if (!found) return found.error();
    id = *found;
  }
  if (id) {
    json update = body;
    update.erase("head_sha");  // a check run stays on its commit
    Status updated = client_.UpdateCheckRun(w.installation_id, repo, *id, JsonText(update));
    answered = clock_.Now();
    if (updated) return *id;
    if (updated.error().code() != ErrorCode::kNotFound) return updated.error();
  }
  Result<int64_t> created = client_.CreateCheckRun(w.installation_id, repo, w.payload);
  answered = clock_.Now();
  return created;
}

Result<int64_t> OutboxWorker::Send(const store::OutboxWrite& w,
                                   system_clock::time_point& answered) {
  std::optional<Repo> repo = ParseRepo(w.repository);
  if (!repo) {
    return Unexpected(ErrorCode::kInvalidArgument, "bad repository \"" + w.repository + "\"");
  }
  switch (w.kind) {
    case store::WriteKind::kComment:
      return SendComment(w, *repo, answered);
    case store::WriteKind::kAddLabels: {
      std::vector<std::string> labels;
      for (std::string_view l : Split(w.payload, '\n')) {
        if (!Trim(l).empty()) labels.emplace_back(Trim(l));
      }
      Result<std::vector<std::string>> res =
          client_.AddLabels(w.installation_id, *repo, w.issue, labels);
      if (!res) return res.error();
      return 0;
    }
    case store::WriteKind::kRemoveLabel:
      return Sent(client_.RemoveLabel(w.installation_id, *repo, w.issue, w.payload));
    case store::WriteKind::kCommentReaction:
      return Sent(client_.AddCommentReaction(w.installation_id, *repo, w.comment_id, w.payload));
    case store::WriteKind::kIssueReaction:
      return Sent(client_.AddIssueReaction(w.installation_id, *repo, w.issue, w.payload));
    case store::WriteKind::kCheckRun:
      return SendCheckRun(w, *repo, answered);
  }
  return Unexpected(ErrorCode::kInternal, "unknown outbox write kind");
}

Result<OutboxWorker::Plan> OutboxWorker::PlanLocked(Result<std::vector<store::OutboxWrite>> heads,
                                                    system_clock::time_point now,
                                                    milliseconds ahead) {
  if (!heads) return heads.error();
  Plan plan;
  for (store::OutboxWrite& h : *heads) {
    if (in_flight_.count(h.installation_id)) continue;  // its sender looks again when done
    system_clock::time_point since =
        std::max(FromMillis(h.created_ms), FromMillis(h.not_before_ms));
    if (auto it = next_allowed_.find(h.installation_id); it != next_allowed_.end()) {
      since = std::max(since, it->second);
    }
    if (std::optional<system_clock::time_point> limited = client_.RetryAt(h.installation_id)) {
      since = std::max(since, *limited);
    }
    if (since <= now + ahead) {
      plan.due.push_back(Due{std::move(h), since});
    } else if (!plan.next || since < *plan.next) {
      plan.next = since;
    }
  }
  // Longest due first: an installation with a long backlog (whose heads have the
  // oldest ids) takes its turn like any other.
  std::stable_sort(plan.due.begin(), plan.due.end(),
                   [](const Due& a, const Due& b) { return a.since < b.since; });
  return plan;
}

bool OutboxWorker::WaitForTurn(system_clock::time_point due, int64_t installation) {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stop_) return false;
    // A rate limit learnt meanwhile (another call of this installation) holds it too.
    system_clock::time_point at = std::max(due, client_.RetryAt(installation).value_or(due));
    const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(at - clock_.Now());
    if (wait <= std::chrono::microseconds(0)) return true;
    work_cv_.wait_for(lock, wait);
  }
}

Result<bool> OutboxWorker::Process(const store::OutboxWrite& head,
                                   std::optional<system_clock::time_point> due) {
  Result<bool> reserved = store_.Reserve(head.id);
  if (!reserved) return reserved.error();
  if (!*reserved) return false;  // cancelled meanwhile
  if (due && !WaitForTurn(*due, head.installation_id)) {
    if (Status s = store_.Release(head.id); !s) return s.error();
    return false;  // stopping: sent after the next start
  }
  std::optional<store::OutboxWrite> begun = store_.Begin(head.id);
  if (!begun) return false;  // cancelled while reserved
  const store::OutboxWrite& w = *begun;
  system_clock::time_point answered{};
  Result<int64_t> sent = Send(w, answered);
  if (answered == system_clock::time_point{}) answered = clock_.Now();
  {
    std::lock_guard lock(mu_);
    next_allowed_[w.installation_id] = answered + options_.min_interval;
  }
  const system_clock::time_point now = answered;
  if (sent) {
    ++stats_.sent;
    Status s = store::IsEdited(w.kind) ? store_.MarkCommentDone(w.id, ToMillis(now), *sent)
                                       : store_.MarkDone(w.id, ToMillis(now));
    if (!s) return s.error();
  } else if (sent.error().transient() || sent.error().code() == ErrorCode::kResourceExhausted) {
    system_clock::time_point retry_at = now + BackoffDelay(static_cast<int>(w.attempts) - 1, 0.5);
    if (sent.error().code() == ErrorCode::kResourceExhausted) {
      ++stats_.rate_limit_waits;
      retry_at = client_.RetryAt(w.installation_id).value_or(now + std::chrono::seconds(60));
    }
    ++stats_.retried;
    spdlog::warn("outbox: {} for {}#{} delayed: {}", store::WriteKindName(w.kind), w.repository,
                 w.issue, sent.error().ToString());
    if (Status s = store_.MarkRetry(w.id, ToMillis(retry_at), sent.error().ToString()); !s) {
      return s.error();
    }
  } else {
    ++stats_.failed;
    spdlog::error("outbox: {} for {}#{} failed: {}", store::WriteKindName(w.kind), w.repository,
                  w.issue, sent.error().ToString());
    if (Status s = store_.MarkFailed(w.id, sent.error().ToString()); !s) return s.error();
  }
  return true;
}

void OutboxWorker::UpdateDepth() {
  if (Result<int64_t> depth = store_.Depth()) stats_.depth.store(*depth);
}

Result<OutboxWorker::Step> OutboxWorker::RunOnce() {
  Step step;
  store::OutboxWrite head;
  {
    Result<std::vector<store::OutboxWrite>> heads = store_.Heads();
    std::lock_guard lock(mu_);
    Result<Plan> plan = PlanLocked(std::move(heads), clock_.Now());
    if (!plan) return plan.error();
    if (plan->due.empty()) {
      step.next_due = plan->next;
      return step;
    }
    head = std::move(plan->due.front().write);
    in_flight_.insert(head.installation_id);
  }
  Result<bool> attempted = Process(head);
  {
    std::lock_guard lock(mu_);
    in_flight_.erase(head.installation_id);
  }
  UpdateDepth();
  if (!attempted) return attempted.error();
  step.sent = *attempted;
  step.next_due = clock_.Now();  // look again: other installations may be due
  return step;
}

void OutboxWorker::Schedule() {
  const size_t max_senders = static_cast<size_t>(std::max(1, options_.max_senders));
  const milliseconds ahead = std::max(milliseconds(0), options_.claim_ahead);
  std::unique_lock lock(mu_);
  while (!stop_) {
    milliseconds wait = std::chrono::seconds(5);  // a database error: try again later
    // The heads are read without mu_: a commit under way on the outbox must not
    // hold up the senders' waits and answers, which take mu_.
    lock.unlock();
    Result<std::vector<store::OutboxWrite>> heads = store_.Heads();
    lock.lock();
    if (stop_) break;
    Result<Plan> plan = PlanLocked(std::move(heads), clock_.Now(), ahead);
    if (plan) {
      bool handed = false;
      for (Due& d : plan->due) {
        if (in_flight_.size() >= max_senders) break;  // the rest when a sender is free
        in_flight_.insert(d.write.installation_id);
        work_.emplace_back(std::move(d.write), d.since);
        handed = true;
        if (senders_.size() < in_flight_.size()) senders_.emplace_back([this] { SenderLoop(); });
      }
      if (handed) work_cv_.notify_all();
      if (!plan->next) {
        wait = std::chrono::minutes(1);
      } else {
        wait = std::chrono::duration_cast<milliseconds>(*plan->next - ahead - clock_.Now());
      }
    } else {
      spdlog::error("outbox: {}", plan.error().ToString());
    }
    if (wait > milliseconds(0)) {
      cv_.wait_for(lock, wait, [this] { return stop_ || woken_; });
    }
    woken_ = false;
  }
}

void OutboxWorker::SenderLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stop_ || !work_.empty(); });
    if (stop_) return;
    auto [head, due] = std::move(work_.front());
    work_.pop_front();
    lock.unlock();
    Result<bool> attempted = Process(head, due);
    if (!attempted) spdlog::error("outbox: {}", attempted.error().ToString());
    lock.lock();
    in_flight_.erase(head.installation_id);
    if (!attempted) {
      // A database error: this installation tries again later, the others go on.
      next_allowed_[head.installation_id] = clock_.Now() + std::chrono::seconds(5);
    }
    woken_ = true;
    cv_.notify_all();
    lock.unlock();
    UpdateDepth();
    lock.lock();
  }
}

void OutboxWorker::Start() {
  std::lock_guard lock(mu_);
  if (scheduler_.joinable()) return;
  stop_ = false;
  woken_ = false;
  scheduler_ = std::thread([this] { Schedule(); });
}

void OutboxWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  work_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  // The scheduler has stopped: senders_ no longer grows.
  for (std::thread& t : senders_) t.join();
  std::lock_guard lock(mu_);
  senders_.clear();
  work_.clear();  // still pending in the store: sent after the next start
  in_flight_.clear();
}

void OutboxWorker::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

}  // namespace labelrun::github
