// What maintainers see, end to end through the real binary, the real Docker
// daemon and the loopback GitHub: one comment per job that goes queued ->
// running -> succeeded with the loss curve and the log tail, and the status
// labels that follow the job. And local mode: the same kept by labelrun.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "support/docker_env.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/issue_timeline.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kToken[] = "report-test-api-token-42";

std::string Labeled(const std::string& sender, const std::string& more_labels = "") {
  return R"({"action":"labeled","label":{"name":"task:training"},"issue":{"number":12,)"
         R"("state":"open","title":"t","body":null,"labels":[{"name":"task:training"})" +
         more_labels +
         R"(]},)"
         R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":")" +
         sender + R"(","type":"User"},"installation":{"id":5}})";
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rt = ConnectTestDocker();
    ASSERT_TRUE(rt) << rt.error().message();
    ASSERT_EQ(EnsureTestImage(**rt), "");
    docker_ = std::move(*rt);
    repo_ = dir_.path() / "repo";
    std::filesystem::create_directories(repo_);
    // Eight epochs, about 1.5 s each: long enough for the running comment to go out
    // between the paced GitHub writes.
    std::ofstream(repo_ / "train.sh")
        << "echo 'starting training'\n"
           "for i in 1 2 3 4 5 6 7 8; do\n"
           "  echo \"{\\\"epoch\\\": $i, \\\"loss\\\": 0.$((90 - i * 10))}\"; sleep 1.5\n"
           "done\n"
           "echo 'training done: ```not a fence```'\n";
    std::ofstream(dir_.path() / "api-token") << kToken << "\n";
  }
  void TearDown() override {
    std::ifstream in(dir_.path() / "state" / "instance-id");
    std::string instance;
    if (docker_ && std::getline(in, instance)) {
      if (auto left = docker_->List({{"labelrun.instance", instance}})) {
        for (const auto& c : *left) (void)docker_->Remove(c.id);
      }
    }
  }

  std::string Yaml() {
    return "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
           "/LABELS.md\n"
           "rules:\n"
           "  - name: train\n"
           "    when: {all: [task:training]}\n"
           "    job: {image: \"" +
           std::string(kTestImage) +
           "\", command: [sh, train.sh]}\n"
           "sources: {default_dir: " +
           repo_.string() + "}\napi: {token_file: " + (dir_.path() / "api-token").string() +
           "}\nreport: {update_interval: 1s, public_url: \"https://labelrun.example.com\"}\n";
  }

  TempDir dir_;
  std::filesystem::path repo_;
  std::unique_ptr<runtime::DockerRuntime> docker_;
};

