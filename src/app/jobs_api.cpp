#include "labelrun/app/jobs_api.hpp"

#include <openssl/crypto.h>

#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

#include "labelrun/core/json_text.hpp"
#include "labelrun/core/strings.hpp"

namespace labelrun::app {
namespace {

using nlohmann::json;
using server::AppReply;
using server::Outcome;

AppReply JsonReply(Outcome outcome, const json& body) {
  AppReply reply;
  reply.outcome = outcome;
  reply.body = JsonText(body) + "\n";
  return reply;
}

AppReply ErrorReply(Outcome outcome, std::string message) {
  return JsonReply(outcome, json{{"error", std::move(message)}});
}

json Time(const std::optional<int64_t>& ms) {
  if (!ms) return nullptr;
  const std::time_t seconds = static_cast<std::time_t>(*ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

bool BearerMatches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (token.empty() || authorization.size() != kPrefix.size() + token.size()) return false;
  if (!IEquals(authorization.substr(0, kPrefix.size()), kPrefix)) return false;
  return CRYPTO_memcmp(authorization.data() + kPrefix.size(), token.data(), token.size()) == 0;
}

bool IsJobId(std::string_view id) {
  if (id.size() != 11 || id[0] != 'j') return false;
  for (char c : id.substr(1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string QueryValue(std::string_view query, std::string_view name) {
  return FormValue(query, name).value_or("");
}

int64_t ParseCursor(std::string_view text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != text.npos) {
    return 0;
  }
  return std::stoll(std::string(text));
}

std::string NextPageLink(std::string_view path, std::string_view repo, std::string_view state,
                         int64_t limit, int64_t last_seq) {
  std::string link(path);
  link += "?limit=" + std::to_string(limit);
  if (!repo.empty()) link += "&repo=" + UrlEncode(repo);
  if (!state.empty()) link += "&state=" + UrlEncode(state);
  link += "&before=" + std::to_string(last_seq);
  return link;
}

std::string JobJson(const store::JobRecord& job, int queue_position,
                    const std::string& latest_metrics_json, const JobReportHooks& hooks) {
  auto shown = [&hooks](const std::string& text) {
    return hooks.redact ? hooks.redact(text) : text;
  };
  json metrics = json::object();
  if (!latest_metrics_json.empty()) {
    metrics = json::parse(latest_metrics_json, nullptr, false);
    if (metrics.is_discarded()) metrics = json::object();
  }
  json j = {
      {"id", job.id},
      {"repository", job.repository},
      {"issue", job.issue},
      {"rule", job.spec.rule},
      {"state", std::string(JobStateName(job.state))},
      {"reason", shown(job.reason)},
      {"priority", std::string(rules::JobPriorityName(job.spec.priority))},
      {"queue_position", queue_position},
      {"image", shown(job.spec.image)},
      {"image_digest", job.image_digest},
      {"commit", job.commit},
      {"host", job.host},
      {"gpus", job.gpus},
      {"gpus_requested", job.spec.gpus},
      {"container_id", job.container_id},
      {"exit_code", job.exit_code ? json(*job.exit_code) : json(nullptr)},
      {"sender", shown(job.sender)},
      {"cancelled_by", shown(job.cancel_by)},
      {"created_at", Time(job.created_ms)},
      {"started_at", Time(job.started_ms)},
      {"finished_at", Time(job.finished_ms)},
      {"metrics", metrics},
  };
  // A pull request's job: its number, the head it runs, and whether it is a fork's.
  j["pull_request"] =
      job.pull_request
          ? json{{"number", job.issue}, {"head_sha", job.commit}, {"from_fork", job.from_fork}}
          : json(nullptr);
  return JsonText(j);
}

JobsApi::JobsApi(std::string token, scheduler::Dispatcher& dispatcher, store::JobStore& store,
                 const Clock& clock, JobReportHooks hooks)
    : token_(std::move(token)),
      dispatcher_(dispatcher),
      store_(store),
      clock_(clock),
      hooks_(std::move(hooks)) {}

AppReply JobsApi::Handle(const server::AppRequest& request) {
  if (!BearerMatches(request.authorization, token_)) {
    AppReply reply = ErrorReply(Outcome::kUnauthorized, "a valid bearer token is required");
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"labelrun\"");
    return reply;
  }
  std::string_view path = request.path;
  if (path == "/api/jobs" || path == "/api/jobs/") {
    if (request.method != "GET" && request.method != "HEAD") {
      return ErrorReply(Outcome::kMethodNotAllowed, "use GET");
    }
    return List(request.query);
  }
  if (path == "/api/comments" || path == "/api/comments/") {
    if (request.method != "GET" && request.method != "HEAD") {
      return ErrorReply(Outcome::kMethodNotAllowed, "use GET");
    }
    return Comments(request.query);
  }
  constexpr std::string_view kJobs = "/api/jobs/";
  if (path.rfind(kJobs, 0) != 0) return ErrorReply(Outcome::kNotFound, "no such endpoint");
  std::string_view rest = path.substr(kJobs.size());
  const size_t slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  const std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (!IsJobId(id))
    return ErrorReply(Outcome::kBadRequest, "not a job id: ids are 'j' and 10 hex digits");
  if (action.empty()) {
    if (request.method != "GET" && request.method != "HEAD") {
      return ErrorReply(Outcome::kMethodNotAllowed, "use GET");
    }
    return Get(id);
  }
  if (action == "cancel") {
    if (request.method != "POST") return ErrorReply(Outcome::kMethodNotAllowed, "use POST");
    return Cancel(id);
  }
  if (action == "comment") {
    Result<std::optional<store::JobRecord>> job = store_.Get(id);
    if (!job) return ErrorReply(Outcome::kUnavailable, job.error().message());
    if (!*job) return ErrorReply(Outcome::kNotFound, "no job " + id);
    AppReply reply;
    reply.content_type = "text/markdown; charset=utf-8";
    reply.body = hooks_.comment_markdown ? hooks_.comment_markdown(id) : "";
    if (reply.body.empty())
      return ErrorReply(Outcome::kNotFound, "no comment for job " + id + " yet");
    return reply;
  }
  return ErrorReply(Outcome::kNotFound, "no such endpoint");
}

AppReply JobsApi::Get(const std::string& id) {
  Result<std::optional<store::JobRecord>> job = store_.Get(id);
  if (!job) return ErrorReply(Outcome::kUnavailable, job.error().message());
  if (!*job) return ErrorReply(Outcome::kNotFound, "no job " + id);
  const std::string metrics = hooks_.latest_metrics_json ? hooks_.latest_metrics_json(id) : "";
  json body = json::parse(JobJson(**job, dispatcher_.QueuePosition(id), metrics, hooks_));
  json gpus = json::array();
  for (const scheduler::GpuSample& s : dispatcher_.GpuReadings(id)) {
    gpus.push_back({{"gpu", s.gpu},
                    {"utilization_percent", s.utilization_percent},
                    {"memory_used_mib", s.memory_used_mib},
                    {"memory_total_mib", s.memory_total_mib}});
  }
  body["gpu_readings"] = std::move(gpus);
  json events = json::array();
  if (Result<std::vector<store::JobEvent>> history = store_.Events(id)) {
    for (const store::JobEvent& e : *history) {
      events.push_back({{"at", Time(e.at_ms)},
                        {"state", std::string(JobStateName(e.state))},
                        {"detail", hooks_.redact ? hooks_.redact(e.detail) : e.detail}});
    }
  }
  body["events"] = std::move(events);
  return JsonReply(Outcome::kOk, body);
}

AppReply JobsApi::List(const std::string& query) {
  store::JobFilter filter;
  filter.repository = QueryValue(query, "repo");
  const std::string state = QueryValue(query, "state");
  if (!state.empty()) {
    if (state == "open") {
      filter.open_only = true;
    } else if (auto parsed = ParseJobState(state)) {
      filter.state = parsed;
    } else {
      return ErrorReply(Outcome::kBadRequest,
                        "unknown state '" + state +
                            "' (queued, pulling, starting, running, succeeded, failed, "
                            "cancelled, timed_out, open)");
    }
  }
  if (const std::string limit = QueryValue(query, "limit"); !limit.empty()) {
    try {
      filter.limit = std::clamp<int64_t>(std::stoll(limit), 1, 1000);
    } catch (const std::exception&) {
      return ErrorReply(Outcome::kBadRequest, "limit must be a number");
    }
  }
  if (const std::string before = QueryValue(query, "before"); !before.empty()) {
    filter.before_seq = ParseCursor(before);
    if (filter.before_seq == 0) {
      return ErrorReply(Outcome::kBadRequest,
                        "before must be the cursor of a page's next link (a positive number)");
    }
  }
  const int64_t page = filter.limit;
  ++filter.limit;  // one more than shown says whether a next page exists
  Result<std::vector<store::JobRecord>> jobs = store_.List(filter);
  if (!jobs) return ErrorReply(Outcome::kUnavailable, jobs.error().message());
  json next = nullptr;
  if (static_cast<int64_t>(jobs->size()) > page) {
    jobs->resize(static_cast<size_t>(page));
    next = NextPageLink("/api/jobs", filter.repository, QueryValue(query, "state"), page,
                        jobs->back().seq);
  }
  json list = json::array();
  for (const store::JobRecord& job : *jobs) {
    const std::string metrics =
        hooks_.latest_metrics_json ? hooks_.latest_metrics_json(job.id) : "";
    list.push_back(json::parse(JobJson(job, dispatcher_.QueuePosition(job.id), metrics, hooks_)));
  }
  return JsonReply(Outcome::kOk, json{{"jobs", std::move(list)}, {"next", std::move(next)}});
}

AppReply JobsApi::Comments(const std::string& query) {
  if (!hooks_.local_comments) {
    return ErrorReply(Outcome::kNotFound,
                      "comments are kept here in local mode only; with a GitHub App they are on "
                      "the issues");
  }
  const std::string repo = QueryValue(query, "repo");
  int64_t issue = 0;
  if (const std::string text = QueryValue(query, "issue"); !text.empty()) {
    size_t used = 0;
    try {
      issue = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || issue <= 0) {
      return ErrorReply(Outcome::kBadRequest, "issue must be a positive number");
    }
  }
  json list = json::array();
  for (const LocalComment& c : hooks_.local_comments()) {
    if (!repo.empty() && !IEquals(c.repository, repo)) continue;
    if (issue != 0 && c.issue != issue) continue;
    list.push_back({{"repository", c.repository},
                    {"issue", c.issue},
                    {"cause", c.cause},
                    {"body", c.body},
                    {"at", Time(c.at_ms)},
                    {"sent_to_github", false}});
  }
  return JsonReply(Outcome::kOk, json{{"comments", std::move(list)}, {"local_mode", true}});
}

AppReply JobsApi::Cancel(const std::string& id) {
  Status cancelled = dispatcher_.Cancel(id, "the jobs API");
  if (!cancelled) {
    const Outcome outcome = cancelled.error().code() == ErrorCode::kNotFound ? Outcome::kNotFound
                            : cancelled.error().code() == ErrorCode::kFailedPrecondition
                                ? Outcome::kConflict
                                : Outcome::kUnavailable;
    return ErrorReply(outcome, cancelled.error().message());
  }
  (void)clock_;
  return JsonReply(Outcome::kStarted, json{{"id", id}, {"cancelling", true}});
}

}  // namespace labelrun::app
