#include "labelrun/store/inbox.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <map>
#include <set>

#include "store/inbox_sql.hpp"

namespace labelrun::store {
namespace {

Result<Database> OpenMigrated(const std::filesystem::path& path) {
  Result<Database> db = Database::Open(path);
  if (!db) return db.error();
  if (Status s = Migrate(*db); !s) return s.error();
  return db;
}

}  // namespace

// ---- InboxWriter -------------------------------------------------------------

InboxWriter::InboxWriter(InboxStats& stats, uint32_t max_batch, std::function<void()> on_commit)
    : stats_(stats), max_batch_(max_batch), on_commit_(std::move(on_commit)) {}

Result<std::unique_ptr<InboxWriter>> InboxWriter::Start(const std::filesystem::path& db_path,
                                                        uint32_t max_batch, InboxStats& stats,
                                                        std::function<void()> on_commit) {
  Result<Database> db = OpenMigrated(db_path);
  if (!db) return db.error();
  for (std::string_view pragma : inbox_sql::kWriterPragmas) {
    if (Status s = db->Exec(pragma); !s) return s.error();
  }
  std::unique_ptr<InboxWriter> writer(new InboxWriter(stats, max_batch, std::move(on_commit)));
  writer->thread_ =
      std::thread([w = writer.get(), d = std::move(*db)]() mutable { w->Run(std::move(d)); });
  return writer;
}

InboxWriter::~InboxWriter() { Stop(); }

void InboxWriter::Append(InboxRecord record, AppendCallback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(record), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Unexpected(ErrorCode::kUnavailable, "the inbox is shutting down"));
}

void InboxWriter::Probe(ProbeCallback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      probes_.push_back(std::move(done));
      cv_.notify_one();
      return;
    }
  }
  done(Unexpected(ErrorCode::kUnavailable, "the inbox is shutting down"));
}

void InboxWriter::Record(std::vector<ProcessedMark> marks, ProbeCallback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      marks_.emplace_back(std::move(marks), std::move(done));
      cv_.notify_one();
      return;
    }
  }
  done(Unexpected(ErrorCode::kUnavailable, "the inbox is shutting down"));
}

void InboxWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void InboxWriter::Run(Database db) {
  Result<Statement> insert = db.Prepare(inbox_sql::kInsert);
  Result<Statement> probe = db.Prepare(inbox_sql::kProbe);
  Result<Statement> finish = db.Prepare(inbox_sql::kFinish);
  Result<Statement> retry = db.Prepare(inbox_sql::kRetry);
  // Prepared once: Exec would compile the transaction statements again on
  // every commit, which costs as much as several inserts.
  Result<Statement> begin = db.Prepare("BEGIN IMMEDIATE");
  Result<Statement> commit = db.Prepare("COMMIT");
  Result<Statement> rollback = db.Prepare("ROLLBACK");
  if (!insert || !probe || !finish || !retry || !begin || !commit || !rollback) {
    spdlog::critical("inbox: cannot prepare statements: {}", db.LastError());
    std::abort();  // the schema was just migrated; this is a bug, not an input
  }
  std::vector<Pending> batch;
  std::vector<ProbeCallback> probes;
  std::vector<std::pair<std::vector<ProcessedMark>, ProbeCallback>> marks;
  struct RowOutcome {
    AppendOutcome outcome = AppendOutcome::kStored;
    std::optional<Error> error;
  };
  std::vector<RowOutcome> outcomes;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock,
               [&] { return stopping_ || !queue_.empty() || !probes_.empty() || !marks_.empty(); });
      if (queue_.empty() && probes_.empty() && marks_.empty()) return;  // stopping, all done
      // Everything that queued while the last commit was on its way to disk
      // goes into this one: the group commit.
      size_t n = std::min<size_t>(queue_.size(), max_batch_);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      probes.swap(probes_);
      marks.swap(marks_);
    }

    outcomes.clear();
    Status mark_status;
    Status status = begin->Run();
    begin->Reset();
    uint64_t stored = 0;
    if (status) {
      for (Pending& p : batch) {
        const InboxRecord& r = p.record;
        insert->Bind(1, r.guid).Bind(2, r.event).Bind(3, r.action).Bind(4, r.repository);
        insert->Bind(5, r.installation_id).Bind(6, r.sender).Bind(7, r.received_at_ms);
        insert->Bind(8, r.body_bytes).Bind(9, r.digest);
        if (r.body) insert->BindBlob(10, *r.body);
        Status s = insert->Run();
        insert->Reset();
        if (!s) {
          outcomes.push_back({AppendOutcome::kStored, s.error()});
          continue;
        }
        bool inserted = db.Changes() > 0;
        stored += inserted ? 1 : 0;
        outcomes.push_back({inserted ? AppendOutcome::kStored : AppendOutcome::kDuplicate, {}});
      }
      for (const auto& [list, cb] : marks) {
        for (const ProcessedMark& m : list) {
          Status u;
          if (m.state == ProcessedMark::State::kRetry) {
            retry->Bind(1, m.seq).Bind(2, m.error);
            u = retry->Run();
            retry->Reset();
          } else {
            bool done = m.state == ProcessedMark::State::kDone;
            finish->Bind(1, m.seq).Bind(2, done ? "done" : "failed").Bind(3, m.at_ms);
            if (done)
              finish->BindNull(4);
            else
              finish->Bind(4, m.error);
            u = finish->Run();
            finish->Reset();
          }
          if (!u) mark_status = u;
        }
      }
      if (status && !probes.empty()) {
        status = probe->Run();
        probe->Reset();
      }
      if (status) {
        status = commit->Run();
        commit->Reset();
      }
      if (!status) {
        (void)rollback->Run();
        rollback->Reset();
      }
    }

    if (status) {
      stats_.commits.fetch_add(1, std::memory_order_relaxed);
      stats_.committed_rows.fetch_add(stored, std::memory_order_relaxed);
      stats_.pending.fetch_add(static_cast<int64_t>(stored), std::memory_order_relaxed);
    } else {
      stats_.commit_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("inbox: commit of {} deliveries failed: {}", batch.size(),
                    status.error().message());
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      // A failed commit fails every delivery in it, even those whose insert ran.
      if (!status) {
        batch[i].done(status.error());
      } else if (outcomes[i].error) {
        batch[i].done(*outcomes[i].error);
      } else {
        batch[i].done(outcomes[i].outcome);
      }
    }
    for (ProbeCallback& cb : probes) cb(status);
    for (auto& [list, cb] : marks) cb(status ? mark_status : status);
    if (status && stored > 0 && on_commit_) on_commit_();
    batch.clear();
    probes.clear();
    marks.clear();
  }
}

// ---- InboxProcessor ------------------------------------------------------------

InboxProcessor::InboxProcessor(Options options, Handler handler, InboxWriter& writer,
                               InboxStats& stats, const Clock& clock)
    : options_(options),
      handler_(std::move(handler)),
      writer_(writer),
      stats_(stats),
      clock_(clock),
      paused_(options.paused),
      notified_(true) {}  // drain what an earlier run left at once

Result<std::unique_ptr<InboxProcessor>> InboxProcessor::Start(const std::filesystem::path& db_path,
                                                              Options options, Handler handler,
                                                              InboxWriter& writer,
                                                              InboxStats& stats,
                                                              const Clock& clock) {
  Result<Database> db = OpenMigrated(db_path);
  if (!db) return db.error();
  Result<Statement> count = db->Prepare("SELECT count(*) FROM inbox WHERE state = 'pending'");
  if (!count) return count.error();
  if (Result<bool> row = count->Step(); !row) return row.error();
  stats.pending.store(count->ColumnInt(0), std::memory_order_relaxed);
  count = Statement();

  std::unique_ptr<InboxProcessor> p(
      new InboxProcessor(options, std::move(handler), writer, stats, clock));
  p->thread_ =
      std::thread([self = p.get(), d = std::move(*db)]() mutable { self->Run(std::move(d)); });
  return p;
}

InboxProcessor::~InboxProcessor() { Stop(); }

void InboxProcessor::Notify() {
  std::lock_guard lock(mu_);
  notified_ = true;
  cv_.notify_one();
}

