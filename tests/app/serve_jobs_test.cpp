// The dispatcher inside the real binary: a signed delivery becomes a container
// on the real Docker daemon; the jobs API and `labelrun jobs` steer it; a
// SIGKILL in the middle of a job loses nothing and repeats nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
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
using namespace std::chrono_literals;

constexpr char kToken[] = "test-api-token-0123456789";

std::string Labeled(int issue, const std::string& guid_repo = "acme/vision") {
  return R"({"action":"labeled","label":{"name":"task:training"},"issue":{"number":)" +
         std::to_string(issue) +
         R"(,"state":"open","title":"t","body":null,"labels":[{"name":"task:training"}]},)"
         R"("repository":{"id":1,"full_name":")" +
         guid_repo + R"("},"sender":{"login":"alice","type":"User"}})";
}

class ServeJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rt = ConnectTestDocker();
    ASSERT_TRUE(rt) << rt.error().message();
    ASSERT_EQ(EnsureTestImage(**rt), "");
    docker_ = std::move(*rt);
    repo_ = dir_.path() / "repo";
    std::filesystem::create_directories(repo_);
    std::ofstream(repo_ / "train.sh")
        << "for i in 1 2 3 4 5 6 7 8; do echo \"epoch $i loss=0.$((9 - i))\"; sleep 0.4; done\n"
           "echo finished\n";
    std::ofstream(dir_.path() / "api-token") << kToken << "\n";
  }

  void TearDown() override {
    if (docker_) {
      std::ifstream in(dir_.path() / "state" / "instance-id");
      std::string instance;
      if (std::getline(in, instance)) {
        if (auto left = docker_->List({{"labelrun.instance", instance}})) {
          for (const auto& c : *left) (void)docker_->Remove(c.id);
        }
      }
    }
  }

  LabelrunProcess::Options Options(const std::string& command) {
    LabelrunProcess::Options o;
    o.extra_yaml = "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
                   "/LABELS.md\n"
                   "rules:\n"
                   "  - name: train\n"
                   "    when: {all: [task:training]}\n"
                   "    job: {image: \"" +
                   std::string(kTestImage) + "\", command: [sh, -c, \"" + command +
                   "\"]}\n"
                   "sources: {default_dir: " +
                   repo_.string() +
                   "}\n"
                   "api: {token_file: " +
                   (dir_.path() / "api-token").string() + "}\n";
    return o;
  }

  json Api(LabelrunProcess& server, const std::string& method, const std::string& path,
           long* status = nullptr) {
    HttpResponse r =
        HttpRequest(method, server.Url(path), {std::string("Authorization: Bearer ") + kToken}, "");
    if (status) *status = r.status;
    return json::parse(r.body, nullptr, false);
  }

  // The first job of the list, once one is there.
  json WaitForJob(LabelrunProcess& server, const std::function<bool(const json&)>& pred,
                  std::chrono::seconds timeout = 60s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    json last;
    while (std::chrono::steady_clock::now() < until) {
      json list = Api(server, "GET", "/api/jobs");
      if (list.is_object() && !list["jobs"].empty()) {
        last = list["jobs"][0];
        if (pred(last)) return last;
      }
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "timed out; last: " << last.dump() << "\n" << server.Log();
    return last;
  }

  TempDir dir_;
  std::filesystem::path repo_;
  std::unique_ptr<runtime::DockerRuntime> docker_;
};

TEST_F(ServeJobsTest, ALabelRunsAJobThatTheApiShows) {
  LabelrunProcess server(dir_, Options("sh train.sh"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "run-1", Labeled(7)).status, 202);
  json done = WaitForJob(server, [](const json& j) { return j["state"] == "succeeded"; });
  EXPECT_EQ(done["repository"], "acme/vision");
  EXPECT_EQ(done["issue"], 7);
  EXPECT_EQ(done["rule"], "train");
  EXPECT_EQ(done["exit_code"], 0);
  EXPECT_EQ(done["sender"], "alice");
  long status = 0;
  json shown = Api(server, "GET", "/api/jobs/" + done["id"].get<std::string>(), &status);
  EXPECT_EQ(status, 200);
  ASSERT_TRUE(shown["events"].is_array());
  EXPECT_EQ(shown["events"].back()["state"], "succeeded");
  // Without the token, or with a wrong one: 401.
  EXPECT_EQ(HttpRequest("GET", server.Url("/api/jobs"), {}, "").status, 401);
  EXPECT_EQ(HttpRequest("GET", server.Url("/api/jobs"), {"Authorization: Bearer nope"}, "").status,
            401);
  Api(server, "GET", "/api/jobs/j0123456789", &status);
  EXPECT_EQ(status, 404);
  // What is not a job id is refused as such, before the store or a file sees it.
  for (const std::string bad : {"jnothere", "%2e%2e", "j0123456789%2F..", "J0123456789"}) {
    json err = Api(server, "GET", "/api/jobs/" + bad, &status);
    EXPECT_EQ(status, 400) << bad;
    EXPECT_THAT(err.value("error", ""), ::testing::HasSubstr("not a job id")) << bad;
    Api(server, "GET", "/api/jobs/" + bad + "/comment", &status);
    EXPECT_EQ(status, 400) << bad;
  }
  // The same delivery again is not a second job.
  EXPECT_EQ(server.Deliver("issues", "run-1", Labeled(7)).status, 200);
  EXPECT_EQ(Api(server, "GET", "/api/jobs")["jobs"].size(), 1u);
  // /metrics counts the job once, by rule and outcome, with its run time (the
  // store has the final state a moment before the observers hear of it).
  std::string metrics;
  WaitUntil(
      [&] {
        metrics = HttpRequest("GET", server.Url("/metrics"), {}, "").body;
        return metrics.find("\nlabelrun_job_duration_seconds_count 1\n") != std::string::npos;
      },
      std::chrono::seconds(10));
  EXPECT_THAT(metrics,
              ::testing::HasSubstr(
                  "\nlabelrun_jobs_finished_total{rule=\"train\",outcome=\"succeeded\"} 1\n"));
  EXPECT_THAT(metrics, ::testing::HasSubstr("\nlabelrun_job_duration_seconds_count 1\n"));
  EXPECT_THAT(metrics, ::testing::HasSubstr("\nlabelrun_job_queue_wait_seconds_count 1\n"));
}

