#pragma once
// The statements and connection settings of the inbox's commit thread, named
// here so that tests can check how SQLite compiles them. Private to store/.

#include <array>
#include <string_view>

namespace labelrun::store::inbox_sql {

inline constexpr std::string_view kInsert =
    "INSERT INTO inbox (guid, event, action, repository, installation_id, sender, received_at, "
    "body_bytes, digest, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ON CONFLICT (guid) DO NOTHING";
inline constexpr std::string_view kFinish =
    "UPDATE inbox SET state = ?2, processed_at = ?3, attempts = attempts + 1, error = ?4 "
    "WHERE seq = ?1";
inline constexpr std::string_view kRetry =
    "UPDATE inbox SET attempts = attempts + 1, error = ?2 WHERE seq = ?1";
inline constexpr std::string_view kProbe =
    "INSERT INTO meta (key, value) VALUES ('ready_probe', strftime('%s','now')) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value";

// Set on the commit thread's own connection, which writes only the inbox and
// meta tables.
// - The commit thread checkpoints between its own commits (SQLite's automatic
//   checkpoint), so each checkpoint completes and the WAL restarts instead of
//   growing under sustained load. Small, frequent checkpoints keep each pause
//   short; the file is cut back to the limit when it restarts.
// - ignore_check_constraints: SQLite compiles the inbox's
//   `CHECK (state IN ('pending', 'done', 'failed'))` into a temporary b-tree
//   built, filled and dropped for every row inserted or marked, which cost more
//   than the row itself. This connection writes `state` only as the column's
//   default ('pending') and the two literals of kFinish's caller ('done',
//   'failed'), so the check cannot fail here; every other connection keeps it.
inline constexpr std::array<std::string_view, 3> kWriterPragmas = {
    "PRAGMA wal_autocheckpoint=512", "PRAGMA journal_size_limit=67108864",
    "PRAGMA ignore_check_constraints=ON"};

}  // namespace labelrun::store::inbox_sql
