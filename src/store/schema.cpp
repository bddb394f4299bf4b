// labelrun's schema, one migration per version. A migration never changes once
// released; add a new one instead.

#include <array>

#include "labelrun/store/sqlite.hpp"

namespace labelrun::store {
namespace {

constexpr std::array<std::string_view, 1> kMigrations = {
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
