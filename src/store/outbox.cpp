#include "labelrun/store/outbox.hpp"

#include <spdlog/spdlog.h>

namespace labelrun::store {
namespace {

constexpr std::string_view kColumns =
    "id, installation_id, repository, issue, kind, job_key, payload, comment_id, attempts, "
    "not_before, created_at";

std::optional<WriteKind> KindFromName(std::string_view name) {
  for (WriteKind k :
       {WriteKind::kComment, WriteKind::kAddLabels, WriteKind::kRemoveLabel,
        WriteKind::kCommentReaction, WriteKind::kIssueReaction, WriteKind::kCheckRun}) {
    if (WriteKindName(k) == name) return k;
  }
  return std::nullopt;
}

Status RunOne(Database& db, std::string_view sql, auto&&... binds) {
  Result<Statement> st = db.Prepare(sql);
  if (!st) return st.error();
  int index = 1;
  (st->Bind(index++, binds), ...);
  return st->Run();
}

// While it lives, commits on `db` are not flushed to disk by themselves (WAL with
// synchronous=NORMAL): the next flushed commit on the database carries them, and a
// power loss before it loses them, in order, never one without those before.
class UnflushedCommits {
 public:
  explicit UnflushedCommits(Database& db) : db_(db) {
    if (Status s = db_.Exec("PRAGMA synchronous=NORMAL"); !s) {
      spdlog::warn("outbox: commits stay flushed: {}", s.error().message());
    }
  }
  ~UnflushedCommits() {
    if (Status s = db_.Exec("PRAGMA synchronous=FULL"); !s) {
      spdlog::error("outbox: cannot restore flushed commits: {}", s.error().message());
    }
  }
  UnflushedCommits(const UnflushedCommits&) = delete;
  UnflushedCommits& operator=(const UnflushedCommits&) = delete;