void InboxProcessor::SetPaused(bool paused) {
  std::lock_guard lock(mu_);
  paused_ = paused;
  notified_ = true;
  cv_.notify_one();
}

void InboxProcessor::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

Status InboxProcessor::RecordAndWait(std::vector<ProcessedMark> marks) {
  std::promise<Status> recorded;
  std::future<Status> result = recorded.get_future();
  writer_.Record(std::move(marks), [&recorded](Status s) { recorded.set_value(std::move(s)); });
  return result.get();
}

bool InboxProcessor::Responsive(std::chrono::milliseconds max_busy) const {
  const int64_t since = busy_since_ns_.load(std::memory_order_relaxed);
  if (since == kEnded) return false;
  if (since == kWaiting) return true;
  return clock_.Steady().time_since_epoch() - std::chrono::nanoseconds(since) <= max_busy;
}

std::chrono::milliseconds InboxProcessor::RetryDelay(int64_t attempt) const {
  const int64_t cap = std::max<int64_t>(1, options_.retry_max.count());
  int64_t delay = std::clamp<int64_t>(options_.retry_initial.count(), 1, cap);
  for (int64_t i = 0; i < attempt && delay < cap; ++i) delay = std::min(cap, delay * 2);
  return std::chrono::milliseconds(delay);
}

bool InboxProcessor::IsLastAttempt(int64_t attempt) const {
  int64_t waited = 0;
  for (int64_t i = 0; i <= attempt; ++i) {
    waited += RetryDelay(i).count();
    if (waited > options_.retry_for.count()) return true;
  }
  return false;
}