TEST_F(ReportTest, OneCommentFollowsTheJobAndTheStatusLabelsMove) {
  FakeGithub::Options github_options;
  github_options.static_token = "ghp_labelrun_report_test_token";
  FakeGithub github(github_options, SystemClock::Instance());
  github.SetPermission("acme/vision", "bob", "write");
  github.AddIssueLabel("acme/vision", 12, "status:done");  // left by an earlier run
  dir_.Write("github-token", "ghp_labelrun_report_test_token\n");
  LabelrunProcess::Options options;
  options.extra_yaml = Yaml() + "github:\n  api_url: " + github.url() +
                       "\n  token_file: " + (dir_ / "github-token").string() + "\n";
  LabelrunProcess server(dir_, options);
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(
      server.Deliver("issues", "report-1", Labeled("bob", R"(,{"name":"status:done"})")).status,
      202);

  auto comments = [&] { return github.Comments("acme/vision", 12); };
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto c = comments();
        return c.size() == 1 && c[0].body.find("Succeeded") != std::string::npos;
      },
      120s))
      << server.Log();
  const std::string body = comments()[0].body;
  EXPECT_THAT(body, HasSubstr("<!-- labelrun:job=j"));
  EXPECT_THAT(body, HasSubstr("xychart-beta"));
  // The curve carries the values the training printed.
  for (const char* v : {"0.8", "0.7", "0.6", "0.5", "0.4", "0.3", "0.2", "0.1"}) {
    EXPECT_THAT(body, HasSubstr(v));
  }
  EXPECT_THAT(body, HasSubstr("<details>"));
  EXPECT_THAT(body, HasSubstr("training done"));
  EXPECT_THAT(body, HasSubstr("https://labelrun.example.com/jobs/j"));
  EXPECT_THAT(body, Not(HasSubstr("ghp_labelrun_report_test_token")));

  // The comment was created once and edited: queued, then running, then the end.
  std::vector<std::string> states;
  std::string sent;  // what was sent, for the failure message
  for (const FakeRequest& r : github.Requests()) {
    sent += r.method + " " + r.target + " " + r.body.substr(0, 120) + "\n";
    if (r.target.find("/comments") == std::string::npos || r.body.empty()) continue;
    for (const char* s : {"Queued", "Running", "Succeeded"}) {
      if (r.body.find(s) != std::string::npos && (states.empty() || states.back() != s)) {
        states.push_back(s);
      }
    }
  }
  EXPECT_EQ(states, (std::vector<std::string>{"Queued", "Running", "Succeeded"})) << sent;

  // Labels: status:queued -> status:in-progress -> status:done, the old ones removed.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto labels = github.IssueLabels("acme/vision", 12);
        return std::count(labels.begin(), labels.end(), "status:done") == 1 &&
               std::count(labels.begin(), labels.end(), "status:in-progress") == 0 &&
               std::count(labels.begin(), labels.end(), "status:queued") == 0;
      },
      30s))
      << ::testing::PrintToString(github.IssueLabels("acme/vision", 12));
  // Each state's labels after its edit, none after the next state's, and no
  // label write refused.
  const std::vector<IssueWrite> writes = IssueWrites(github.Requests(), "acme/vision", 12);
  EXPECT_EQ(CheckJobTimeline(writes, "Succeeded"), "") << DescribeWrites(writes);

  // The API serves the same comment, and the signed link in it opens the job page.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      body, m,
      std::regex("https://labelrun.example.com(/jobs/(j[0-9a-f]+)\\?exp=[0-9]+&sig=[0-9a-f]+)")));
  const std::string id = m[2];
  HttpResponse page = HttpRequest("GET", server.Url(m[1]), {}, "");
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_THAT(page.body, HasSubstr("<svg"));
  EXPECT_EQ(HttpRequest("GET", server.Url("/jobs/" + id), {}, "").status, 401);
  HttpResponse md = HttpRequest("GET", server.Url("/api/jobs/" + id + "/comment"),
                                {std::string("Authorization: Bearer ") + kToken}, "");
  EXPECT_EQ(md.status, 200);
  EXPECT_THAT(md.body, HasSubstr("Succeeded"));
  // With the same links as the comment on GitHub, Outputs included.
  EXPECT_THAT(body, HasSubstr("[Outputs](<https://labelrun.example.com/jobs/" + id + "/outputs?"));
  EXPECT_THAT(md.body,
              HasSubstr("[Outputs](<https://labelrun.example.com/jobs/" + id + "/outputs?"));
}

