// labelrun's schema, one migration per version. A migration never changes once
// released; add a new one instead.

#include <array>

#include "labelrun/store/sqlite.hpp"

namespace labelrun::store {
namespace {

constexpr std::array<std::string_view, 2> kMigrations = {
    // 1: the delivery inbox. `digest` holds the fields processing needs (see
    // webhook/digest.hpp); `body` only when inbox.keep_bodies is on.
    R"sql(
CREATE TABLE inbox (
  seq             INTEGER PRIMARY KEY,
  guid            TEXT    NOT NULL UNIQUE,
  event           TEXT    NOT NULL,
  action          TEXT    NOT NULL DEFAULT '',
  repository      TEXT    NOT NULL DEFAULT '',
  installation_id INTEGER NOT NULL DEFAULT 0,
  sender          TEXT    NOT NULL DEFAULT '',
  received_at     INTEGER NOT NULL,
  body_bytes      INTEGER NOT NULL,
  digest          TEXT    NOT NULL,
  body            BLOB,
  state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
  processed_at    INTEGER,
  attempts        INTEGER NOT NULL DEFAULT 0,
  error           TEXT
);
CREATE INDEX inbox_pending ON inbox (seq) WHERE state = 'pending';
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    // 2: the GitHub outbox. Every write to GitHub is a row first; the paced
    // worker sends them per installation in id order. `payload`: the comment
    // body, the labels (one per line), the label name or the reaction content.
    // outbox_comments remembers which GitHub comment holds a job's report.
    R"sql(
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  installation_id INTEGER NOT NULL,
  repository      TEXT    NOT NULL,
  issue           INTEGER NOT NULL DEFAULT 0,
  kind            TEXT    NOT NULL CHECK (kind IN ('comment', 'add_labels', 'remove_label',
                                                   'comment_reaction', 'issue_reaction')),
  job_key         TEXT    NOT NULL DEFAULT '',
  payload         TEXT    NOT NULL,
  comment_id      INTEGER NOT NULL DEFAULT 0,
  state           TEXT    NOT NULL DEFAULT 'pending'
                          CHECK (state IN ('pending', 'sending', 'done', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  not_before      INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  sent_at         INTEGER,
  error           TEXT
);
CREATE INDEX outbox_open ON outbox (installation_id, id) WHERE state IN ('pending', 'sending');
CREATE TABLE outbox_comments (
  repository TEXT    NOT NULL,
  issue      INTEGER NOT NULL,
  job_key    TEXT    NOT NULL,
  comment_id INTEGER NOT NULL,
  PRIMARY KEY (repository, issue, job_key)
);
)sql",
};

}  // namespace

Status Migrate(Database& db) {
  Result<int64_t> version = db.UserVersion();
  if (!version) return version.error();
  if (*version > static_cast<int64_t>(kMigrations.size())) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      "the database schema (version " + std::to_string(*version) +
                          ") is newer than this labelrun knows (" +
                          std::to_string(kMigrations.size()) + "); upgrade labelrun");
  }
  for (size_t v = static_cast<size_t>(*version); v < kMigrations.size(); ++v) {
    if (Status s = db.Exec("BEGIN IMMEDIATE"); !s) return s;
    Status applied = db.Exec(kMigrations[v]);
    if (applied) applied = db.Exec("PRAGMA user_version = " + std::to_string(v + 1));
    if (!applied) {
      (void)db.Exec("ROLLBACK");
      return applied;
    }
    if (Status s = db.Exec("COMMIT"); !s) return s;
  }
  return Ok();
}

}  // namespace labelrun::store
