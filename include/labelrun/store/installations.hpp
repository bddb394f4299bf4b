#pragma once
// The GitHub App's installations as labelrun learnt them (schema migration 5):
// which installation serves a repository. Fed by `installation` and
// `installation_repositories` deliveries and by answers of
// GET /repos/{owner}/{repo}/installation; read by tools such as
// `labelrun labels sync`. Deleted or suspended installations are forgotten.
// Thread-safe: one connection behind a mutex.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/core/result.hpp"
#include "labelrun/store/sqlite.hpp"

namespace labelrun::store {

struct InstallationRepo {
  std::string repository;  // owner/name
  int64_t installation_id = 0;
  std::string account;  // the user or organisation the App is installed on
};

class InstallationStore {
 public:
  // Opens (and migrates) the database at `path`.
  static Result<std::unique_ptr<InstallationStore>> Open(const std::filesystem::path& path);

  // The installation serves these repositories (created, unsuspended, repositories
  // added). A repository moves to `installation` if another held it; the
  // installation is no longer gone.
  Status AddRepositories(int64_t installation, std::string_view account,
                         const std::vector<std::string>& repositories, int64_t now_ms);
  // The installation no longer serves these repositories (repositories removed).
  Status RemoveRepositories(int64_t installation, const std::vector<std::string>& repositories);
  // The installation was deleted or suspended (`reason`): every repository it
  // served is forgotten, and Gone() says so until it is added again.
  Status Forget(int64_t installation, std::string_view reason, int64_t now_ms);

  // The installation that serves `repository` (case-insensitive), or nullopt.
  Result<std::optional<int64_t>> ForRepository(std::string_view repository);
  // True when the installation was deleted or suspended and not added since.
  Result<bool> Gone(int64_t installation);
  // Every known repository, by name.
  Result<std::vector<InstallationRepo>> All();

 private:
  explicit InstallationStore(Database db) : db_(std::move(db)) {}

  std::mutex mu_;
  Database db_;
};

}  // namespace labelrun::store