void InboxProcessor::Run(Database db) {
  constexpr int kBatch = 256;
  struct EndMark {
    std::atomic<int64_t>& busy;
    ~EndMark() { busy.store(kEnded, std::memory_order_relaxed); }
  } end_mark{busy_since_ns_};
  auto mark_busy = [this] {
    busy_since_ns_.store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.Steady().time_since_epoch())
            .count(),
        std::memory_order_relaxed);
  };
  Result<Statement> select = db.Prepare(
      "SELECT seq, guid, event, action, repository, digest, received_at, attempts FROM inbox "
      "WHERE state = 'pending' AND seq > ?2 ORDER BY seq LIMIT ?1");
  Result<Statement> prune =
      db.Prepare("DELETE FROM inbox WHERE state <> 'pending' AND received_at < ?1");
  if (!select || !prune) {
    spdlog::critical("inbox processor: cannot prepare statements: {}", db.LastError());
    std::abort();
  }
  auto key_of = [this](const InboxRow& row) {
    return options_.order_key ? options_.order_key(row) : std::string();
  };

  // Rows waiting for their retry: seq -> when it is due. Kept in memory only; after
  // a restart every pending row is tried at once (its attempts are stored).
  std::map<int64_t, std::chrono::steady_clock::time_point> retry_at;
  std::chrono::milliseconds backoff{0};
  auto last_prune = clock_.Steady() - std::chrono::hours(2);
  std::vector<InboxRow> rows;
  std::vector<ProcessedMark> marks;
  std::set<std::string> held_keys;
  while (true) {
    {
      busy_since_ns_.store(kWaiting, std::memory_order_relaxed);
      std::unique_lock lock(mu_);
      auto wake = [&] { return stopping_ || (notified_ && !paused_); };
      // Without a notification, look again now and then, or when a retry is due.
      auto wait = backoff.count() > 0 ? backoff : std::chrono::milliseconds(1000);
      cv_.wait_for(lock, wait, wake);
      if (stopping_) return;
      notified_ = false;
    }
    mark_busy();
    if (clock_.Steady() - last_prune > std::chrono::hours(1)) {
      last_prune = clock_.Steady();
      prune->Bind(1, clock_.NowUnixMillis() - options_.retention.count());
      if (Status s = prune->Run(); !s) {
        spdlog::warn("inbox: pruning failed: {}", s.error().message());
      } else if (db.Changes() > 0) {
        spdlog::info("inbox: pruned {} old deliveries", db.Changes());
      }
      prune->Reset();
    }
    {
      std::lock_guard lock(mu_);
      if (paused_) continue;
    }

    backoff = std::chrono::milliseconds(0);
    held_keys.clear();
    std::optional<std::chrono::steady_clock::time_point> next_due;
    std::set<int64_t> seen;
    int64_t after = 0;
    bool more = true;
    while (more) {
      rows.clear();
      select->Bind(1, kBatch).Bind(2, after);
      while (true) {
        Result<bool> step = select->Step();
        if (!step) {
          spdlog::error("inbox: cannot read pending deliveries: {}", step.error().message());
          break;
        }
        if (!*step) break;
        rows.push_back({select->ColumnInt(0), select->ColumnText(1), select->ColumnText(2),
                        select->ColumnText(3), select->ColumnText(4), select->ColumnText(5),
                        select->ColumnInt(6), select->ColumnInt(7)});
      }
      select->Reset();
      more = rows.size() == static_cast<size_t>(kBatch);
      if (!rows.empty()) after = rows.back().seq;

      // Handlers run outside any transaction, so a slow one holds no lock; their
      // outcomes are written together through the commit thread. A crash in
      // between processes those rows again, so handlers must be idempotent
      // (they are keyed by delivery and issue).
      marks.clear();
      uint64_t ok = 0, failed = 0;
      for (InboxRow& row : rows) {
        {
          std::lock_guard lock(mu_);
          if (stopping_ || paused_) {
            more = false;
            break;
          }
        }
        seen.insert(row.seq);
        // Order per key: a row whose key is held waits for the held one.
        if (!held_keys.empty() && held_keys.count(key_of(row)) > 0) continue;
        const auto now = clock_.Steady();
        if (auto due = retry_at.find(row.seq); due != retry_at.end() && due->second > now) {
          held_keys.insert(key_of(row));
          if (!next_due || due->second < *next_due) next_due = due->second;
          continue;
        }
        mark_busy();  // each delivery gets its own allowance
        row.last_attempt = IsLastAttempt(row.attempts);
        Status s = handler_(row);
        if (!s && s.error().transient() && !row.last_attempt) {
          // Later rows with this key wait for it; the others go on.
          const auto delay = RetryDelay(row.attempts);
          spdlog::info("inbox: delivery {} will be retried in {} ms (attempt {}): {}", row.guid,
                       delay.count(), row.attempts + 1, s.error().message());
          marks.push_back({row.seq, ProcessedMark::State::kRetry, s.error().ToString(), 0});
          retry_at[row.seq] = now + delay;
          if (!next_due || now + delay < *next_due) next_due = now + delay;
          held_keys.insert(key_of(row));
          continue;
        }
        retry_at.erase(row.seq);
        if (!s && s.error().transient()) {
          spdlog::warn("inbox: delivery {} failed after {} attempts: {}", row.guid,
                       row.attempts + 1, s.error().message());
        }
        marks.push_back({row.seq, s ? ProcessedMark::State::kDone : ProcessedMark::State::kFailed,
                         s ? std::string() : s.error().ToString(), clock_.NowUnixMillis()});
        (s ? ok : failed) += 1;
      }
      if (marks.empty()) continue;
      mark_busy();
      if (Status recorded = RecordAndWait(std::move(marks)); !recorded) {
        spdlog::error("inbox: cannot record processed deliveries: {}", recorded.error().message());
        backoff = std::chrono::milliseconds(1000);
        next_due.reset();
        break;
      }
      stats_.pending.fetch_sub(static_cast<int64_t>(ok + failed), std::memory_order_relaxed);
      stats_.processed.fetch_add(ok, std::memory_order_relaxed);
      stats_.process_failures.fetch_add(failed, std::memory_order_relaxed);
    }
    // Forget the rows that are no longer pending (done elsewhere, or pruned).
    for (auto it = retry_at.begin(); it != retry_at.end();) {
      it = seen.count(it->first) > 0 ? std::next(it) : retry_at.erase(it);
    }
    if (next_due) {
      backoff = std::max(std::chrono::milliseconds(1),
                         std::chrono::ceil<std::chrono::milliseconds>(*next_due - clock_.Steady()));
    }
  }
}

}  // namespace labelrun::store
