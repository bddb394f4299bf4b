#pragma once
// The JSON API for ops and tools, behind a bearer token:
//   GET  /api/jobs[?repo=owner/name&state=running&limit=N&before=CURSOR]
//        ({"jobs": [...], "next": link to the next page, or null})
//   GET  /api/jobs/{id}
//   POST /api/jobs/{id}/cancel
//   GET  /api/jobs/{id}/comment   (the job's current comment markdown)
//   GET  /api/comments[?repo=owner/name&issue=N]
//        (local mode: the other comments labelrun kept instead of posting:
//        refusals, "did you mean" suggestions, `/labelrun explain` answers)
// No token, or a wrong one, is 401; an {id} that is not a job id (IsJobId) is 400.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/app/local_comment.hpp"
#include "labelrun/scheduler/dispatcher.hpp"
#include "labelrun/server/app_routes.hpp"
#include "labelrun/store/jobs.hpp"

namespace labelrun::app {

// What the reporting side adds to a job's JSON and serves as its comment.
struct JobReportHooks {
  // Latest metric values as a JSON object text, e.g. {"loss":0.41,"epoch":3}; may be empty.
  std::function<std::string(const std::string& job_id)> latest_metrics_json;
  // The job's current comment markdown; empty when none.
  std::function<std::string(const std::string& job_id)> comment_markdown;
  // The redactor every other view uses: applied to the free text a job record holds
  // (reason, event details, image, who sent or cancelled it). Unset: text as stored.
  std::function<std::string(std::string_view text)> redact;
  // Local mode only: the comments kept instead of posted (see local_comment.hpp).
  // Unset: /api/comments answers 404 (the comments are on GitHub).
  std::function<std::vector<LocalComment>()> local_comments;
};

class JobsApi {
 public:
  JobsApi(std::string token, scheduler::Dispatcher& dispatcher, store::JobStore& store,
          const Clock& clock, JobReportHooks hooks = {});

  static bool Handles(std::string_view path) { return path.rfind("/api/", 0) == 0; }
  server::AppReply Handle(const server::AppRequest& request);

 private:
  server::AppReply Get(const std::string& id);
  server::AppReply List(const std::string& query);
  server::AppReply Cancel(const std::string& id);
  server::AppReply Comments(const std::string& query);

  std::string token_;
  scheduler::Dispatcher& dispatcher_;
  store::JobStore& store_;
  const Clock& clock_;
  JobReportHooks hooks_;
};

// True when `authorization` is "Bearer <token>" (constant-time compare). An
// empty `token` accepts nothing.
bool BearerMatches(std::string_view authorization, std::string_view token);
// True for a job id as the dispatcher makes them: "j" and 10 lower-case hex
// digits. Ids from a URL are checked with this before they name a file or folder.
bool IsJobId(std::string_view id);
// The decoded value of `name` in a query string, or "".
std::string QueryValue(std::string_view query, std::string_view name);
// A list page's `before` cursor: the seq of the last job of the page before; 0
// when `text` is not one (only digits, positive, fits in 64 bits).
int64_t ParseCursor(std::string_view text);
// The link to the page after one that ended at `last_seq`, keeping its filters:
// "<path>?limit=N[&repo=R][&state=S]&before=SEQ", values percent-encoded.
std::string NextPageLink(std::string_view path, std::string_view repo, std::string_view state,
                         int64_t limit, int64_t last_seq);
// A job as the API shows it.
std::string JobJson(const store::JobRecord& job, int queue_position,
                    const std::string& latest_metrics_json);

}  // namespace labelrun::app
