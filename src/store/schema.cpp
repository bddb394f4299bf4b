// labelrun's schema, one migration per version. A migration never changes once
// released; add a new one instead.

#include <array>

#include "labelrun/store/sqlite.hpp"

namespace labelrun::store {
namespace {

constexpr std::array<std::string_view, 7> kMigrations = {
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
    // 3: jobs and their history. A state change is written here before it is
    // acted on. `dedupe` holds "repo#issue#rule" while a job is not final, so two
    // racing deliveries cannot start the same rule twice on one issue.
    R"sql(
CREATE TABLE jobs (
  seq           INTEGER PRIMARY KEY,
  id            TEXT    NOT NULL UNIQUE,
  dedupe        TEXT    UNIQUE,
  delivery      TEXT    NOT NULL DEFAULT '',
  repository    TEXT    NOT NULL,
  issue         INTEGER NOT NULL,
  installation  INTEGER NOT NULL DEFAULT 0,
  rule          TEXT    NOT NULL,
  priority      INTEGER NOT NULL,
  spec          TEXT    NOT NULL,
  commit_sha    TEXT    NOT NULL DEFAULT '',
  sender        TEXT    NOT NULL DEFAULT '',
  state         TEXT    NOT NULL,
  reason        TEXT    NOT NULL DEFAULT '',
  host          TEXT    NOT NULL DEFAULT '',
  gpus          TEXT    NOT NULL DEFAULT '',
  container_id  TEXT    NOT NULL DEFAULT '',
  image_digest  TEXT    NOT NULL DEFAULT '',
  exit_code     INTEGER,
  cancel_by     TEXT    NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  started_at    INTEGER,
  finished_at   INTEGER
);
CREATE INDEX jobs_open ON jobs (state) WHERE state NOT IN ('succeeded', 'failed', 'cancelled', 'timed_out');
CREATE INDEX jobs_repo ON jobs (repository, seq);
CREATE TABLE job_events (
  seq     INTEGER PRIMARY KEY,
  job_id  TEXT    NOT NULL,
  at      INTEGER NOT NULL,
  state   TEXT    NOT NULL,
  detail  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX job_events_job ON job_events (job_id, seq);
)sql",
    // 4: a delivery starts a rule's job at most once, whatever crashes. `once` is
    // 1 on the job a delivery decided, and (delivery, rule) is unique among those;
    // jobs no delivery decided (retries from the API, tools) have 0. Jobs stored
    // twice for one delivery before this migration keep their rows; only the
    // first is marked.
    R"sql(
ALTER TABLE jobs ADD COLUMN once INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET once = 1
  WHERE delivery <> ''
    AND seq = (SELECT min(j.seq) FROM jobs j WHERE j.delivery = jobs.delivery AND j.rule = jobs.rule);
CREATE UNIQUE INDEX jobs_once ON jobs (delivery, rule) WHERE once = 1;
)sql",
    // 5: the App's installations, learnt from `installation` and
    // `installation_repositories` deliveries (or asked of GitHub): which one
    // serves a repository. `installations_gone` keeps the ids GitHub said were
    // deleted or suspended, so that older deliveries in the inbox do not bring
    // them back.
    R"sql(
CREATE TABLE installation_repos (
  repository      TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
  installation_id INTEGER NOT NULL,
  account         TEXT    NOT NULL DEFAULT '',
  updated_at      INTEGER NOT NULL
);
CREATE INDEX installation_repos_id ON installation_repos (installation_id);
CREATE TABLE installations_gone (
  installation_id INTEGER PRIMARY KEY,
  reason          TEXT    NOT NULL,
  at              INTEGER NOT NULL
);
)sql",
    // 6: lists and recovery stay index searches however many jobs have ended. A
    // list by state walks (state, seq) newest first; recovery and the open list
    // walk only the jobs not final, in seq order (jobs_open on (state) left them
    // to a scan of the whole table).
    R"sql(
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, seq);
DROP INDEX IF EXISTS jobs_open;
CREATE INDEX IF NOT EXISTS jobs_open_seq ON jobs (seq) WHERE state NOT IN ('succeeded', 'failed', 'cancelled', 'timed_out');
)sql",
    // 7: pull requests as triggers. A job knows whether it runs a pull request's
    // head (its commit), from a fork or not, and the label that approved it. The
    // outbox gains check runs (kind 'check_run'; their GitHub ids are kept in
    // outbox_comments under the row's job_key): SQLite cannot change a CHECK, so
    // the table is rebuilt with its rows.
    R"sql(
ALTER TABLE jobs ADD COLUMN pull_request INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN from_fork INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN trigger_label TEXT NOT NULL DEFAULT '';
CREATE TABLE outbox_new (
  id              INTEGER PRIMARY KEY,
  installation_id INTEGER NOT NULL,
  repository      TEXT    NOT NULL,
  issue           INTEGER NOT NULL DEFAULT 0,
  kind            TEXT    NOT NULL CHECK (kind IN ('comment', 'add_labels', 'remove_label',
                                                   'comment_reaction', 'issue_reaction',
                                                   'check_run')),
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
INSERT INTO outbox_new SELECT id, installation_id, repository, issue, kind, job_key, payload,
  comment_id, state, attempts, not_before, created_at, sent_at, error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_open ON outbox (installation_id, id) WHERE state IN ('pending', 'sending');
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
