// The job pages as an attacker meets them: what one signed link opens, how long
// the links it leads to last, ids and paths from the URL, odd output names, and
// the policy the HTML carries.
#include "labelrun/app/job_pages.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <regex>
#include <set>

#include "labelrun/report/job_page.hpp"
#include "labelrun/report/link_signing.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/trainer_log.hpp"

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
constexpr char kOther[] = "j00000000bb";  // another repository's job

std::string HtmlUnescape(std::string s) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}}) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  }
  return s;
}

// Every href and data-live of a page, unescaped, that leads to labelrun (not the
// issue on GitHub, not an anchor within the page; the script is the same for all).
std::vector<std::string> Links(const std::string& html) {
  std::vector<std::string> out;
  static const std::regex kAttr("(?:href|data-live)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), kAttr);
       it != std::sregex_iterator(); ++it) {
    std::string link = HtmlUnescape((*it)[1]);
    if (link.rfind("https://github.com/", 0) == 0 || link.rfind('#', 0) == 0) continue;
    out.push_back(std::move(link));
  }
  return out;
}

std::string Header(const AppReply& reply, std::string_view name) {
  for (const auto& [n, v] : reply.headers) {
    if (n == name) return v;
  }
  return "";
}

std::string Sha256Base64(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  std::string b64(64, '\0');
  b64.resize(static_cast<size_t>(
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), digest, size)));
  return b64;
}

class JobPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jobs_dir_ = dir_.path() / "state" / "jobs";
    std::filesystem::create_directories(jobs_dir_);
    auto store = store::JobStore::Open(":memory:");
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
    AddJob(kJob, "acme/public", JobState::kRunning);
    AddJob(kOther, "acme/private", JobState::kSucceeded);
    ReporterOptions ro;
    ro.link_key = kKey;
    ro.jobs_dir = jobs_dir_;
    reporter_ = std::make_unique<JobReporter>(ro, nullptr, clock_);
    JobPagesOptions po;
    po.dashboard_token = kToken;
    po.link_key = kKey;
    po.link_ttl = 7 * 24h;
    po.jobs_dir = jobs_dir_;
    pages_ = std::make_unique<JobPages>(po, *reporter_, *store_, clock_);
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
    job.spec.metrics = {"loss"};
    job.spec.command = {"sh", "train.sh"};
    ASSERT_TRUE(store_->Insert(job, clock_.NowUnixMillis()));
    job.state = state;
    job.started_ms = clock_.NowUnixMillis();
    if (IsFinal(state)) {
      job.finished_ms = clock_.NowUnixMillis();
      job.exit_code = 0;
    }
    ASSERT_TRUE(store_->Update(job, clock_.NowUnixMillis(), "test"));
    std::filesystem::create_directories(jobs_dir_ / id);
    std::ofstream(jobs_dir_ / id / "log") << "1700000000000 o log of " << id << " loss=0.5\n"
                                          << "1700000000001 o loss=0.25\n";
  }

  int64_t Now() const { return clock_.NowUnixMillis() / 1000; }

  // GET of `link` ("PATH?QUERY" as a page carries it), with the token or not.
  AppReply Get(const std::string& link, bool token = false) {
    AppRequest r;
    r.method = "GET";
    const size_t q = link.find('?');
    r.path = link.substr(0, q);
    r.query = q == std::string::npos ? "" : link.substr(q + 1);
    if (token) r.authorization = std::string("Bearer ") + kToken;
    AppReply reply = pages_->Handle(r);
    if (reply.file) {  // a file served from disk: read the slice the server would send
      std::ifstream in(reply.file->path, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(reply.file->offset));
      reply.body.resize(reply.file->length);
      in.read(reply.body.data(), static_cast<std::streamsize>(reply.body.size()));
      reply.body.resize(static_cast<size_t>(in.gcount()));
    }
    return reply;
  }

  // The link a comment carries: signed for `ttl` from now.
  std::string CommentLink(const std::string& path, std::chrono::seconds ttl = 3600s) {
    return report::SignLink(path, Now() + ttl.count(), kKey);
  }

  // A plain tar of an "outputs/" folder holding `files` (name -> content).
  void WriteOutputs(const std::string& id, const std::map<std::string, std::string>& files) {
    const std::filesystem::path src = dir_.path() / ("src-" + id);
    for (const auto& [name, content] : files) {
      std::filesystem::create_directories((src / "outputs" / name).parent_path());
      std::ofstream(src / "outputs" / name) << content;
    }
    std::string out;
    ASSERT_EQ(testing::RunCommand({"/usr/bin/tar", "-cf", (jobs_dir_ / id / "outputs.tar").string(),
                                   "-C", src.string(), "outputs"},
                                  &out),
              0)
        << out;
  }

  testing::TempDir dir_;
  std::filesystem::path jobs_dir_;
  ManualClock clock_;
  std::unique_ptr<store::JobStore> store_;
  std::unique_ptr<JobReporter> reporter_;
  std::unique_ptr<JobPages> pages_;
};

