#pragma once
// A thin RAII layer over SQLite. Errors are values. A Database and its
// Statements belong to one thread at a time.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace labelrun::store {

class Statement {
 public:
  Statement() = default;
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  // Binds are 1-based, as in SQLite.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindNull(int index);

  // Runs one step: true when a row is ready, false when done.
  Result<bool> Step();
  // Step until done, for statements that return no rows.
  Status Run();
  // Resets for the next execution and clears bindings.
  void Reset();

  int64_t ColumnInt(int index) const;
  std::string ColumnText(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Opens (creating if needed) a database in WAL mode with synchronous=FULL:
  // a returned COMMIT is on disk. `busy_timeout` bounds waits for the write lock.
  static Result<Database> Open(const std::filesystem::path& path,
                               std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));

  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  ~Database();

  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  int64_t Changes() const;
  int64_t LastInsertRowId() const;
  // PRAGMA user_version.
  Result<int64_t> UserVersion();
  std::string LastError() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// Creates or upgrades labelrun's schema (inbox and what later modules add).
Status Migrate(Database& db);

}  // namespace labelrun::store