TEST_F(ServeJobsTest, TheJobsCommandListsShowsAndCancels) {
  LabelrunProcess server(dir_, Options("echo started; sleep 120"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "cancel-1", Labeled(8)).status, 202);
  json running = WaitForJob(server, [](const json& j) { return j["state"] == "running"; });
  const std::string id = running["id"];
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  const std::string token_file = (dir_.path() / "api-token").string();
  std::string out;
  ASSERT_EQ(RunCommand({LABELRUN_BINARY, "jobs", "--url", base, "--token-file", token_file, "list"},
                       &out),
            0)
      << out;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_NE(out.find("running"), std::string::npos) << out;
  ASSERT_EQ(
      // The options may follow the subcommand too, as a person types it.
      RunCommand({LABELRUN_BINARY, "jobs", "show", id, "--url", base, "--token-file", token_file},
                 &out),
      0)
      << out;
  EXPECT_NE(out.find("acme/vision"), std::string::npos) << out;
  ASSERT_EQ(
      RunCommand({LABELRUN_BINARY, "jobs", "--url", base, "--token-file", token_file, "cancel", id},
                 &out),
      0)
      << out;
  json done = WaitForJob(server, [](const json& j) { return j["state"] == "cancelled"; });
  EXPECT_EQ(done["reason"], "cancelled by the jobs API");
  // Cancelling it again: the API says it is over, and the command fails.
  EXPECT_EQ(
      RunCommand({LABELRUN_BINARY, "jobs", "--url", base, "--token-file", token_file, "cancel", id},
                 &out),
      1);
  EXPECT_NE(out.find("409"), std::string::npos) << out;
  // A wrong token is refused.
  std::ofstream(dir_.path() / "wrong-token") << "nope\n";
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "jobs", "--url", base, "--token-file",
                        (dir_.path() / "wrong-token").string(), "list"},
                       &out),
            1);
  EXPECT_NE(out.find("401"), std::string::npos) << out;
}

TEST_F(ServeJobsTest, SigkillMidJobThenRestartFinishesItOnce) {
  LabelrunProcess server(dir_, Options("sh train.sh"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "kill-1", Labeled(9)).status, 202);
  json running = WaitForJob(server, [](const json& j) { return j["state"] == "running"; });
  const std::string id = running["id"];
  std::this_thread::sleep_for(1500ms);
  server.process().Signal(SIGKILL);
  ASSERT_EQ(server.process().Wait(5s), 128 + SIGKILL);
  std::this_thread::sleep_for(1s);  // the container goes on printing meanwhile
  server.Restart();
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  json done = WaitForJob(server, [](const json& j) { return j["state"] == "succeeded"; });
  EXPECT_EQ(done["id"], id);
  // Every line once, in order.
  std::ifstream log(dir_.path() / "state" / "jobs" / id / "log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);)
    lines.push_back(line.substr(line.find(" o ") + 3));
  std::vector<std::string> expected;
  for (int i = 1; i <= 8; ++i)
    expected.push_back("epoch " + std::to_string(i) + " loss=0." + std::to_string(9 - i));
  expected.push_back("finished");
  EXPECT_EQ(lines, expected);
  // One final state in the history.
  long status = 0;
  json shown = Api(server, "GET", "/api/jobs/" + id, &status);
  int finals = 0;
  for (const json& e : shown["events"]) finals += e["state"] == "succeeded";
  EXPECT_EQ(finals, 1) << shown.dump(2);
  // The container goes right after the final state is stored.
  for (int i = 0; i < 100 && !docker_->List({{"labelrun.job", id}})->empty(); ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(docker_->List({{"labelrun.job", id}})->empty());
}

}  // namespace
}  // namespace labelrun::testing
