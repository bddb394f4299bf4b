#include "labelrun/app/job_pages.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "labelrun/app/jobs_api.hpp"
#include "labelrun/core/strings.hpp"
#include "labelrun/report/job_page.hpp"
#include "labelrun/report/link_signing.hpp"
#include "labelrun/report/log_tail.hpp"
#include "labelrun/report/redact.hpp"
#include "labelrun/runtime/archive.hpp"

namespace labelrun::app {
namespace {

using server::AppReply;
using server::Outcome;

AppReply Text(Outcome outcome, std::string body, std::string type = "text/plain; charset=utf-8") {
  AppReply r;
  r.outcome = outcome;
  r.body = std::move(body);
  r.content_type = std::move(type);
  if (r.content_type.rfind("text/html", 0) == 0) {
    r.headers.emplace_back("Content-Security-Policy", report::PageContentSecurityPolicy());
  }
  return r;
}

// "<timestamp> <o|e> <text>" -> text
std::string_view StoredText(std::string_view line) {
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp + 3 > line.size() || line[sp + 2] != ' ') return line;
  return line.substr(sp + 3);
}

AppReply SeeOther(std::string location) {
  AppReply r = Text(Outcome::kSeeOther, "see " + location + "\n");
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

AppReply Forbidden(std::string why) { return Text(Outcome::kForbidden, std::move(why) + "\n"); }

// Where a sign-in may lead: a /jobs page of this server, nothing else.
std::string SafeNext(std::string_view next) {
  if (next == "/jobs" || (next.rfind("/jobs?", 0) == 0) ||
      (next.rfind("/jobs/", 0) == 0 && next.find("//") == std::string_view::npos)) {
    if (next.find_first_of("\r\n\\") == std::string_view::npos) return std::string(next);
  }
  return "/jobs";
}

}  // namespace

JobPages::JobPages(JobPagesOptions options, JobReporter& reporter, store::JobStore& store,
                   const Clock& clock, JobActions actions)
    : options_(std::move(options)),
      reporter_(reporter),
      store_(store),
      clock_(clock),
      actions_(std::move(actions)),
      sessions_(clock, options_.session_ttl) {}

std::string JobPages::Signed(const std::string& path, const Access& access) const {
  // A signed-in browser sends its cookie with every link: they need no signature.
  if (access.session) return path;
  const int64_t expires =
      access.dashboard
          ? clock_.NowUnixMillis() / 1000 +
                std::chrono::duration_cast<std::chrono::seconds>(options_.link_ttl).count()
          : access.expires_unix;
  return report::SignLink(path, expires, options_.link_key);
}

AppReply JobPages::Handle(const server::AppRequest& request) {
  if (request.path == "/assets/labelrun.js") {
    AppReply r =
        Text(Outcome::kOk, std::string(report::PageScript()), "text/javascript; charset=utf-8");
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  if (request.path == "/login") return Login(request);
  const std::optional<std::string> decoded = report::PercentDecodePath(request.path);
  if (!decoded) return Text(Outcome::kBadRequest, "the path has a bad %-escape\n");
  const std::string& path = *decoded;
  const bool list = path == "/jobs" || path == "/jobs/";
  Access access;
  const std::string cookie =
      web::CookieValue(request.cookie, web::SessionCookieName(SecureCookies(request)));
  if (BearerMatches(request.authorization, options_.dashboard_token)) {
    access.dashboard = true;
  } else if (std::optional<web::Session> session;
             !cookie.empty() && (session = sessions_.Find(cookie))) {
    access.dashboard = true;
    access.session = std::move(session);
  } else {
    const std::string exp = QueryValue(request.query, "exp");
    const std::string sig = QueryValue(request.query, "sig");
    Status verified = Unexpected(ErrorCode::kUnauthenticated, "no signed link");
    if (!exp.empty() && !sig.empty() && !options_.link_key.empty()) {
      verified =
          report::VerifyLink(path, exp, sig, options_.link_key, clock_.NowUnixMillis() / 1000);
    }
    std::string refusal;
    if (!verified) {
      refusal =
          "this page needs a signed link from a labelrun comment, a dashboard sign-in (/login), "
          "or the dashboard token (Authorization: Bearer)";
      if (!exp.empty() || !sig.empty()) refusal += ": " + verified.error().message();
    } else if (list) {
      // A signed link opens one job. Links to the list were signed before that held.
      refusal =
          "a signed link opens one job; the job list needs a dashboard sign-in (/login) or the "
          "dashboard token (Authorization: Bearer)";
    } else if (request.method == "POST") {
      return Forbidden("a signed link is read-only; sign in at /login to act on a job");
    }
    if (!refusal.empty()) {
      if (request.method == "POST") {
        // Nothing was verified: nothing is acted on.
        refusal = "sign in at /login to act on a job";
      }
      AppReply r = Text(Outcome::kUnauthorized, refusal + "\n");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"labelrun\"");
      return r;
    }
    access.expires_unix = std::stoll(exp);  // VerifyLink checked it is a number
  }
  if (path == "/logout") return Logout(request, access);
  std::string_view rest = list ? std::string_view() : std::string_view(path).substr(6);
  const size_t slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  const std::string_view sub = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (request.method == "POST" && !list && (sub == "/cancel" || sub == "/retry")) {
    if (!IsJobId(id)) {
      return Text(Outcome::kBadRequest, "not a job id: ids are 'j' and 10 hex digits\n");
    }
    return Act(request, id, sub.substr(1), access);
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return Text(Outcome::kMethodNotAllowed, "use GET\n");
  }
  if (list) return List(request, access);
  if (!IsJobId(id)) {
    return Text(Outcome::kBadRequest, "not a job id: ids are 'j' and 10 hex digits\n");
  }
  if (sub.empty()) return Page(id, access);
  if (sub == "/live.json") return Live(id, access);
  if (sub == "/log") return Log(id, 0);
  if (sub == "/log/tail") return Log(id, 200);
  if (sub == "/loss.svg") {
    std::optional<std::string> svg = reporter_.RenderSvg(id);
    if (!svg) return Text(Outcome::kNotFound, "no job " + id + " in memory\n");
    return Text(Outcome::kOk, std::move(*svg), "image/svg+xml");
  }
  if (sub == "/outputs" || sub == "/outputs.tar") return Outputs(id, sub.substr(8), access);
  if (sub.rfind("/outputs/", 0) == 0) return Outputs(id, sub.substr(8), access);
  return Text(Outcome::kNotFound, "not found\n");
}

AppReply JobPages::Login(const server::AppRequest& request) {
  const bool secure = SecureCookies(request);
  if (request.method == "GET" || request.method == "HEAD") {
    return Text(Outcome::kOk,
                report::RenderLoginPage("", SafeNext(QueryValue(request.query, "next"))),
                "text/html; charset=utf-8");
  }
  if (request.method != "POST") return Text(Outcome::kMethodNotAllowed, "use GET\n");
  const std::string next = SafeNext(FormValue(request.body, "next").value_or(""));
  auto again = [&](Outcome outcome, std::string_view why) {
    return Text(outcome, report::RenderLoginPage(why, next), "text/html; charset=utf-8");
  };
  if (request.content_type.rfind("application/x-www-form-urlencoded", 0) != 0) {
    return again(Outcome::kBadRequest, "the sign-in form posts application/x-www-form-urlencoded");
  }
  if (options_.dashboard_token.empty()) {
    return again(Outcome::kForbidden,
                 "signing in is off: no dashboard token is configured (dashboard.token_file)");
  }
  const std::string user = FormValue(request.body, "user").value_or("");
  const std::string token = FormValue(request.body, "token").value_or("");
  if (!web::SecretEquals(token, options_.dashboard_token)) {
    spdlog::warn("dashboard: a sign-in with a wrong token was refused");
    return again(Outcome::kUnauthorized, "That is not the dashboard token.");
  }
  if (!web::IsUserName(user)) {
    return again(
        Outcome::kBadRequest,
        "A name is 1 to 39 letters, digits, '-', '_' or '.' (it is shown on what you do).");
  }
  web::SessionStore::Created created = sessions_.Create(user);
  spdlog::info("dashboard: {} signed in", user);
  AppReply r = SeeOther(next);
  r.headers.emplace_back("Set-Cookie", web::SessionCookie(created.id, sessions_.ttl(), secure));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

AppReply JobPages::Logout(const server::AppRequest& request, const Access& access) {
  if (request.method != "POST") return Text(Outcome::kMethodNotAllowed, "use POST\n");
  if (!access.session) return Forbidden("signing out ends a dashboard session; there is none");
  if (!web::SecretEquals(FormValue(request.body, "csrf").value_or(""), access.session->csrf)) {
    return Forbidden("the form's CSRF token is missing or wrong; reload the page and try again");
  }
  sessions_.Remove(
      web::CookieValue(request.cookie, web::SessionCookieName(SecureCookies(request))));
  spdlog::info("dashboard: {} signed out", access.session->user);
  AppReply r = SeeOther("/login");
  r.headers.emplace_back("Set-Cookie", web::ClearedSessionCookie(SecureCookies(request)));
  return r;
}

AppReply JobPages::Act(const server::AppRequest& request, const std::string& id,
                       std::string_view action, const Access& access) {
  if (!access.session) {
    return Forbidden(
        "the job page's buttons need a dashboard sign-in (/login); tools use POST "
        "/api/jobs/{id}/cancel with the API token");
  }
  if (!web::SecretEquals(FormValue(request.body, "csrf").value_or(""), access.session->csrf)) {
    return Forbidden("the form's CSRF token is missing or wrong; reload the page and try again");
  }
  const std::string& user = access.session->user;
  if (action == "cancel") {
    if (!actions_.cancel) return Text(Outcome::kUnavailable, "cancelling is not wired here\n");
    Status done = actions_.cancel(id, user);
    if (!done) {
      const ErrorCode code = done.error().code();
      return Text(code == ErrorCode::kNotFound             ? Outcome::kNotFound
                  : code == ErrorCode::kFailedPrecondition ? Outcome::kConflict
                                                           : Outcome::kUnavailable,
                  done.error().message() + "\n");
    }
    spdlog::info("dashboard: {} cancelled job {}", user, id);
    return SeeOther("/jobs/" + id);
  }
  if (!actions_.retry) return Text(Outcome::kUnavailable, "retrying is not wired here\n");
  Result<std::string> again = actions_.retry(id, user);
  if (!again) {
    const ErrorCode code = again.error().code();
    return Text(code == ErrorCode::kNotFound        ? Outcome::kNotFound
                : code == ErrorCode::kAlreadyExists ? Outcome::kConflict
                                                    : Outcome::kUnavailable,
                again.error().message() + "\n");
  }
  Result<std::optional<store::JobRecord>> old = store_.Get(id);
  const JobState state = old && *old ? (**old).state : JobState::kFailed;
  if (Status noted = store_.AddEvent(id, clock_.NowUnixMillis(), state,
                                     "retried by " + user + " as " + *again);
      !noted) {
    spdlog::warn("job {}: the retry is not in its history: {}", id, noted.error().message());
  }
  spdlog::info("dashboard: {} retried job {} as {}", user, id, *again);
  return SeeOther("/jobs/" + *again);
}

AppReply JobPages::List(const server::AppRequest& request, const Access& access) {
  store::JobFilter filter;
  filter.repository = QueryValue(request.query, "repo");
  filter.limit = 100;
  std::optional<JobState> state;
  const std::string state_text = QueryValue(request.query, "state");
  if (!state_text.empty()) {
    state = ParseJobState(state_text);
    if (!state) return Text(Outcome::kBadRequest, "unknown state '" + state_text + "'\n");
    filter.state = state;
  }
  if (const std::string limit = QueryValue(request.query, "limit"); !limit.empty()) {
    const int64_t n = ParseCursor(limit);
    if (n == 0) return Text(Outcome::kBadRequest, "limit must be a number from 1 to 1000\n");
    filter.limit = std::min<int64_t>(n, 1000);
  }
  if (const std::string before = QueryValue(request.query, "before"); !before.empty()) {
    filter.before_seq = ParseCursor(before);
    if (filter.before_seq == 0) {
      return Text(Outcome::kBadRequest,
                  "before must be the cursor of an 'Older jobs' link (a positive number)\n");
    }
  }
  const int64_t page = filter.limit;
  ++filter.limit;  // one more than shown says whether an older page exists
  Result<std::vector<store::JobRecord>> jobs = store_.List(filter);
  if (!jobs) return Text(Outcome::kUnavailable, jobs.error().message() + "\n");
  std::string older;
  if (static_cast<int64_t>(jobs->size()) > page) {
    jobs->resize(static_cast<size_t>(page));
    older = NextPageLink("/jobs", filter.repository, state_text, page, jobs->back().seq);
  }
  std::vector<report::JobListEntry> entries;
  for (const store::JobRecord& job : *jobs) {
    report::JobListEntry e;
    e.view.id = job.id;
    e.view.repo = job.repository;
    e.view.issue = job.issue;
    e.view.rule = job.spec.rule;
    e.view.state = job.state;
    e.view.reason = job.reason;
    e.view.host = job.host;
    e.view.image = job.spec.image;
    e.view.created_unix_ms = job.created_ms;
    e.view.started_unix_ms = job.started_ms;
    e.view.finished_unix_ms = job.finished_ms;
    e.view.exit_code = job.exit_code;
    e.href = Signed("/jobs/" + job.id, access);
    entries.push_back(std::move(e));
  }
  report::JobListSession session;
  session.repo = filter.repository;
  if (access.session) {
    session.user = access.session->user;
    session.csrf = access.session->csrf;
    session.logout = "/logout";
  }
  AppReply r =
      Text(Outcome::kOk,
           report::RenderJobList(entries, state, "/jobs", reporter_.redactor(), older, session),
           "text/html; charset=utf-8");
  if (access.session) r.headers.emplace_back("Cache-Control", "no-store");  // its CSRF token
  return r;
}

PageLinks JobPages::LinksFor(const std::string& id, const Access& access) const {
  PageLinks links;
  // The list needs a session or the token, which a browser following links does not
  // send: a plain link, and none at all on a page opened through a signed link.
  if (access.dashboard) links.list = "/jobs";
  links.log = Signed("/jobs/" + id + "/log", access);
  links.log_tail = Signed("/jobs/" + id + "/log/tail", access);
  links.loss_svg = Signed("/jobs/" + id + "/loss.svg", access);
  std::error_code ec;
  if (std::filesystem::exists(options_.jobs_dir / id / "outputs.tar", ec)) {
    links.outputs = Signed("/jobs/" + id + "/outputs", access);
  }
  links.live = Signed("/jobs/" + id + "/live.json", access);
  links.script = "/assets/labelrun.js";
  links.github_url = options_.github_url;
  if (access.session) {
    links.user = access.session->user;
    links.csrf = access.session->csrf;
    links.cancel = "/jobs/" + id + "/cancel";
    links.retry = "/jobs/" + id + "/retry";
    links.logout = "/logout";
  }
  return links;
}

AppReply JobPages::Page(const std::string& id, const Access& access) {
  const PageLinks links = LinksFor(id, access);
  std::optional<std::string> html = reporter_.RenderPage(id, links);
  if (!html) {
    Result<std::optional<store::JobRecord>> job = store_.Get(id);
    if (!job || !*job) return Text(Outcome::kNotFound, "no job " + id + "\n");
    reporter_.Load(**job);  // its log replayed; nothing is sent
    html = reporter_.RenderPage(id, links);
    if (!html) return Text(Outcome::kNotFound, "no job " + id + "\n");
  }
  AppReply r = Text(Outcome::kOk, std::move(*html), "text/html; charset=utf-8");
  if (access.session) r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

AppReply JobPages::Live(const std::string& id, const Access& access) {
  const PageLinks links = LinksFor(id, access);
  std::optional<std::string> json = reporter_.RenderLive(id, links);
  if (!json) {
    Result<std::optional<store::JobRecord>> job = store_.Get(id);
    if (!job || !*job) return Text(Outcome::kNotFound, "no job " + id + "\n");
    reporter_.Load(**job);
    json = reporter_.RenderLive(id, links);
    if (!json) return Text(Outcome::kNotFound, "no job " + id + "\n");
  }
  AppReply r = Text(Outcome::kOk, std::move(*json), "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

AppReply JobPages::Log(const std::string& id, size_t tail_lines) {
  const std::filesystem::path path = options_.jobs_dir / id / "log";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Text(Outcome::kNotFound, "job " + id + " has no log (yet)\n");
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  std::string body;
  if (!ec && size > options_.max_log_bytes && tail_lines == 0) {
    in.seekg(static_cast<std::streamoff>(size - options_.max_log_bytes));
    std::string skip;
    std::getline(in, skip);  // a partial line
    body = "[... the first " + std::to_string(size - options_.max_log_bytes) +
           " bytes are left out; the whole log is on the labelrun host ...]\n";
  }
  if (tail_lines) {
    // The tail as the comment and the job page show it.
    report::LogTail tail(
        report::LogTail::Options{tail_lines, 4 << 20, 64 << 10, &reporter_.redactor()});
    for (std::string line; std::getline(in, line);) tail.AddStored(StoredText(line));
    for (const std::string& line : tail.Lines()) body += line + "\n";
    return Text(Outcome::kOk, std::move(body));
  }
  // Line by line, remembering a private key block that spans lines; a line redrawn in
  // place ("text\r" in the file) shows in its last state, as on a terminal.
  report::StreamRedactor redact(reporter_.redactor());
  auto show = [&](std::string_view text) {
    body += redact.RedactLine(text);
    body += '\n';
  };
  std::string redrawn;
  bool open = false;
  for (std::string line; std::getline(in, line);) {
    std::string_view text = StoredText(line);
    if (!text.empty() && text.back() == '\r') {
      text.remove_suffix(1);
      if (text.empty()) continue;
      open = text.find_first_not_of(" \t") != std::string_view::npos;  // blank: cleared
      redrawn.assign(open ? text : std::string_view());
      continue;
    }
    show(text.empty() && open ? std::string_view(redrawn) : text);
    open = false;
  }
  if (open) show(redrawn);
  return Text(Outcome::kOk, std::move(body));
}

AppReply JobPages::Outputs(const std::string& id, std::string_view which, const Access& access) {
  // Served from the archive on disk: nothing here grows with its size.
  const std::filesystem::path tar = options_.jobs_dir / id / "outputs.tar";
  std::error_code ec;
  const uint64_t tar_size = std::filesystem::file_size(tar, ec);
  if (ec) return Text(Outcome::kNotFound, "job " + id + " has no collected outputs\n");
  const std::string base = "/jobs/" + id + "/outputs";
  if (which == ".tar") {
    AppReply r = Text(Outcome::kOk, "", "application/x-tar");
    r.file = server::FileSlice{tar, 0, tar_size};
    r.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"" + id + "-outputs.tar\"");
    return r;
  }
  if (which.empty()) {
    Result<std::vector<runtime::OutputFile>> files = runtime::ListOutputsInFile(tar);
    if (!files) return Text(Outcome::kUnavailable, files.error().message() + "\n");
    std::vector<report::OutputLink> links;
    for (runtime::OutputFile& f : *files) {
      links.push_back({f.path, f.size, Signed(base + "/" + f.path, access)});
    }
    // Written beside the archive when job.outputs_max_bytes cut it short.
    std::string truncation;
    if (std::ifstream note{options_.jobs_dir / id / "outputs.truncated"}) {
      std::getline(note, truncation);
    }
    return Text(
        Outcome::kOk,
        report::RenderOutputsIndex(id, links, Signed("/jobs/" + id, access),
                                   Signed(base + ".tar", access), reporter_.redactor(), truncation),
        "text/html; charset=utf-8");
  }
  const std::string_view path = which.substr(1);  // after the '/'
  Result<runtime::OutputFile> file = runtime::FindOutput(tar, path);
  if (!file) {
    const bool missing = file.error().code() == ErrorCode::kNotFound;
    return Text(missing ? Outcome::kNotFound : Outcome::kUnavailable,
                file.error().message() + "\n");
  }
  // The download name: the file's own, with anything unusual (quotes, control
  // characters) made '_' so that it cannot leave the header.
  std::string name(path.substr(path.rfind('/') + 1));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  AppReply r = Text(Outcome::kOk, "", "application/octet-stream");
  r.file = server::FileSlice{tar, file->offset, file->size};
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  return r;
}

}  // namespace labelrun::app
