#include "labelrun/github/outbox_worker.hpp"

#include <spdlog/spdlog.h>

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

}  // namespace

OutboxWorker::OutboxWorker(store::OutboxStore& store, Client& client, const Clock& clock,
                           OutboxStats& stats, OutboxOptions options)
    : store_(store), client_(client), clock_(clock), stats_(stats), options_(options) {}

OutboxWorker::~OutboxWorker() { Stop(); }

Result<int64_t> OutboxWorker::Enqueue(const store::OutboxWrite& write) {
  Result<int64_t> id = [&] {
    if (write.kind != store::WriteKind::kComment || !options_.redact_comment) {
      return store_.Enqueue(write, clock_.NowUnixMillis());
    }
    store::OutboxWrite redacted = write;
    redacted.payload = options_.redact_comment(write.payload);
    return store_.Enqueue(redacted, clock_.NowUnixMillis());
  }();
  if (Result<int64_t> depth = store_.Depth()) stats_.depth.store(*depth);
  if (id) Wake();
  return id;
}

Result<bool> OutboxWorker::Cancel(int64_t id) {
  Result<bool> cancelled = store_.Cancel(id);
  if (Result<int64_t> depth = store_.Depth()) stats_.depth.store(*depth);
  return cancelled;
}

Status OutboxWorker::SendComment(const store::OutboxWrite& w, const Repo& repo) {
  std::string marker = JobMarker(w.job_key);
  std::string body = w.payload;
  if (body.find(marker) == std::string::npos) body = marker + "\n" + body;

  Result<std::optional<int64_t>> known = store_.CommentId(w.repository, w.issue, w.job_key);
  if (!known) return known.error();
  std::optional<int64_t> id = *known;
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
    if (updated) return store_.SetCommentId(w.repository, w.issue, w.job_key, *id);
    // Someone deleted the report comment: post it again below.
    if (updated.error().code() != ErrorCode::kNotFound) return updated.error();
  }
  Result<Comment> created = client_.CreateComment(w.installation_id, repo, w.issue, body);
  if (!created) return created.error();
  return store_.SetCommentId(w.repository, w.issue, w.job_key, created->id);
}

Status OutboxWorker::Send(const store::OutboxWrite& w) {
  std::optional<Repo> repo = ParseRepo(w.repository);
  if (!repo) {
    return Unexpected(ErrorCode::kInvalidArgument, "bad repository \"" + w.repository + "\"");
  }
  switch (w.kind) {
    case store::WriteKind::kComment:
      return SendComment(w, *repo);
    case store::WriteKind::kAddLabels: {
      std::vector<std::string> labels;
      for (std::string_view l : Split(w.payload, '\n')) {
        if (!Trim(l).empty()) labels.emplace_back(Trim(l));
      }
      Result<std::vector<std::string>> res =
          client_.AddLabels(w.installation_id, *repo, w.issue, labels);
      if (!res) return res.error();
      return Ok();
    }
    case store::WriteKind::kRemoveLabel:
      return client_.RemoveLabel(w.installation_id, *repo, w.issue, w.payload);
    case store::WriteKind::kCommentReaction:
      return client_.AddCommentReaction(w.installation_id, *repo, w.comment_id, w.payload);
    case store::WriteKind::kIssueReaction:
      return client_.AddIssueReaction(w.installation_id, *repo, w.issue, w.payload);
  }
  return Unexpected(ErrorCode::kInternal, "unknown outbox write kind");
}

Result<OutboxWorker::Step> OutboxWorker::RunOnce() {
  Result<std::vector<store::OutboxWrite>> heads = store_.Heads();
  if (!heads) return heads.error();
  system_clock::time_point now = clock_.Now();
  Step step;
  const store::OutboxWrite* due = nullptr;
  for (const store::OutboxWrite& h : *heads) {
    system_clock::time_point ready = FromMillis(h.not_before_ms);
    if (auto it = next_allowed_.find(h.installation_id); it != next_allowed_.end()) {
      ready = std::max(ready, it->second);
    }
    if (std::optional<system_clock::time_point> limited = client_.RetryAt(h.installation_id)) {
      ready = std::max(ready, *limited);
    }
    if (ready <= now && due == nullptr) due = &h;
    if (!step.next_due || ready < *step.next_due) step.next_due = std::max(ready, now);
  }
  if (due == nullptr) return step;

  Result<std::optional<store::OutboxWrite>> claimed = store_.Claim(due->id);
  if (!claimed) return claimed.error();
  if (!claimed->has_value()) return step;  // another worker took it
  const store::OutboxWrite& w = **claimed;
  step.sent = true;
  Status sent = Send(w);
  now = clock_.Now();
  next_allowed_[w.installation_id] = now + options_.min_interval;
  if (sent) {
    ++stats_.sent;
    if (Status s = store_.MarkDone(w.id, ToMillis(now)); !s) return s.error();
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
  step.next_due = now;  // look again: other installations may be due
  return step;
}

void OutboxWorker::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      Result<Step> step = RunOnce();
      if (Result<int64_t> depth = store_.Depth()) stats_.depth.store(*depth);
      lock.lock();
      if (stop_) break;
      milliseconds wait = std::chrono::seconds(5);  // a database error: try again later
      if (step) {
        if (!step->next_due) {
          wait = std::chrono::minutes(1);
        } else {
          wait = std::chrono::duration_cast<milliseconds>(*step->next_due - clock_.Now());
        }
      } else {
        spdlog::error("outbox: {}", step.error().ToString());
      }
      if (wait > milliseconds(0)) {
        cv_.wait_for(lock, wait, [this] { return stop_ || woken_; });
      }
      woken_ = false;
    }
  });
}

void OutboxWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxWorker::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

}  // namespace labelrun::github