TEST_F(ReportTest, LocalModeKeepsTheCommentAndShowsItOnThePages) {
  std::ofstream(dir_.path() / "dash-token") << "dash-token-123\n";
  LabelrunProcess::Options options;
  options.extra_yaml =
      Yaml() + "dashboard: {token_file: " + (dir_.path() / "dash-token").string() + "}\n";
  LabelrunProcess server(dir_, options);
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "local-1", Labeled("carol")).status, 202);
  ASSERT_TRUE(WaitUntil(
      [&] {
        // The final label is logged by the reporter after the job's own line.
        return server.Log().find("job j") != std::string::npos &&
               server.Log().find("succeeded") != std::string::npos &&
               server.Log().find("label status:done added") != std::string::npos;
      },
      120s))
      << server.Log();
  EXPECT_THAT(server.Log(), HasSubstr("(local mode: not sent to GitHub)"));
  HttpResponse list =
      HttpRequest("GET", server.Url("/jobs"), {"Authorization: Bearer dash-token-123"}, "");
  EXPECT_EQ(list.status, 200);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(list.body, m, std::regex("/jobs/(j[0-9a-f]+)")));
  HttpResponse svg = HttpRequest("GET", server.Url("/jobs/" + std::string(m[1]) + "/loss.svg"),
                                 {"Authorization: Bearer dash-token-123"}, "");
  EXPECT_EQ(svg.status, 200);
  EXPECT_EQ(std::count(svg.body.begin(), svg.body.end(), '\n') > 0, true);
  std::regex point("class=\"pt\"");
  EXPECT_EQ(std::distance(std::sregex_iterator(svg.body.begin(), svg.body.end(), point),
                          std::sregex_iterator()),
            8)
      << svg.body;
  HttpResponse log = HttpRequest("GET", server.Url("/jobs/" + std::string(m[1]) + "/log"),
                                 {"Authorization: Bearer dash-token-123"}, "");
  EXPECT_THAT(log.body, HasSubstr("starting training\n"));
  EXPECT_EQ(HttpRequest("GET", server.Url("/jobs"), {}, "").status, 401);

  // The job page in a real browser (Debian's chromium, headless), opened from the
  // signed link of the comment: its SVG chart has one point per epoch, and the
  // page logs no console error. The screenshot is kept next to the test's output.
  HttpResponse md = HttpRequest("GET", server.Url("/api/jobs/" + std::string(m[1]) + "/comment"),
                                {std::string("Authorization: Bearer ") + kToken}, "");
  ASSERT_EQ(md.status, 200) << md.body;
  std::smatch link;
  ASSERT_TRUE(std::regex_search(md.body, link,
                                std::regex("https://labelrun.example.com(/jobs/j[0-9a-f]+\\?exp="
                                           "[0-9]+&sig=[0-9a-f]+)")))
      << md.body;
  const std::string url = server.Url(link[1]);
  const std::string shot =
      (std::filesystem::path(LABELRUN_BINARY).parent_path() / "job_page_screenshot.png").string();
  std::string dom;
  const std::vector<std::string> chromium = {"/usr/bin/chromium",
                                             "--headless",
                                             "--no-sandbox",
                                             "--disable-gpu",
                                             "--enable-logging=stderr",
                                             "--v=0",
                                             "--user-data-dir=" + (dir_ / "chromium").string()};
  std::vector<std::string> dump = chromium;
  dump.insert(dump.end(), {"--dump-dom", url});
  ASSERT_EQ(RunCommand(dump, &dom), 0) << dom;
  std::regex svg_point("<circle[^>]*class=\"pt\"");
  EXPECT_EQ(std::distance(std::sregex_iterator(dom.begin(), dom.end(), svg_point),
                          std::sregex_iterator()),
            8)
      << dom;
  EXPECT_THAT(dom, Not(HasSubstr("Uncaught")));
  std::regex console_error("CONSOLE.*(Error|error|Failed|failed)");
  EXPECT_FALSE(std::regex_search(dom, console_error)) << dom;
  EXPECT_THAT(dom, Not(HasSubstr("Content Security Policy"))) << dom;  // nothing blocked
  std::vector<std::string> screenshot = chromium;
  screenshot.insert(screenshot.end(), {"--window-size=1280,1600", "--screenshot=" + shot, url});
  std::string out;
  ASSERT_EQ(RunCommand(screenshot, &out), 0) << out;
  EXPECT_GT(std::filesystem::file_size(shot), 10'000u);
}

}  // namespace
}  // namespace labelrun::testing
