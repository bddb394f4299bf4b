#pragma once
// labelrun's job pages, for people:
//   GET  /login                    the sign-in form (name and dashboard token)
//   POST /login                    signs in: a session cookie, then to `next` (303)
//   POST /logout                   ends the session (CSRF token required)
//   GET  /assets/labelrun.js       the pages' script (no secrets; open to all)
//   GET  /jobs                     recent jobs (?repo=owner/name&state=running)
//   GET  /jobs/{id}                status, table, loss curve, GPUs, live log tail
//   GET  /jobs/{id}/live.json      what the page refreshes while the job runs
//   POST /jobs/{id}/cancel         Cancel button (session + CSRF token)
//   POST /jobs/{id}/retry          Retry button: the same spec on the same commit
//   GET  /jobs/{id}/log            the whole log, redacted, as text
//   GET  /jobs/{id}/log/tail       its last lines
//   GET  /jobs/{id}/loss.svg       the curve alone
//   GET  /jobs/{id}/outputs        the collected outputs: each file with its link
//   GET  /jobs/{id}/outputs/PATH   one collected file, streamed from the archive
//   GET  /jobs/{id}/outputs.tar    all of them, as the tar archive Docker gave
// Access: a dashboard session (the cookie /login sets) or `Authorization: Bearer`
// with the dashboard token opens everything; only a session may act (POST), and
// only with its CSRF token. A link signed by labelrun (comments carry them; they
// expire after report.link_ttl) opens its own path of one job, read-only, and the
// links on what it opens lead only within that job and expire with it. The list
// needs a session or the token (a signed link to it is refused). Without any: 401.
// A job id that is not one (IsJobId) is 400 before any file is looked at. Paths
// are percent-decoded once; signatures cover the decoded path.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "labelrun/app/job_reporter.hpp"
#include "labelrun/core/clock.hpp"
#include "labelrun/server/app_routes.hpp"
#include "labelrun/store/jobs.hpp"
#include "labelrun/web/sessions.hpp"

namespace labelrun::app {

struct JobPagesOptions {
  std::string dashboard_token;  // empty: signed links only
  std::string link_key;
  std::chrono::milliseconds link_ttl{7LL * 24 * 3600 * 1000};
  std::filesystem::path jobs_dir;
  uint64_t max_log_bytes = uint64_t{64} << 20;  // /log serves at most the last this many
  std::chrono::milliseconds session_ttl{12LL * 3600 * 1000};
  // Session cookies are Secure even when the request came without TLS (a proxy in
  // front ends it): set when report.public_url is https.
  bool secure_cookies = false;
  std::string github_url = "https://github.com";  // where issues are linked; empty: not
};

// What the Cancel and Retry buttons do; `by` is the signed-in user's name.
struct JobActions {
  std::function<Status(const std::string& job_id, const std::string& by)> cancel;
  // The new job's id.
  std::function<Result<std::string>(const std::string& job_id, const std::string& by)> retry;
};

class JobPages {
 public:
  JobPages(JobPagesOptions options, JobReporter& reporter, store::JobStore& store,
           const Clock& clock, JobActions actions = {});

  static bool Handles(std::string_view path) {
    return path == "/jobs" || path.rfind("/jobs/", 0) == 0 || path == "/login" ||
           path == "/logout" || path == "/assets/labelrun.js";
  }
  server::AppReply Handle(const server::AppRequest& request);

 private:
  // How a request got in: the dashboard token, or a signed link valid until
  // `expires_unix`.
  struct Access {
    bool dashboard = false;               // the token, or a session
    std::optional<web::Session> session;  // signed in: links need no signature
    int64_t expires_unix = 0;
  };
  // A link to `path` (decoded) signed for as long as the page's own access lasts:
  // now + link_ttl with the token, the link's own expiry with a signed link.
  std::string Signed(const std::string& path, const Access& access) const;
  server::AppReply List(const server::AppRequest& request, const Access& access);
  server::AppReply Page(const std::string& id, const Access& access);
  server::AppReply Live(const std::string& id, const Access& access);
  PageLinks LinksFor(const std::string& id, const Access& access) const;
  server::AppReply Login(const server::AppRequest& request);
  server::AppReply Logout(const server::AppRequest& request, const Access& access);
  server::AppReply Act(const server::AppRequest& request, const std::string& id,
                       std::string_view action, const Access& access);
  bool SecureCookies(const server::AppRequest& request) const {
    return request.tls || options_.secure_cookies;
  }
  server::AppReply Log(const std::string& id, size_t tail_lines);
  // "" (the index), ".tar" (the whole archive) or "/<path>" (one file).
  server::AppReply Outputs(const std::string& id, std::string_view which, const Access& access);

  JobPagesOptions options_;
  JobReporter& reporter_;
  store::JobStore& store_;
  const Clock& clock_;
  JobActions actions_;
  web::SessionStore sessions_;
};

}  // namespace labelrun::app
