#pragma once
// What labelrun learns about the App's installations: from `installation` and
// `installation_repositories` deliveries, and by asking GitHub.

#include <cstdint>
#include <string>

#include "labelrun/core/result.hpp"
#include "labelrun/github/token_source.hpp"
#include "labelrun/store/inbox.hpp"
#include "labelrun/store/installations.hpp"
#include "labelrun/webhook/event.hpp"

namespace labelrun::app {

// Records one installation delivery: `installation` created / unsuspend /
// new_permissions_accepted add the repositories it lists; deleted / suspend
// forget the installation; `installation_repositories` added / removed add or
// drop the repositories listed. `store` null: only logged. A store error is
// returned (the inbox retries or marks the delivery failed).
Status RecordInstallation(store::InstallationStore* store, const store::InboxRow& row,
                          const webhook::InstallationEvent& event);

// The installation that serves `repository` ("owner/name"): what `store` knows
// from deliveries; else the newest delivery for it in the inbox at `db_path`
// (unless its installation is gone); else GitHub's answer to
// GET /repos/{owner}/{repo}/installation (App JWT), which is then recorded.
// kNotFound with GitHub's reason when none is known.
Result<int64_t> FindInstallation(const std::filesystem::path& db_path,
                                 const std::string& repository, github::AppTokenSource* app,
                                 int64_t now_ms);

}  // namespace labelrun::app
