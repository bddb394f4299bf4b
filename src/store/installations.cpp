#include "labelrun/store/installations.hpp"

namespace labelrun::store {

Result<std::unique_ptr<InstallationStore>> InstallationStore::Open(
    const std::filesystem::path& path) {
  Result<Database> db = Database::Open(path);
  if (!db) return db.error();
  if (Status s = Migrate(*db); !s) return s.error();
  return std::unique_ptr<InstallationStore>(new InstallationStore(std::move(*db)));
}

Status InstallationStore::AddRepositories(int64_t installation, std::string_view account,
                                          const std::vector<std::string>& repositories,
                                          int64_t now_ms) {
  if (installation <= 0) {
    return Unexpected(ErrorCode::kInvalidArgument, "installation id must be positive");
  }
  std::lock_guard lock(mu_);
  if (Status s = db_.Exec("BEGIN IMMEDIATE"); !s) return s;
  auto fail = [this](Status s) {
    (void)db_.Exec("ROLLBACK");
    return s;
  };
  {
    Result<Statement> st = db_.Prepare("DELETE FROM installations_gone WHERE installation_id = ?1");
    if (!st) return fail(st.error());
    if (Status s = st->Bind(1, installation).Run(); !s) return fail(s);
  }
  Result<Statement> st = db_.Prepare(
      "INSERT INTO installation_repos (repository, installation_id, account, updated_at) "
      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (repository) DO UPDATE SET "
      "repository = excluded.repository, installation_id = excluded.installation_id, "
      "account = excluded.account, updated_at = excluded.updated_at");
  if (!st) return fail(st.error());
  for (const std::string& repo : repositories) {
    if (repo.empty()) continue;
    st->Reset();
    if (Status s = st->Bind(1, repo).Bind(2, installation).Bind(3, account).Bind(4, now_ms).Run();
        !s) {
      return fail(s);
    }
  }
  if (Status s = db_.Exec("COMMIT"); !s) return fail(s);
  return Ok();
}

Status InstallationStore::RemoveRepositories(int64_t installation,
                                             const std::vector<std::string>& repositories) {
  std::lock_guard lock(mu_);
  Result<Statement> st =
      db_.Prepare("DELETE FROM installation_repos WHERE repository = ?1 AND installation_id = ?2");
  if (!st) return st.error();
  for (const std::string& repo : repositories) {
    st->Reset();
    if (Status s = st->Bind(1, repo).Bind(2, installation).Run(); !s) return s;
  }
  return Ok();
}

Status InstallationStore::Forget(int64_t installation, std::string_view reason, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (Status s = db_.Exec("BEGIN IMMEDIATE"); !s) return s;
  Result<Statement> del = db_.Prepare("DELETE FROM installation_repos WHERE installation_id = ?1");
  Result<Statement> gone = db_.Prepare(
      "INSERT INTO installations_gone (installation_id, reason, at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (installation_id) DO UPDATE SET reason = excluded.reason, at = excluded.at");
  Status s = !del ? Status(del.error()) : !gone ? Status(gone.error()) : Ok();
  if (s) s = del->Bind(1, installation).Run();
  if (s) s = gone->Bind(1, installation).Bind(2, reason).Bind(3, now_ms).Run();
  if (s) s = db_.Exec("COMMIT");
  if (!s) (void)db_.Exec("ROLLBACK");
  return s;
}

Result<std::optional<int64_t>> InstallationStore::ForRepository(std::string_view repository) {
  std::lock_guard lock(mu_);
  Result<Statement> st =
      db_.Prepare("SELECT installation_id FROM installation_repos WHERE repository = ?1");
  if (!st) return st.error();
  st->Bind(1, repository);
  Result<bool> row = st->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(st->ColumnInt(0));
}

Result<bool> InstallationStore::Gone(int64_t installation) {
  std::lock_guard lock(mu_);
  Result<Statement> st = db_.Prepare("SELECT 1 FROM installations_gone WHERE installation_id = ?1");
  if (!st) return st.error();
  st->Bind(1, installation);
  return st->Step();
}

Result<std::vector<InstallationRepo>> InstallationStore::All() {
  std::lock_guard lock(mu_);
  Result<Statement> st = db_.Prepare(
      "SELECT repository, installation_id, account FROM installation_repos ORDER BY repository");
  if (!st) return st.error();
  std::vector<InstallationRepo> out;
  for (;;) {
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({st->ColumnText(0), st->ColumnInt(1), st->ColumnText(2)});
  }
  return out;
}

}  // namespace labelrun::store
