#pragma once
// labelrun's job pages, for people:
//   GET /jobs                     recent jobs (?repo=owner/name&state=running)
//   GET /jobs/{id}                status, table, loss curve, GPUs, live log tail
//   GET /jobs/{id}/log            the whole log, redacted, as text
//   GET /jobs/{id}/log/tail       its last lines (the page refreshes from it)
//   GET /jobs/{id}/loss.svg       the curve alone
//   GET /jobs/{id}/outputs        the collected outputs: each file with its link
//   GET /jobs/{id}/outputs/PATH   one collected file, streamed from the archive
//   GET /jobs/{id}/outputs.tar    all of them, as the tar archive Docker gave
// Access: `Authorization: Bearer` with the dashboard token opens everything; a
// link signed by labelrun (comments carry them; they expire after
// report.link_ttl) opens its own path of one job, and the links on what it opens
// lead only within that job and expire with it. The list needs the token (a
// signed link to it is refused). Without either: 401. A job id that is not one
// (IsJobId) is 400 before any file is looked at. Paths are percent-decoded once;
// signatures cover the decoded path.

#include <filesystem>
#include <string>

#include "labelrun/app/job_reporter.hpp"
#include "labelrun/core/clock.hpp"
#include "labelrun/server/app_routes.hpp"
#include "labelrun/store/jobs.hpp"

namespace labelrun::app {

struct JobPagesOptions {
  std::string dashboard_token;  // empty: signed links only
  std::string link_key;
  std::chrono::milliseconds link_ttl{7LL * 24 * 3600 * 1000};
  std::filesystem::path jobs_dir;
  uint64_t max_log_bytes = uint64_t{64} << 20;  // /log serves at most the last this many
};

class JobPages {
 public:
  JobPages(JobPagesOptions options, JobReporter& reporter, store::JobStore& store,
           const Clock& clock);

  static bool Handles(std::string_view path) {
    return path == "/jobs" || path.rfind("/jobs/", 0) == 0;
  }
  server::AppReply Handle(const server::AppRequest& request);

 private:
  // How a request got in: the dashboard token, or a signed link valid until
  // `expires_unix`.
  struct Access {
    bool dashboard = false;
    int64_t expires_unix = 0;
  };
  // A link to `path` (decoded) signed for as long as the page's own access lasts:
  // now + link_ttl with the token, the link's own expiry with a signed link.
  std::string Signed(const std::string& path, const Access& access) const;
  server::AppReply List(const server::AppRequest& request, const Access& access);
  server::AppReply Page(const std::string& id, const Access& access);
  server::AppReply Log(const std::string& id, size_t tail_lines);
  // "" (the index), ".tar" (the whole archive) or "/<path>" (one file).
  server::AppReply Outputs(const std::string& id, std::string_view which, const Access& access);

  JobPagesOptions options_;
  JobReporter& reporter_;
  store::JobStore& store_;
  const Clock& clock_;
};

}  // namespace labelrun::app