TEST_F(JobPagesTest, ASignedLinkOpensItsOneJobAndLeadsNowhereElse) {
  WriteOutputs(kJob, {{"model.pt", "weights"}});
  WriteOutputs(kOther, {{"secret.txt", "private"}});
  AppReply page = Get(CommentLink(std::string("/jobs/") + kJob));
  ASSERT_EQ(page.outcome, Outcome::kOk) << page.body;
  EXPECT_THAT(page.body, Not(HasSubstr(kOther)));
  // Every link on the page, and on the pages it leads to, stays within this job.
  std::vector<std::string> todo = Links(page.body);
  std::set<std::string> seen;
  while (!todo.empty()) {
    const std::string link = todo.back();
    todo.pop_back();
    if (link == "data:," || !seen.insert(link).second) continue;
    EXPECT_EQ(link.rfind(std::string("/jobs/") + kJob, 0), 0u) << link;
    AppReply next = Get(link);
    EXPECT_EQ(next.outcome, Outcome::kOk) << link << ": " << next.body;
    EXPECT_THAT(next.body, Not(HasSubstr(kOther))) << link;
    if (next.content_type.rfind("text/html", 0) == 0) {
      for (const std::string& l : Links(next.body)) todo.push_back(l);
    }
  }
  EXPECT_GE(seen.size(), 6u);  // log, tail, svg, outputs, the file, the tar, the page
  // The list is the dashboard's: a signed link to it (pages signed them before) is
  // refused, and so is no link at all.
  EXPECT_EQ(Get(CommentLink("/jobs")).outcome, Outcome::kUnauthorized);
  EXPECT_EQ(Get(CommentLink("/jobs/")).outcome, Outcome::kUnauthorized);
  EXPECT_EQ(Get("/jobs").outcome, Outcome::kUnauthorized);
  // This job's signature does not open another job, nor its parts.
  const std::string link = CommentLink(std::string("/jobs/") + kJob);
  const std::string query = link.substr(link.find('?'));
  for (const std::string sub :
       {"", "/log", "/log/tail", "/loss.svg", "/outputs", "/outputs.tar", "/outputs/secret.txt"}) {
    EXPECT_EQ(Get(std::string("/jobs/") + kOther + sub + query).outcome, Outcome::kUnauthorized)
        << sub;
    EXPECT_EQ(Get(std::string("/jobs/") + kJob + sub + "x" + query).outcome, Outcome::kUnauthorized)
        << sub;
  }
  // The token opens the list and every job.
  AppReply list = Get("/jobs", true);
  ASSERT_EQ(list.outcome, Outcome::kOk);
  EXPECT_THAT(list.body, HasSubstr(kOther));
  EXPECT_EQ(Get(std::string("/jobs/") + kOther, true).outcome, Outcome::kOk);
}

