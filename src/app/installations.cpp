#include "labelrun/app/installations.hpp"

#include <spdlog/spdlog.h>

#include "labelrun/store/sqlite.hpp"

namespace labelrun::app {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none listed" : out;
}

// The newest installation that delivered an event for `repo`, or 0.
int64_t InstallationFromInbox(const std::filesystem::path& db_path, const std::string& repo) {
  if (!std::filesystem::exists(db_path)) return 0;
  Result<store::Database> db = store::Database::Open(db_path);
  if (!db) return 0;
  Result<store::Statement> st = db->Prepare(
      "SELECT installation_id FROM inbox WHERE repository = ?1 COLLATE NOCASE "
      "AND installation_id <> 0 ORDER BY seq DESC LIMIT 1");
  if (!st) return 0;
  st->Bind(1, repo);
  Result<bool> row = st->Step();
  return row && *row ? st->ColumnInt(0) : 0;
}

}  // namespace

Status RecordInstallation(store::InstallationStore* store, const store::InboxRow& row,
                          const webhook::InstallationEvent& e) {
  const int64_t id = e.installation_id;
  const bool repositories_event = row.event == "installation_repositories";
  const std::string& action = e.action;
  Status s = Ok();
  if (store != nullptr && id <= 0) {
    s = Unexpected(ErrorCode::kInvalidArgument,
                   "delivery " + row.guid + ": " + row.event + " without installation.id");
  } else if (store == nullptr) {
    // Only logged.
  } else if (!repositories_event && (action == "deleted" || action == "suspend")) {
    s = store->Forget(id, action, row.received_at_ms);
  } else if (!repositories_event && (action == "created" || action == "unsuspend" ||
                                     action == "new_permissions_accepted")) {
    s = store->AddRepositories(id, e.account, e.repositories_added, row.received_at_ms);
  } else if (repositories_event && action == "added") {
    s = store->AddRepositories(id, e.account, e.repositories_added, row.received_at_ms);
  } else if (repositories_event && action == "removed") {
    s = store->RemoveRepositories(id, e.repositories_removed);
  }
  if (!s) {
    spdlog::error("delivery {}: cannot record installation {}: {}", row.guid, id,
                  s.error().message());
    return s;
  }
  // Logged once recorded: what the line says is in the store.
  spdlog::info(
      "processed delivery {} event={} action={} installation={} account={} added=[{}] "
      "removed=[{}]",
      row.guid, row.event, action, id, e.account, Join(e.repositories_added),
      Join(e.repositories_removed));
  return Ok();
}

Result<int64_t> FindInstallation(const std::filesystem::path& db_path,
                                 const std::string& repository, github::AppTokenSource* app,
                                 int64_t now_ms) {
  // No database yet (labelrun never ran with this state_dir): only GitHub knows.
  std::unique_ptr<store::InstallationStore> store;
  if (std::filesystem::exists(db_path)) {
    Result<std::unique_ptr<store::InstallationStore>> opened =
        store::InstallationStore::Open(db_path);
    if (!opened) return opened.error();
    store = std::move(*opened);
    Result<std::optional<int64_t>> known = store->ForRepository(repository);
    if (!known) return known.error();
    if (*known) return **known;
    if (int64_t from_inbox = InstallationFromInbox(db_path, repository); from_inbox != 0) {
      Result<bool> gone = store->Gone(from_inbox);
      if (!gone) return gone.error();
      if (!*gone) return from_inbox;
    }
  }
  if (app == nullptr) {
    return Unexpected(ErrorCode::kNotFound,
                      "no installation known for " + repository + " (no GitHub App configured)");
  }
  Result<github::AppTokenSource::Installation> asked = app->RepositoryInstallation(repository);
  if (!asked) {
    return Unexpected(asked.error().code(),
                      "no installation known for " + repository + ": " + asked.error().message());
  }
  if (store) {
    if (Status s = store->AddRepositories(asked->id, asked->account, {repository}, now_ms); !s) {
      spdlog::warn("cannot record installation {} of {}: {}", asked->id, repository,
                   s.error().message());
    }
  }
  return asked->id;
}

}  // namespace labelrun::app
