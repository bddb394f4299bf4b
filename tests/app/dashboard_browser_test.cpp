// The dashboard in a real browser: Debian's headless Chromium, driven by
// tests/support/browser/dashboard.cjs (playwright-core), signs in, filters the
// list, watches a real busybox job's page update itself through the real binary
// and dockerd, and presses Cancel; this side checks what that left behind (the
// job's record and its comment). Screenshots land in build/<preset>/screenshots/.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/docker_env.hpp"
#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kApiToken[] = "test-api-token-0123456789";
constexpr char kDashToken[] = "test-dashboard-token-0123456789";
constexpr char kRepo[] = "acme/vision";

std::string Labeled(int issue, const std::string& label) {
  return R"({"action":"labeled","label":{"name":")" + label + R"("},"issue":{"number":)" +
         std::to_string(issue) + R"(,"state":"open","title":"t","body":null,"labels":[{"name":")" +
         label + R"("}]},"repository":{"id":1,"full_name":")" + std::string(kRepo) +
         R"("},"sender":{"login":"alice","type":"User"}})";
}

class DashboardBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rt = ConnectTestDocker();
    ASSERT_TRUE(rt) << rt.error().message();
    ASSERT_EQ(EnsureTestImage(**rt), "");
    docker_ = std::move(*rt);
    repo_ = dir_.path() / "repo";
    std::filesystem::create_directories(repo_);
    // About 40 s of training: a metrics line each second, then a last word.
    std::ofstream(repo_ / "train.sh")
        << "for i in $(seq 1 40); do echo \"{\\\"epoch\\\": $i, \\\"loss\\\": $((100 - 2 * i)).5, "
           "\\\"accuracy\\\": 0.$((50 + i))}\"; sleep 1; done\necho finished\n";
    std::ofstream(dir_.path() / "api-token") << kApiToken << "\n";
    std::ofstream(dir_.path() / "dashboard-token") << kDashToken << "\n";
  }

  void TearDown() override {
    if (!docker_) return;
    std::ifstream in(dir_.path() / "state" / "instance-id");
    std::string instance;
    if (std::getline(in, instance)) {
      if (auto left = docker_->List({{"labelrun.instance", instance}})) {
        for (const auto& c : *left) (void)docker_->Remove(c.id);
      }
    }
  }

  LabelrunProcess::Options Options() {
    LabelrunProcess::Options o;
    const std::string image = kTestImage;
    o.extra_yaml = "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
                   "/LABELS.md\n"
                   "rules:\n"
                   "  - name: train\n"
                   "    when: {all: [task:training]}\n"
                   "    job: {image: \"" +
                   image +
                   "\", command: [sh, train.sh]}\n"
                   "  - name: long\n"
                   "    when: {all: [task:benchmarking]}\n"
                   "    priority: 1\n"
                   "    job: {image: \"" +
                   image +
                   "\", command: [sh, -c, \"echo waiting; sleep 600\"]}\n"
                   "sources: {default_dir: " +
                   repo_.string() +
                   "}\n"
                   "api: {token_file: " +
                   (dir_.path() / "api-token").string() +
                   "}\n"
                   "dashboard: {token_file: " +
                   (dir_.path() / "dashboard-token").string() + ", session_ttl: 1h}\n";
    return o;
  }

  json Api(LabelrunProcess& server, const std::string& path) {
    HttpResponse r = HttpRequest("GET", server.Url(path),
                                 {std::string("Authorization: Bearer ") + kApiToken}, "");
    return json::parse(r.body, nullptr, false);
  }

  // The id of the job on `issue` once it is in `state`.
  std::string WaitFor(LabelrunProcess& server, int issue, const std::string& state) {
    const auto until = std::chrono::steady_clock::now() + 60s;
    json last;
    while (std::chrono::steady_clock::now() < until) {
      json list = Api(server, "/api/jobs");
      if (list.is_object()) {
        for (const json& j : list["jobs"]) {
          if (j["issue"] == issue) {
            last = j;
            if (j["state"] == state) return j["id"];
          }
        }
      }
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "issue " << issue << " never " << state << "; last: " << last.dump() << "\n"
                  << server.Log();
    return "";
  }

  // Runs tests/support/browser/dashboard.cjs; its exit status, -1 past 5 minutes.
  int RunNode(const std::map<std::string, std::string>& env, std::string* out) {
    const std::filesystem::path log = dir_.path() / "node.log";
    std::filesystem::remove(log);
    Process node({"/usr/bin/env", "node",
                  std::string(LABELRUN_SOURCE_DIR) + "/tests/support/browser/dashboard.cjs"},
                 log, env);
    const std::optional<int> status = node.Wait(300s);
    std::ifstream in(log);
    out->assign(std::istreambuf_iterator<char>(in), {});
    return status.value_or(-1);
  }

  TempDir dir_;
  std::filesystem::path repo_;
  std::unique_ptr<runtime::DockerRuntime> docker_;
};