 private:
  Database& db_;
};

}  // namespace

std::string_view WriteKindName(WriteKind kind) {
  switch (kind) {
    case WriteKind::kComment:
      return "comment";
    case WriteKind::kAddLabels:
      return "add_labels";
    case WriteKind::kRemoveLabel:
      return "remove_label";
    case WriteKind::kCommentReaction:
      return "comment_reaction";
    case WriteKind::kIssueReaction:
      return "issue_reaction";
    case WriteKind::kCheckRun:
      return "check_run";
  }
  return "comment";
}

Result<std::unique_ptr<OutboxStore>> OutboxStore::Open(const std::filesystem::path& path) {
  Result<Database> db = Database::Open(path);
  if (!db) return db.error();
  if (Status s = Migrate(*db); !s) return s.error();
  if (Status s = db->Exec("UPDATE outbox SET state = 'pending' WHERE state = 'sending'"); !s) {
    return s.error();
  }
  return std::unique_ptr<OutboxStore>(new OutboxStore(std::move(*db)));
}

Result<int64_t> OutboxStore::Enqueue(const OutboxWrite& w, int64_t now_ms) {
  std::lock_guard lock(mu_);
  return EnqueueLocked(w, now_ms);
}

Result<std::vector<int64_t>> OutboxStore::EnqueueAll(const std::vector<OutboxWrite>& writes,
                                                     int64_t now_ms, Flush flush) {
  std::lock_guard lock(mu_);
  std::optional<UnflushedCommits> unflushed;
  if (flush == Flush::kWithNext) unflushed.emplace(db_);
  if (Status s = db_.Exec("BEGIN IMMEDIATE"); !s) return s.error();
  std::vector<int64_t> ids;
  ids.reserve(writes.size());
  for (const OutboxWrite& w : writes) {
    Result<int64_t> id = EnqueueLocked(w, now_ms);
    if (!id) {
      (void)db_.Exec("ROLLBACK");
      return id.error();
    }
    ids.push_back(*id);
  }
  if (Status s = db_.Exec("COMMIT"); !s) {
    (void)db_.Exec("ROLLBACK");
    return s.error();
  }
  return ids;
}

Result<int64_t> OutboxStore::EnqueueLocked(const OutboxWrite& w, int64_t now_ms) {
  if (IsEdited(w.kind) && w.coalesce) {
    // Only the job's newest open edit may take the new body: an older pending one
    // shows a state of its own, and one being sent is on its way already.
    std::optional<int64_t> pending;
    {
      Result<Statement> st = db_.Prepare(
          "SELECT id, state FROM outbox WHERE kind = ?4 AND repository = ?1 AND "
          "issue = ?2 AND job_key = ?3 AND state IN ('pending', 'sending') "
          "ORDER BY id DESC LIMIT 1");
      if (!st) return st.error();
      st->Bind(1, std::string_view(w.repository))
          .Bind(2, w.issue)
          .Bind(3, std::string_view(w.job_key))
          .Bind(4, WriteKindName(w.kind));
      Result<bool> row = st->Step();
      if (!row) return row.error();
      if (*row && st->ColumnText(1) == "pending") pending = st->ColumnInt(0);
      if (*row && st->ColumnText(1) == "sending") {
        // Reserved and not yet begun: the copy that Begin will hand out takes the
        // body first, then the row.
        std::lock_guard reserved_lock(reserved_mu_);
        if (auto it = reserved_.find(st->ColumnInt(0)); it != reserved_.end()) {
          it->second.payload = w.payload;
          pending = it->first;
        }
      }
    }
    if (pending) {
      Status s = RunOne(db_,
                        "UPDATE outbox SET payload = ?1 WHERE id = ?2 AND state IN ('pending', "
                        "'sending')",
                        std::string_view(w.payload), *pending);
      if (!s) return s.error();
      if (db_.Changes() > 0) return *pending;
    }
  }
  Status s =
      RunOne(db_,
             "INSERT INTO outbox (installation_id, repository, issue, kind, job_key, "
             "payload, comment_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
             w.installation_id, std::string_view(w.repository), w.issue, WriteKindName(w.kind),
             std::string_view(w.job_key), std::string_view(w.payload), w.comment_id, now_ms);
  if (!s) return s.error();
  return db_.LastInsertRowId();
}

Result<std::vector<OutboxWrite>> OutboxStore::Query(std::string_view sql, int64_t bind) {
  Result<Statement> st = db_.Prepare(sql);
  if (!st) return st.error();
  if (sql.find("?1") != std::string_view::npos) st->Bind(1, bind);
  std::vector<OutboxWrite> out;
  for (;;) {
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) break;
    OutboxWrite w;
    w.id = st->ColumnInt(0);
    w.installation_id = st->ColumnInt(1);
    w.repository = st->ColumnText(2);
    w.issue = st->ColumnInt(3);
    w.kind = KindFromName(st->ColumnText(4)).value_or(WriteKind::kComment);
    w.job_key = st->ColumnText(5);
    w.payload = st->ColumnText(6);
    w.comment_id = st->ColumnInt(7);
    w.attempts = st->ColumnInt(8);
    w.not_before_ms = st->ColumnInt(9);
    w.created_ms = st->ColumnInt(10);
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::vector<OutboxWrite>> OutboxStore::Heads() {
  std::lock_guard lock(mu_);
  return Query(std::string("SELECT ") + std::string(kColumns) +
               " FROM outbox WHERE id IN (SELECT min(id) FROM outbox WHERE state IN ('pending', "
               "'sending') GROUP BY installation_id) ORDER BY id");
}

Result<std::optional<OutboxWrite>> OutboxStore::Claim(int64_t id) {
  std::lock_guard lock(mu_);
  Status s = RunOne(db_,
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1 "
                    "WHERE id = ?1 AND state = 'pending'",
                    id);
  if (!s) return s.error();
  if (db_.Changes() == 0) return std::optional<OutboxWrite>();
  auto rows =
      Query(std::string("SELECT ") + std::string(kColumns) + " FROM outbox WHERE id = ?1", id);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<OutboxWrite>();
  return std::optional<OutboxWrite>(std::move(rows->front()));
}

Result<bool> OutboxStore::Reserve(int64_t id) {
  std::lock_guard lock(mu_);
  auto rows = Query(std::string("SELECT ") + std::string(kColumns) +
                        " FROM outbox WHERE id = ?1 AND state = 'pending'",
                    id);
  if (!rows) return rows.error();
  if (rows->empty()) return false;
  OutboxWrite w = std::move(rows->front());
  if (IsEdited(w.kind)) {
    Result<Statement> st = db_.Prepare(
        "SELECT comment_id FROM outbox_comments WHERE repository = ?1 AND issue = ?2 AND "
        "job_key = ?3");
    if (!st) return st.error();
    st->Bind(1, std::string_view(w.repository))
        .Bind(2, w.issue)
        .Bind(3, std::string_view(w.job_key));
    Result<bool> row = st->Step();
    if (!row) return row.error();
    w.comment_known = true;
    w.report_comment_id = *row ? st->ColumnInt(0) : 0;
  }
  // An edit of a comment (check run) GitHub already has may reach it twice, so its
  // attempt need not be on disk before it is sent; a create's must be (see Open).
  std::optional<UnflushedCommits> unflushed;
  if (IsEdited(w.kind) && w.report_comment_id != 0) unflushed.emplace(db_);
  Status s = RunOne(db_,
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1 "
                    "WHERE id = ?1 AND state = 'pending'",
                    id);
  if (!s) return s.error();
  if (db_.Changes() == 0) return false;
  ++w.attempts;
  std::lock_guard reserved_lock(reserved_mu_);
  reserved_[id] = std::move(w);
  return true;
}

std::optional<OutboxWrite> OutboxStore::Begin(int64_t id) {
  std::lock_guard reserved_lock(reserved_mu_);
  auto node = reserved_.extract(id);
  if (node.empty()) return std::nullopt;
  return std::move(node.mapped());
}

Status OutboxStore::Release(int64_t id) {
  std::lock_guard lock(mu_);
  {
    std::lock_guard reserved_lock(reserved_mu_);
    if (reserved_.erase(id) == 0) return Ok();
  }
  return RunOne(db_,
                "UPDATE outbox SET state = 'pending', attempts = attempts - 1 "
                "WHERE id = ?1 AND state = 'sending'",
                id);
}

Status OutboxStore::MarkDone(int64_t id, int64_t now_ms) {
  std::lock_guard lock(mu_);
  UnflushedCommits unflushed(db_);
  return RunOne(db_, "UPDATE outbox SET state = 'done', sent_at = ?2, error = NULL WHERE id = ?1",
                id, now_ms);
}

Status OutboxStore::MarkCommentDone(int64_t id, int64_t now_ms, int64_t comment_id) {
  std::lock_guard lock(mu_);
  UnflushedCommits unflushed(db_);
  if (Status s = db_.Exec("BEGIN IMMEDIATE"); !s) return s;
  Status s = RunOne(db_,
                    "INSERT INTO outbox_comments (repository, issue, job_key, comment_id) "
                    "SELECT repository, issue, job_key, ?2 FROM outbox WHERE id = ?1 "
                    "ON CONFLICT DO UPDATE SET comment_id = excluded.comment_id",
                    id, comment_id);
  if (s) {
    s = RunOne(db_, "UPDATE outbox SET state = 'done', sent_at = ?2, error = NULL WHERE id = ?1",
               id, now_ms);
  }
  if (s) s = db_.Exec("COMMIT");
  if (!s) (void)db_.Exec("ROLLBACK");
  return s;
}

Status OutboxStore::MarkRetry(int64_t id, int64_t not_before_ms, std::string_view error) {
  std::lock_guard lock(mu_);
  return RunOne(db_,
                "UPDATE outbox SET state = 'pending', not_before = ?2, error = ?3 WHERE id = ?1",
                id, not_before_ms, error);
}

Result<bool> OutboxStore::Cancel(int64_t id) {
  std::lock_guard lock(mu_);
  {
    // A reserved write counts its reservation as an attempt, one never begun. Held
    // across the delete so that Begin cannot hand it out meanwhile.
    std::lock_guard reserved_lock(reserved_mu_);
    if (auto it = reserved_.find(id); it != reserved_.end()) {
      if (it->second.attempts != 1) return false;  // tried before: it may have landed
      Status s = RunOne(db_, "DELETE FROM outbox WHERE id = ?1 AND state = 'sending'", id);
      if (!s) return s.error();
      reserved_.erase(it);
      return true;
    }
  }
  Status s =
      RunOne(db_, "DELETE FROM outbox WHERE id = ?1 AND state = 'pending' AND attempts = 0", id);
  if (!s) return s.error();
  return db_.Changes() > 0;
}

Status OutboxStore::MarkFailed(int64_t id, std::string_view error) {
  std::lock_guard lock(mu_);
  return RunOne(db_, "UPDATE outbox SET state = 'failed', error = ?2 WHERE id = ?1", id, error);
}

Result<std::optional<int64_t>> OutboxStore::CommentId(std::string_view repository, int64_t issue,
                                                      std::string_view job_key) {
  std::lock_guard lock(mu_);
  Result<Statement> st = db_.Prepare(
      "SELECT comment_id FROM outbox_comments WHERE repository = ?1 AND issue = ?2 AND "
      "job_key = ?3");
  if (!st) return st.error();
  st->Bind(1, repository).Bind(2, issue).Bind(3, job_key);
  Result<bool> row = st->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(st->ColumnInt(0));
}

Status OutboxStore::SetCommentId(std::string_view repository, int64_t issue,
                                 std::string_view job_key, int64_t comment_id) {
  std::lock_guard lock(mu_);
  return RunOne(
      db_,
      "INSERT INTO outbox_comments (repository, issue, job_key, comment_id) "
      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET comment_id = excluded.comment_id",
      repository, issue, job_key, comment_id);
}

Result<int64_t> OutboxStore::PruneDone(int64_t sent_before_ms) {
  std::lock_guard lock(mu_);
  Status s =
      RunOne(db_, "DELETE FROM outbox WHERE state = 'done' AND sent_at < ?1", sent_before_ms);
  if (!s) return s.error();
  return db_.Changes();
}

Result<int64_t> OutboxStore::Depth() {
  std::lock_guard lock(mu_);
  Result<Statement> st =
      db_.Prepare("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')");
  if (!st) return st.error();
  Result<bool> row = st->Step();
  if (!row) return row.error();
  return st->ColumnInt(0);
}

Result<std::vector<OutboxWrite>> OutboxStore::All() {
  std::lock_guard lock(mu_);
  return Query(std::string("SELECT ") + std::string(kColumns) + " FROM outbox ORDER BY id");
}

}  // namespace labelrun::store