// The log views show a Hugging Face Trainer run as a terminal would, from the log file
// that keeps every redraw; a failed job's page (its log replayed) names its error.
TEST_F(JobPagesTest, LogViewsShowRedrawsOnceAndAFailedPageNamesItsError) {
  const testing::TrainerLog trainer = testing::HuggingFaceTrainerLog();
  const std::string stored = testing::StoredLog(
      trainer.bytes +
      "Traceback (most recent call last):\n  File \"/src/train.py\", line 9, in load\n"
      "    raise FileNotFoundError(2, 'No such file or directory', path)\n"
      "FileNotFoundError: [Errno 2] No such file or directory: 'data/shard-7.bin'\n");
  ASSERT_GE(std::count(stored.begin(), stored.end(), '\r'), 100);
  const std::string id = "j00000000cc";
  AddJob(id, "acme/failing", JobState::kFailed);
  std::ofstream(jobs_dir_ / id / "log", std::ios::binary) << stored;
  std::string screen;
  for (const std::string& line : trainer.screen) screen += line + "\n";
  for (const char* view : {"/log", "/log/tail"}) {
    const AppReply log = Get("/jobs/" + id + view, true);
    ASSERT_EQ(log.outcome, Outcome::kOk) << view;
    EXPECT_EQ(log.body.substr(0, screen.size()), screen) << view;
    EXPECT_THAT(log.body.substr(screen.size()),
                HasSubstr("\nFileNotFoundError: [Errno 2] No such file or directory: "
                          "'data/shard-7.bin'\n"))
        << view;
  }
  // Its job record says failed; the page replays the log file and names the error.
  store::JobRecord job = **store_->Get(id);
  job.exit_code = 1;
  job.reason = "exited with code 1";
  ASSERT_TRUE(store_->Update(job, clock_.NowUnixMillis(), "test"));
  const AppReply page = Get("/jobs/" + id, true);
  ASSERT_EQ(page.outcome, Outcome::kOk);
  EXPECT_THAT(page.body, HasSubstr("<p class=\"status\">Failed: file not found: "
                                   "&#39;data/shard-7.bin&#39; (FileNotFoundError) — exited "
                                   "with code 1.</p>"));
  const std::string log_view = page.body.substr(page.body.find("<pre id=\"log\""));
  size_t bars = 0;
  for (size_t at = log_view.find("%|"); at != std::string::npos; at = log_view.find("%|", at + 1)) {
    ++bars;
  }
  EXPECT_EQ(bars, 1u) << log_view;
}

TEST_F(JobPagesTest, LinksOnASignedPageExpireWithTheLinkUsed) {
  WriteOutputs(kJob, {{"model.pt", "weights"}});
  const int64_t expires = Now() + 600;
  AppReply page = Get(report::SignLink(std::string("/jobs/") + kJob, expires, kKey));
  ASSERT_EQ(page.outcome, Outcome::kOk) << page.body;
  std::vector<std::string> links = Links(page.body);
  AppReply outputs =
      Get(report::SignLink(std::string("/jobs/") + kJob + "/outputs", expires, kKey));
  ASSERT_EQ(outputs.outcome, Outcome::kOk) << outputs.body;
  for (const std::string& l : Links(outputs.body)) links.push_back(l);
  size_t signed_links = 0;
  for (const std::string& l : links) {
    if (l == "data:,") continue;
    ++signed_links;
    EXPECT_THAT(l, HasSubstr("exp=" + std::to_string(expires) + "&")) << l;
  }
  EXPECT_GE(signed_links, 6u);
  // Following them does not renew access: past the first link's expiry, all are shut.
  clock_.Advance(601s);
  EXPECT_THAT(Get(links.back()).body, HasSubstr("the link expired"));
  for (const std::string& l : links) {
    if (l != "data:,") {
      EXPECT_EQ(Get(l).outcome, Outcome::kUnauthorized) << l;
    }
  }
  // With the token, pages sign for link_ttl from now, as before.
  AppReply dashboard = Get(std::string("/jobs/") + kJob, true);
  ASSERT_EQ(dashboard.outcome, Outcome::kOk);
  const std::string renewed = "exp=" + std::to_string(Now() + 7 * 24 * 3600) + "&";
  for (const std::string& l : Links(dashboard.body)) {
    if (l != "data:," && l != "/jobs") {
      EXPECT_THAT(l, HasSubstr(renewed)) << l;
    }
  }
}