TEST_F(DashboardBrowserTest, SignInFiltersLiveUpdatesAndCancelInChromium) {
  LabelrunProcess server(dir_, Options());
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "live-1", Labeled(7, "task:training")).status, 202);
  ASSERT_EQ(server.Deliver("issues", "long-1", Labeled(8, "task:benchmarking")).status, 202);
  const std::string live = WaitFor(server, 7, "running");
  const std::string cancel = WaitFor(server, 8, "running");
  ASSERT_FALSE(live.empty());
  ASSERT_FALSE(cancel.empty());

  const std::filesystem::path shots =
      std::filesystem::path(LABELRUN_BINARY).parent_path() / "screenshots";
  const std::filesystem::path comment_md = dir_.path() / "comment.md";
  std::string out;
  std::string url = server.Url("");
  if (!url.empty() && url.back() == '/') url.pop_back();
  std::map<std::string, std::string> env = {{"BASE_URL", url},  {"TOKEN", kDashToken},
                                            {"LIVE_JOB", live}, {"CANCEL_JOB", cancel},
                                            {"REPO", kRepo},    {"OUT_DIR", shots.string()}};
  const int rc = RunNode(env, &out);
  EXPECT_EQ(rc, 0) << out << "\n" << server.Log();
  EXPECT_THAT(out, HasSubstr("all checks passed"));

  // What the Cancel button did: the job's record, its history and its comment say who.
  json cancelled = Api(server, "/api/jobs/" + cancel);
  EXPECT_EQ(cancelled["state"], "cancelled") << cancelled.dump();
  EXPECT_EQ(cancelled["cancelled_by"], "carol");
  bool in_history = false;
  for (const json& e : cancelled["events"]) {
    in_history |= e["detail"].get<std::string>().find("cancelled by carol") != std::string::npos;
  }
  EXPECT_TRUE(in_history) << cancelled["events"].dump();
  HttpResponse comment = HttpRequest("GET", server.Url("/api/jobs/" + cancel + "/comment"),
                                     {std::string("Authorization: Bearer ") + kApiToken}, "");
  EXPECT_THAT(comment.body, HasSubstr("cancelled by carol"));
  // The session id and the token never reach the log.
  EXPECT_THAT(server.Log(), ::testing::Not(HasSubstr(kDashToken)));
  EXPECT_THAT(server.Log(), HasSubstr("dashboard: carol signed in"));

  // The finished job's comment, rendered as GitHub shows it, for the docs.
  HttpResponse done = HttpRequest("GET", server.Url("/api/jobs/" + live + "/comment"),
                                  {std::string("Authorization: Bearer ") + kApiToken}, "");
  ASSERT_EQ(done.status, 200) << done.body;
  std::ofstream(comment_md) << done.body;
  out.clear();
  env["COMMENT_MD"] = comment_md.string();
  env["ONLY_COMMENT"] = "1";
  const int rc2 = RunNode(env, &out);
  EXPECT_EQ(rc2, 0) << out;
  EXPECT_TRUE(std::filesystem::exists(shots / "job-page.png"));
  EXPECT_TRUE(std::filesystem::exists(shots / "comment.png"));
}

