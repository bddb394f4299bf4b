// The dashboard as an attacker meets it: sign-in with a wrong token, a cookie
// that expired or comes from another instance, a signed link used on another job,
// on the list or to act, and actions without their CSRF token. And what a
// signed-in user gets: filters that work, the buttons, and the live JSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "labelrun/app/job_pages.hpp"
#include "labelrun/report/link_signing.hpp"
#include "labelrun/web/sessions.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::app {
namespace {

using server::AppReply;
using server::AppRequest;
using server::Outcome;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kKey[] = "link-key-0123456789abcdef";
constexpr char kToken[] = "dashboard-token-0123456789";
constexpr char kJob[] = "j00000000aa";
constexpr char kOther[] = "j00000000bb";

std::string Header(const AppReply& reply, std::string_view name) {
  for (const auto& [n, v] : reply.headers) {
    if (n == name) return v;
  }
  return "";
}

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jobs_dir_ = dir_.path() / "jobs";
    auto store = store::JobStore::Open(":memory:");
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
    AddJob(kJob, "acme/public", JobState::kRunning);
    AddJob(kOther, "acme/private", JobState::kFailed);
    ReporterOptions ro;
    ro.link_key = kKey;
    ro.jobs_dir = jobs_dir_;
    reporter_ = std::make_unique<JobReporter>(ro, nullptr, clock_);
    pages_ = MakePages();
  }

  std::unique_ptr<JobPages> MakePages() {
    JobPagesOptions po;
    po.dashboard_token = kToken;
    po.link_key = kKey;
    po.jobs_dir = jobs_dir_;
    po.session_ttl = 1h;
    JobActions actions;
    actions.cancel = [this](const std::string& id, const std::string& by) -> Status {
      calls_.push_back("cancel " + id + " by " + by);
      return Ok();
    };
    actions.retry = [this](const std::string& id, const std::string& by) -> Result<std::string> {
      calls_.push_back("retry " + id + " by " + by);
      if (id == kJob) {
        return Unexpected(ErrorCode::kAlreadyExists, "rule 'train' already has an open job");
      }
      return std::string("j00000000cc");
    };
    return std::make_unique<JobPages>(po, *reporter_, *store_, clock_, std::move(actions));
  }

  void AddJob(const std::string& id, const std::string& repo, JobState state) {
    store::JobRecord job;
    job.id = id;
    job.repository = repo;
    job.issue = 7;
    job.installation = 1;
    job.sender = "alice";
    job.spec.rule = "train";
    job.spec.image = "busybox:1";
    job.spec.command = {"sh", "train.sh"};
    ASSERT_TRUE(store_->Insert(job, clock_.NowUnixMillis()));
    job.state = state;
    job.started_ms = clock_.NowUnixMillis();
    if (IsFinal(state)) {
      job.finished_ms = clock_.NowUnixMillis() + 65'000;
      job.exit_code = 1;
    }
    ASSERT_TRUE(store_->Update(job, clock_.NowUnixMillis(), "test"));
    std::filesystem::create_directories(jobs_dir_ / id);
    std::ofstream(jobs_dir_ / id / "log") << "1700000000000 o loss=0.5\n"
                                          << "1700000000001 o loss=0.25\n";
  }

  AppReply Send(JobPages& pages, const std::string& method, const std::string& link,
                const std::string& cookie = "", const std::string& body = "", bool tls = false) {
    AppRequest r;
    r.method = method;
    const size_t q = link.find('?');
    r.path = link.substr(0, q);
    r.query = q == std::string::npos ? "" : link.substr(q + 1);
    r.cookie = cookie;
    r.body = body;
    r.tls = tls;
    if (!body.empty()) r.content_type = "application/x-www-form-urlencoded";
    return pages.Handle(r);
  }
  AppReply Get(const std::string& link, const std::string& cookie = "") {
    return Send(*pages_, "GET", link, cookie);
  }
  AppReply Post(const std::string& link, const std::string& cookie, const std::string& body) {
    return Send(*pages_, "POST", link, cookie, body);
  }

  // Signs in; returns the Cookie header to send ("name=value").
  std::string SignIn(JobPages& pages, const std::string& user = "carol") {
    AppReply r = Send(pages, "POST", "/login", "",
                      "user=" + user + "&token=" + kToken + "&next=%2Fjobs%3Fstate%3Dfailed");
    EXPECT_EQ(r.outcome, Outcome::kSeeOther) << r.body;
    EXPECT_EQ(Header(r, "Location"), "/jobs?state=failed");
    const std::string set = Header(r, "Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  // The CSRF token on a page.
  static std::string Csrf(const std::string& html) {
    const std::string marker = "name=\"csrf\" value=\"";
    const size_t at = html.find(marker);
    if (at == std::string::npos) return "";
    return html.substr(at + marker.size(), 64);
  }

  testing::TempDir dir_;
  std::filesystem::path jobs_dir_;
  ManualClock clock_;
  std::unique_ptr<store::JobStore> store_;
  std::unique_ptr<JobReporter> reporter_;
  std::unique_ptr<JobPages> pages_;
  std::vector<std::string> calls_;
};

TEST_F(DashboardTest, SignInSetsAStrictHttpOnlyCookieAndAWrongTokenGetsNone) {
  AppReply form = Get("/login?next=/jobs");
  ASSERT_EQ(form.outcome, Outcome::kOk);
  EXPECT_THAT(form.body, HasSubstr("<form method=\"post\" action=\"/login\">"));
  EXPECT_THAT(Header(form, "Content-Security-Policy"), HasSubstr("form-action 'self'"));

  for (const std::string& body : {std::string("user=eve&token=wrong"), std::string("user=eve"),
                                  std::string("user=eve&token=") + kToken + "x"}) {
    AppReply r = Post("/login", "", body);
    EXPECT_EQ(r.outcome, Outcome::kUnauthorized) << body;
    EXPECT_EQ(Header(r, "Set-Cookie"), "") << body;
    EXPECT_THAT(r.body, HasSubstr("not the dashboard token"));
    EXPECT_THAT(r.body, Not(HasSubstr(kToken)));
  }
  // A name that would not read plainly in a comment.
  AppReply bad = Post("/login", "", std::string("user=%3Cb%3E&token=") + kToken);
  EXPECT_EQ(bad.outcome, Outcome::kBadRequest);
  EXPECT_EQ(Header(bad, "Set-Cookie"), "");
  // `next` leads only to this server's job pages.
  AppReply away =
      Post("/login", "",
           std::string("user=carol&token=") + kToken + "&next=https%3A%2F%2Fevil.example%2Fjobs");
  EXPECT_EQ(Header(away, "Location"), "/jobs");
  AppReply away2 =
      Post("/login", "", std::string("user=carol&token=") + kToken + "&next=%2F%2Fevil.example");
  EXPECT_EQ(Header(away2, "Location"), "/jobs");

  AppReply ok = Post("/login", "", std::string("user=carol&token=") + kToken);
  ASSERT_EQ(ok.outcome, Outcome::kSeeOther);
  const std::string cookie = Header(ok, "Set-Cookie");
  EXPECT_THAT(cookie, ::testing::StartsWith("labelrun_session="));
  EXPECT_THAT(cookie, HasSubstr("; HttpOnly"));
  EXPECT_THAT(cookie, HasSubstr("; SameSite=Strict"));
  EXPECT_THAT(cookie, HasSubstr("; Max-Age=3600"));
  EXPECT_THAT(cookie, Not(HasSubstr("Secure")));
  // Over TLS: Secure, under the __Host- prefix.
  AppReply tls =
      Send(*pages_, "POST", "/login", "", std::string("user=carol&token=") + kToken, true);
  EXPECT_THAT(Header(tls, "Set-Cookie"), ::testing::StartsWith("__Host-labelrun="));
  EXPECT_THAT(Header(tls, "Set-Cookie"), HasSubstr("; Secure"));

  AppReply list = Get("/jobs", cookie.substr(0, cookie.find(';')));
  ASSERT_EQ(list.outcome, Outcome::kOk) << list.body;
  EXPECT_THAT(list.body, HasSubstr(kOther));
  EXPECT_THAT(list.body, HasSubstr("signed in as <strong id=\"user\">carol</strong>"));
}

TEST_F(DashboardTest, ExpiredForgedAndForeignCookiesOpenNothing) {
  const std::string cookie = SignIn(*pages_);
  ASSERT_EQ(Get("/jobs", cookie).outcome, Outcome::kOk);
  // Another labelrun (or this one after a restart) knows no session of this one.
  std::unique_ptr<JobPages> other = MakePages();
  EXPECT_EQ(Send(*other, "GET", "/jobs", cookie).outcome, Outcome::kUnauthorized);
  // A made-up id, a malformed one, and the right id under the other cookie name.
  EXPECT_EQ(Get("/jobs", "labelrun_session=" + std::string(64, 'a')).outcome,
            Outcome::kUnauthorized);
  EXPECT_EQ(Get("/jobs", "labelrun_session=../../x").outcome, Outcome::kUnauthorized);
  EXPECT_EQ(Get("/jobs", "__Host-labelrun=" + cookie.substr(cookie.find('=') + 1)).outcome,
            Outcome::kUnauthorized);
  // Past its lifetime the session is gone.
  clock_.Advance(1h + 1s);
  AppReply expired = Get("/jobs", cookie);
  EXPECT_EQ(expired.outcome, Outcome::kUnauthorized);
  EXPECT_THAT(expired.body, HasSubstr("/login"));
}

TEST_F(DashboardTest, LogoutEndsTheSessionOnlyWithItsCsrfToken) {
  const std::string cookie = SignIn(*pages_);
  const std::string csrf = Csrf(Get("/jobs", cookie).body);
  ASSERT_EQ(csrf.size(), 64u);
  EXPECT_EQ(Post("/logout", cookie, "").outcome, Outcome::kForbidden);
  EXPECT_EQ(Post("/logout", cookie, "csrf=" + std::string(64, '0')).outcome, Outcome::kForbidden);
  EXPECT_EQ(Get("/jobs", cookie).outcome, Outcome::kOk);
  AppReply out = Post("/logout", cookie, "csrf=" + csrf);
  EXPECT_EQ(out.outcome, Outcome::kSeeOther);
  EXPECT_THAT(Header(out, "Set-Cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(Get("/jobs", cookie).outcome, Outcome::kUnauthorized);
}

TEST_F(DashboardTest, ActionsNeedTheSessionsCsrfTokenAndNameTheUser) {
  const std::string cookie = SignIn(*pages_, "carol");
  const std::string cookie2 = SignIn(*pages_, "dave");
  const std::string page = Get(std::string("/jobs/") + kJob, cookie).body;
  const std::string csrf = Csrf(page);
  ASSERT_EQ(csrf.size(), 64u) << page;
  EXPECT_THAT(page, HasSubstr("action=\"/jobs/" + std::string(kJob) + "/cancel\""));
  // Missing, wrong, or another session's token: 403, and nothing is done.
  const std::string cancel = std::string("/jobs/") + kJob + "/cancel";
  EXPECT_EQ(Post(cancel, cookie, "").outcome, Outcome::kForbidden);
  EXPECT_EQ(Post(cancel, cookie, "csrf=" + std::string(64, 'f')).outcome, Outcome::kForbidden);
  EXPECT_EQ(Post(cancel, cookie2, "csrf=" + csrf).outcome, Outcome::kForbidden);
  EXPECT_EQ(Post(cancel, "", "csrf=" + csrf).outcome, Outcome::kUnauthorized);
  // The bearer token does not press buttons (no session, no CSRF token to bind).
  AppRequest bearer;
  bearer.method = "POST";
  bearer.path = cancel;
  bearer.authorization = std::string("Bearer ") + kToken;
  bearer.body = "csrf=" + csrf;
  EXPECT_EQ(pages_->Handle(bearer).outcome, Outcome::kForbidden);
  EXPECT_TRUE(calls_.empty());

  AppReply done = Post(cancel, cookie, "csrf=" + csrf);
  EXPECT_EQ(done.outcome, Outcome::kSeeOther) << done.body;
  EXPECT_EQ(Header(done, "Location"), std::string("/jobs/") + kJob);
  AppReply again = Post(std::string("/jobs/") + kOther + "/retry", cookie, "csrf=" + csrf);
  EXPECT_EQ(again.outcome, Outcome::kSeeOther) << again.body;
  EXPECT_EQ(Header(again, "Location"), "/jobs/j00000000cc");
  EXPECT_THAT(calls_, ::testing::ElementsAre(std::string("cancel ") + kJob + " by carol",
                                             std::string("retry ") + kOther + " by carol"));
  // Retrying while the rule still has an open job on the issue: 409, nothing noted.
  AppReply open = Post(std::string("/jobs/") + kJob + "/retry", cookie, "csrf=" + csrf);
  EXPECT_EQ(open.outcome, Outcome::kConflict);
  EXPECT_THAT(open.body, HasSubstr("already has an open job"));
  auto running_events = store_->Events(kJob);
  ASSERT_TRUE(running_events);
  EXPECT_EQ(running_events->back().detail, "test");
  auto events = store_->Events(kOther);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->back().detail, "retried by carol as j00000000cc");
}

TEST_F(DashboardTest, ASignedLinkNeverOpensAnotherJobTheListOrAnAction) {
  const std::string link =
      report::SignLink(std::string("/jobs/") + kJob, clock_.NowUnixMillis() / 1000 + 3600, kKey);
  const std::string query = link.substr(link.find('?'));
  AppReply page = Get(link);
  ASSERT_EQ(page.outcome, Outcome::kOk);
  // Read-only: no buttons, no CSRF token, no list link.
  EXPECT_THAT(page.body, Not(HasSubstr("csrf")));
  EXPECT_THAT(page.body, Not(HasSubstr("/cancel")));
  EXPECT_THAT(page.body, Not(HasSubstr("href=\"/jobs\"")));
  for (const std::string& target :
       {std::string("/jobs/") + kOther, std::string("/jobs/") + kOther + "/live.json",
        std::string("/jobs"), std::string("/jobs/") + kJob + "/live.json"}) {
    EXPECT_EQ(Get(target + query).outcome, Outcome::kUnauthorized) << target;
  }
  for (const std::string& target :
       {std::string("/jobs/") + kJob, std::string("/jobs/") + kJob + "/cancel",
        std::string("/jobs/") + kJob + "/retry", std::string("/jobs/") + kOther + "/cancel"}) {
    const Outcome o = Post(target + query, "", "csrf=x").outcome;
    EXPECT_TRUE(o == Outcome::kUnauthorized || o == Outcome::kForbidden) << target;
  }
  EXPECT_TRUE(calls_.empty());
  // Its own live JSON, signed on the page, opens; the other job's does not.
  const std::string marker = "data-live=\"";
  const size_t at = page.body.find(marker);
  ASSERT_NE(at, std::string::npos);
  std::string live = page.body.substr(at + marker.size());
  live = live.substr(0, live.find('"'));
  for (size_t amp = live.find("&amp;"); amp != std::string::npos; amp = live.find("&amp;"))
    live.replace(amp, 5, "&");
  AppReply json = Get(live);
  ASSERT_EQ(json.outcome, Outcome::kOk) << live;
  EXPECT_THAT(json.body, HasSubstr("\"state\":\"running\""));
  EXPECT_THAT(json.body, Not(HasSubstr("csrf")));
  const std::string other_live =
      std::string("/jobs/") + kOther + "/live.json" + live.substr(live.find('?'));
  EXPECT_EQ(Get(other_live).outcome, Outcome::kUnauthorized);
}

TEST_F(DashboardTest, FiltersOutputsAndTheIssueLink) {
  const std::string cookie = SignIn(*pages_);
  AppReply failed = Get("/jobs?state=failed", cookie);
  ASSERT_EQ(failed.outcome, Outcome::kOk);
  EXPECT_THAT(failed.body, HasSubstr(kOther));
  EXPECT_THAT(failed.body, Not(HasSubstr(kJob)));
  AppReply repo = Get("/jobs?repo=acme%2Fpublic", cookie);
  ASSERT_EQ(repo.outcome, Outcome::kOk);
  EXPECT_THAT(repo.body, HasSubstr(kJob));
  EXPECT_THAT(repo.body, Not(HasSubstr(kOther)));
  // State links keep the repository, in one query string.
  EXPECT_THAT(repo.body, HasSubstr("href=\"/jobs?repo=acme%2Fpublic&amp;state=failed\""));
  EXPECT_THAT(repo.body, Not(HasSubstr("?state=failed?")));
  EXPECT_EQ(Get("/jobs?repo=acme%2Fpublic&state=failed", cookie).body.find(kOther),
            std::string::npos);
  // Outputs only when there are some; the issue links to GitHub.
  AppReply page = Get(std::string("/jobs/") + kJob, cookie);
  EXPECT_THAT(page.body, Not(HasSubstr(">Outputs</a>")));
  EXPECT_THAT(page.body, HasSubstr("href=\"https://github.com/acme/public/issues/7\""));
  std::ofstream(jobs_dir_ / kJob / "outputs.tar") << std::string(1024, '\0');
  EXPECT_THAT(Get(std::string("/jobs/") + kJob, cookie).body, HasSubstr(">Outputs</a>"));
  // A failed job says its error at the top and opens its log at the end.
  AppReply failed_page = Get(std::string("/jobs/") + kOther, cookie);
  EXPECT_THAT(failed_page.body, HasSubstr("<pre id=\"log\" class=\"at-end\">"));
  EXPECT_LT(failed_page.body.find("id=\"error\""), failed_page.body.find("id=\"facts\""));
  EXPECT_THAT(failed_page.body, HasSubstr("action=\"/jobs/" + std::string(kOther) + "/retry\""));
}

TEST_F(DashboardTest, TheScriptIsAFileThePolicyAllows) {
  AppReply js = Get("/assets/labelrun.js");
  ASSERT_EQ(js.outcome, Outcome::kOk);
  EXPECT_THAT(js.content_type, HasSubstr("javascript"));
  EXPECT_THAT(js.body, HasSubstr("data-live"));
  const std::string cookie = SignIn(*pages_);
  AppReply page = Get(std::string("/jobs/") + kJob, cookie);
  EXPECT_THAT(page.body, HasSubstr("<script src=\"/assets/labelrun.js\"></script>"));
  EXPECT_THAT(Header(page, "Content-Security-Policy"), HasSubstr("script-src 'self'"));
  EXPECT_THAT(page.body,
              HasSubstr("<main data-live=\"/jobs/" + std::string(kJob) + "/live.json\">"));
}

}  // namespace
}  // namespace labelrun::app