TEST_F(JobPagesTest, IdsFromThePathAreCheckedBeforeAnyFileIsTouched) {
  // Files beside and above the jobs folder that a traversal would reach.
  std::ofstream(jobs_dir_.parent_path() / "log") << "1 o state-secret\n";
  std::ofstream(jobs_dir_ / "log") << "1 o jobs-secret\n";
  std::filesystem::create_directories(jobs_dir_ / "x");
  std::ofstream(jobs_dir_ / "x" / "log") << "1 o x-secret\n";
  std::ofstream(jobs_dir_.parent_path() / "outputs.tar") << "not a tar";
  for (const std::string bad :
       {"/jobs/../log", "/jobs/%2e%2e/log", "/jobs/./log", "/jobs/%2E/log", "/jobs/x/log",
        "/jobs/../log/tail", "/jobs/../outputs", "/jobs/../outputs.tar", "/jobs/../outputs/a",
        "/jobs/../loss.svg", "/jobs/..", "/jobs/%2e%2e%2Flog", "/jobs/J00000000AA/log",
        "/jobs/j00000000aa0/log", "/jobs//log"}) {
    AppReply r = Get(bad, true);
    EXPECT_EQ(r.outcome, Outcome::kBadRequest) << bad << ": " << r.body;
    EXPECT_THAT(r.body, HasSubstr("not a job id")) << bad;
    EXPECT_THAT(r.body, Not(HasSubstr("secret"))) << bad;
  }
  EXPECT_EQ(Get("/jobs/j00000000aa/log%", true).outcome, Outcome::kBadRequest);
  EXPECT_EQ(Get("/jobs/j00000000aa/log%00", true).outcome, Outcome::kBadRequest);
  // A path inside the outputs archive stays inside it.
  WriteOutputs(kJob, {{"model.pt", "weights"}});
  for (const std::string bad :
       {"/outputs/../../log", "/outputs/%2e%2e/%2e%2e/log", "/outputs/..%2F..%2Flog",
        "/outputs//etc/passwd", "/%2e%2e/%2e%2e/log", "%2F..%2F..%2Flog"}) {
    AppReply r = Get(std::string("/jobs/") + kJob + bad, true);
    EXPECT_EQ(r.outcome, Outcome::kNotFound) << bad << ": " << r.body;
    EXPECT_THAT(r.body, Not(HasSubstr("secret"))) << bad;
  }
  AppReply ok = Get(std::string("/jobs/") + kJob + "/log", true);
  ASSERT_EQ(ok.outcome, Outcome::kOk);
  EXPECT_THAT(ok.body, HasSubstr("log of j00000000aa"));
}

TEST_F(JobPagesTest, OutputsWithSpacesQuotesAndAnglesOpenFromTheIndex) {
  const std::map<std::string, std::string> files = {
      {"a b.txt", "space"},         {"say \"hi\".txt", "quotes"}, {"x<y>.txt", "angles"},
      {"q?#%&=.txt", "query"},      {"it's.txt", "apostrophe"},   {"dir with space/ü.txt", "utf8"},
      {"plain-name_1.txt", "plain"}};
  WriteOutputs(kJob, files);
  AppReply index = Get(CommentLink(std::string("/jobs/") + kJob + "/outputs"));
  ASSERT_EQ(index.outcome, Outcome::kOk) << index.body;
  size_t opened = 0;
  for (const std::string& link : Links(index.body)) {
    const std::string path = link.substr(0, link.find('?'));
    if (path.rfind(std::string("/jobs/") + kJob + "/outputs/", 0) != 0) continue;
    // A URL path as a browser sends it: nothing to escape left.
    EXPECT_TRUE(std::regex_match(path, std::regex("[A-Za-z0-9/._~%-]*"))) << path;
    AppReply file = Get(link);
    ASSERT_EQ(file.outcome, Outcome::kOk) << link << ": " << file.body;
    bool known = false;
    for (const auto& [name, content] : files) known = known || file.body == content;
    EXPECT_TRUE(known) << link << ": " << file.body;
    ++opened;
  }
  EXPECT_EQ(opened, files.size());
  // The signature covers the decoded path: the same file however a client escapes it.
  const int64_t exp = Now() + 60;
  const std::string sig =
      report::SignLink(std::string("/jobs/") + kJob + "/outputs/a b.txt", exp, kKey);
  const std::string query = sig.substr(sig.find('?'));
  EXPECT_EQ(sig.substr(0, sig.find('?')), std::string("/jobs/") + kJob + "/outputs/a%20b.txt");
  EXPECT_EQ(Get(std::string("/jobs/") + kJob + "/outputs/a%20b.txt" + query).body, "space");
  EXPECT_EQ(Get(std::string("/jobs/") + kJob + "/outputs/a%20%62.txt" + query).body, "space");
  // ... and only that path.
  EXPECT_EQ(Get(std::string("/jobs/") + kJob + "/outputs/x%3Cy%3E.txt" + query).outcome,
            Outcome::kUnauthorized);
}