// The same sign-in over the wire, without a browser: the server hands a small form
// body to the page and refuses a large or unframed one before reading it.
TEST(DashboardHttpTest, SignInFormsAreReadAndLargeBodiesRefused) {
  TempDir dir;
  std::ofstream(dir.path() / "dashboard-token") << kDashToken << "\n";
  LabelrunProcess::Options o;
  o.extra_yaml = "dashboard: {token_file: " + (dir.path() / "dashboard-token").string() + "}\n";
  LabelrunProcess server(dir, o);
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  const std::vector<std::string> form = {"Content-Type: application/x-www-form-urlencoded"};
  HttpResponse wrong =
      HttpRequest("POST", server.Url("/login"), form, "user=carol&token=nope&next=%2Fjobs");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_THAT(wrong.headers, ::testing::Not(HasSubstr("Set-Cookie")));
  HttpResponse ok = HttpRequest("POST", server.Url("/login"), form,
                                std::string("user=carol&token=") + kDashToken + "&next=%2Fjobs");
  ASSERT_EQ(ok.status, 303) << ok.body;
  EXPECT_THAT(ok.headers, HasSubstr("Location: /jobs"));
  const size_t at = ok.headers.find("Set-Cookie: ");
  ASSERT_NE(at, std::string::npos) << ok.headers;
  const std::string cookie = ok.headers.substr(at + 12, ok.headers.find(';', at) - at - 12);
  EXPECT_THAT(ok.headers, HasSubstr("HttpOnly; SameSite=Strict"));
  HttpResponse list = HttpRequest("GET", server.Url("/jobs"), {"Cookie: " + cookie}, "");
  EXPECT_EQ(list.status, 200) << list.body;
  EXPECT_THAT(list.body, HasSubstr("signed in as"));
  EXPECT_EQ(HttpRequest("GET", server.Url("/jobs"), {}, "").status, 401);
  // Over 16 KiB: 413, and the connection is not left half-read.
  HttpResponse big = HttpRequest("POST", server.Url("/login"), form,
                                 "user=carol&token=" + std::string(20000, 'x'));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(HttpRequest("GET", server.Url("/healthz"), {}, "").status, 200);
  EXPECT_THAT(server.Log(), ::testing::Not(HasSubstr(kDashToken)));
  EXPECT_THAT(server.Log(), ::testing::Not(HasSubstr(cookie.substr(cookie.find('=') + 1))));
}

// `labelrun serve --dev` prints the dashboard's sign-in link; with the dev token it
// leads to the job list.
TEST(DashboardHttpTest, TheDevBannerPrintsASignInLinkThatOpensTheList) {
  TempDir dir;
  const std::filesystem::path log = dir.path() / "out.log";
  Process serve({LABELRUN_BINARY, "serve", "--dev", "--state-dir", (dir.path() / "state").string(),
                 "--listen", "127.0.0.1:0"},
                log);
  std::string link;
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::ifstream in(log);
        const std::string text((std::istreambuf_iterator<char>(in)), {});
        const std::string marker = "Dashboard (the job list): ";
        const size_t at = text.find(marker);
        if (at == std::string::npos) return false;
        const size_t end = text.find('\n', at);
        if (end == std::string::npos) return false;
        link = text.substr(at + marker.size(), end - at - marker.size());
        return true;
      },
      30s));
  ASSERT_THAT(link, ::testing::MatchesRegex("http://127\\.0\\.0\\.1:[0-9]+/login\\?next=/jobs"));
  const std::string base = link.substr(0, link.find("/login"));
  std::ifstream token_in(dir.path() / "state" / "dev-api-token");
  std::string token;
  std::getline(token_in, token);
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(HttpRequest("GET", link, {}, "").status, 200);
  HttpResponse ok =
      HttpRequest("POST", base + "/login", {"Content-Type: application/x-www-form-urlencoded"},
                  "user=dev&token=" + token + "&next=%2Fjobs");
  ASSERT_EQ(ok.status, 303) << ok.body;
  const size_t at = ok.headers.find("Set-Cookie: ");
  ASSERT_NE(at, std::string::npos);
  const std::string cookie = ok.headers.substr(at + 12, ok.headers.find(';', at) - at - 12);
  HttpResponse list = HttpRequest("GET", base + "/jobs", {"Cookie: " + cookie}, "");
  EXPECT_EQ(list.status, 200);
  EXPECT_THAT(list.body, HasSubstr("<h1>Jobs</h1>"));
  serve.Signal(SIGTERM);
  EXPECT_TRUE(serve.Wait(20s).has_value());
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_THAT(text, ::testing::Not(HasSubstr(token)));
}

}  // namespace
}  // namespace labelrun::testing