TEST_F(JobPagesTest, HtmlCarriesAPolicyThatAllowsOnlyItsOwnInlineStyleAndScriptFiles) {
  WriteOutputs(kJob, {{"model.pt", "weights"}});
  const std::string& policy = report::PageContentSecurityPolicy();
  EXPECT_THAT(policy, HasSubstr("default-src 'none'"));
  EXPECT_THAT(policy, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(policy, Not(HasSubstr("unsafe")));
  EXPECT_THAT(policy, Not(HasSubstr("*")));
  size_t inline_elements = 0;
  for (const std::string& link :
       {std::string("/jobs/") + kJob, std::string("/jobs/") + kJob + "/outputs",
        std::string("/jobs")}) {
    AppReply r = Get(link, true);
    ASSERT_EQ(r.outcome, Outcome::kOk) << link;
    ASSERT_THAT(r.content_type, HasSubstr("text/html"));
    EXPECT_EQ(Header(r, "Content-Security-Policy"), policy) << link;
    // Each inline <style> and <script> is allowed by its hash; nothing else inline.
    for (const std::string tag : {"style", "script"}) {
      const std::string open = "<" + tag + ">", close = "</" + tag + ">";
      for (size_t at = r.body.find(open); at != std::string::npos; at = r.body.find(open, at + 1)) {
        const size_t begin = at + open.size();
        const size_t end = r.body.find(close, begin);
        ASSERT_NE(end, std::string::npos);
        ++inline_elements;
        const std::string source =
            "'sha256-" + Sha256Base64(std::string_view(r.body).substr(begin, end - begin)) + "'";
        EXPECT_THAT(policy, HasSubstr(tag + "-src " + source)) << link;
      }
    }
    EXPECT_THAT(r.body, Not(HasSubstr(" style=\""))) << link;
    EXPECT_FALSE(std::regex_search(r.body, std::regex(" on[a-z]+="))) << link;
  }
  EXPECT_GE(inline_elements, 3u);  // three styles; the running job's script is a file
  EXPECT_THAT(policy, HasSubstr("script-src 'self';"));
  // What is not HTML gets no page policy here (the server's own applies).
  EXPECT_EQ(Header(Get(std::string("/jobs/") + kJob + "/log", true), "Content-Security-Policy"),
            "");
}

TEST_F(JobPagesTest, TheListIsPagedAndOlderJobsLinksWalkEveryJobOnce) {
  for (int i = 0; i < 230; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "j%010x", 0x100 + i);
    AddJob(id, "acme/many", i % 3 ? JobState::kSucceeded : JobState::kFailed);
  }
  // Two jobs from SetUp and 230 here: 232 in three pages of 100.
  std::vector<std::string> ids;
  std::string link = "/jobs";
  int pages = 0;
  for (; !link.empty() && pages < 10; ++pages) {
    AppReply r = Get(link, true);
    ASSERT_EQ(r.outcome, Outcome::kOk) << link << ": " << r.body;
    link.clear();
    for (const std::string& l : Links(r.body)) {
      if (l.rfind("/jobs/j", 0) == 0) ids.push_back(l.substr(6, 11));
      if (l.rfind("/jobs?limit=100&before=", 0) == 0) link = l;
    }
    EXPECT_EQ(link.empty(), pages == 2) << "an Older jobs link on every page but the last";
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(ids.size(), 232u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 232u);
  EXPECT_EQ(ids.front(), "j00000001e5");  // newest first
  EXPECT_EQ(ids.back(), kJob);

  // A state filter and a limit travel with the link.
  AppReply failed = Get("/jobs?state=failed&limit=30", true);
  ASSERT_EQ(failed.outcome, Outcome::kOk);
  EXPECT_THAT(failed.body, HasSubstr("state=failed&amp;before="));
  EXPECT_THAT(failed.body, Not(HasSubstr("state state-succeeded")));

  for (const char* bad : {"/jobs?before=abc", "/jobs?before=-5", "/jobs?before=0",
                          "/jobs?before=99999999999999999999", "/jobs?limit=0", "/jobs?limit=x"}) {
    AppReply r = Get(bad, true);
    EXPECT_EQ(r.outcome, Outcome::kBadRequest) << bad;
    EXPECT_THAT(r.body, Not(HasSubstr("<"))) << bad;
  }
}

}  // namespace
}  // namespace labelrun::app
