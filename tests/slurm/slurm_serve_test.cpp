// The real binary with a `kind: slurm` host on the private test cluster, the
// local Docker daemon as the launcher: signed deliveries become Slurm jobs that
// run busybox containers; pending reasons, cancel by unlabel, timeout, failure,
// a SIGKILL of labelrun mid-run and while a job is pending, two GPU jobs sharing
// a two-GPU node, outputs (and the symlinks a job plants among them), GPU
// readings from a fake nvidia-smi on the node and the idle-GPU guard; comments
// on the loopback GitHub where a test starts it, else the local comment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "labelrun/core/clock.hpp"
#include "labelrun/runtime/slurm.hpp"
#include "support/docker_env.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/issue_timeline.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/slurm_cluster.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kToken[] = "slurm-api-token-0123456789";
constexpr char kDashToken[] = "slurm-dashboard-token-3f1c";
constexpr char kAppId[] = "4343";
constexpr int64_t kInstallation = 52;

std::string Delivery(int issue, const std::string& action,
                     const std::vector<std::string>& labels = {"task:training"}) {
  json issue_labels = json::array();
  for (const std::string& l : labels) issue_labels.push_back({{"name", l}});
  json payload = {{"action", action},
                  {"label", {{"name", "task:training"}}},
                  {"issue",
                   {{"number", issue},
                    {"state", "open"},
                    {"title", "t"},
                    {"body", nullptr},
                    {"labels", issue_labels}}},
                  {"repository", {{"id", 1}, {"full_name", "acme/vision"}}},
                  {"sender", {{"login", "alice"}, {"type", "User"}}},
                  {"installation", {{"id", kInstallation}}}};
  return payload.dump();
}

class SlurmServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const SlurmCluster& cluster = TestSlurmCluster();
    ASSERT_EQ(cluster.error, "");
    auto docker = ConnectTestDocker();
    ASSERT_TRUE(docker) << docker.error().message();
    ASSERT_EQ(EnsureTestImage(**docker), "");
    docker_ = std::move(*docker);
    repo_ = dir_.path() / "repo";
    std::filesystem::create_directories(repo_);
    std::ofstream(repo_ / "train.sh")
        << "echo \"gpus=${CUDA_VISIBLE_DEVICES:-none}\"\n"
           "for i in 1 2 3 4 5 6; do echo \"epoch $i loss=0.$((9 - i))\"; sleep 0.5; done\n"
           "echo finished\n";
    std::ofstream(dir_.path() / "api-token") << kToken << "\n";
    std::ofstream(dir_.path() / "dashboard-token") << kDashToken << "\n";
  }

  // The loopback GitHub: an App whose installation covers acme/vision, where
  // alice may write. Options then point labelrun at it.
  void StartGithub() {
    FakeGithub::Options options;
    options.app_issuer = kAppId;
    options.public_key_pem = AppTestKey().public_pem;
    github_ = std::make_unique<FakeGithub>(options, SystemClock::Instance());
    github_->SetPermission("acme/vision", "alice", "write");
    dir_.Write("app.pem", AppTestKey().pkcs8_pem);
    std::filesystem::permissions(dir_.path() / "app.pem", std::filesystem::perms::owner_read |
                                                              std::filesystem::perms::owner_write);
  }

  // A fake nvidia-smi first on labelrun's PATH (which `srun --export=PATH`
  // hands to the job step on the node): it answers the runtime's query with
  // the GPUs Slurm gave the step, at the utilisation in gpu-util.
  void FakeNvidiaSmi(int utilization) {
    std::filesystem::create_directories(dir_.path() / "bin");
    SetGpuUtilization(utilization);
    const std::filesystem::path script = dir_.path() / "bin" / "nvidia-smi";
    std::ofstream(script)
        << "#!/bin/sh\n"
           "[ \"$*\" = \"--query-gpu=index,utilization.gpu,memory.used,memory.total "
           "--format=csv,noheader,nounits\" ] || { echo \"unexpected: $*\" >&2; exit 2; }\n"
           "echo \"$*\" >> "
        << (dir_.path() / "nvidia-smi.calls").string()
        << "\n"
           "for i in $(echo \"${SLURM_STEP_GPUS:-none}\" | tr , ' '); do\n"
           "  echo \"$i, $(cat "
        << (dir_.path() / "gpu-util").string()
        << "), 2048, 81920\"\n"
           "done\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    env_["PATH"] = (dir_.path() / "bin").string() + ":" + std::getenv("PATH");
  }
  void SetGpuUtilization(int utilization) {
    std::ofstream(dir_.path() / "gpu-util") << utilization << "\n";
  }

  void TearDown() override {
    std::string out;
    // A test that took the node down brings it back whatever happened.
    if (node_down_) {
      (void)RunSlurm({"scontrol", "update", "nodename=localhost", "state=resume"}, &out);
      WaitUntil(
          [&] {
            RunSlurm({"sinfo", "-h", "-o", "%T"}, &out);
            // "idle*": back, but not yet answering.
            return out == "idle\n" || out == "mixed\n";
          },
          30s);
    }
    // Nothing of this test stays in the cluster or on the daemon.
    if (!instance().empty()) {
      (void)RunSlurm({"scancel", "--partition=gpu"}, &out);
    }
    if (docker_) {
      if (auto left = docker_->List({})) {
        for (const auto& c : *left) {
          if (c.name.rfind("labelrun-slurm-", 0) == 0) (void)docker_->Remove(c.id);
        }
      }
    }
  }

  std::string instance() const {
    std::ifstream in(dir_.path() / "state" / "instance-id");
    std::string id;
    std::getline(in, id);
    return id;
  }

  // A rule `train` on task:training that runs `command` in kTestImage through Slurm.
  LabelrunProcess::Options Options(const std::string& command, const std::string& job_yaml = "") {
    LabelrunProcess::Options o;
    const std::string docker_host = TestDockerUrl();
    o.extra_yaml =
        "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
        "/LABELS.md\n"
        "rules:\n"
        "  - name: train\n"
        "    when: {all: [task:training]}\n"
        "    job: {image: \"" +
        std::string(kTestImage) + "\", command: [sh, -c, \"" + command + "\"]" + job_yaml +
        "}\n"
        "sources: {default_dir: " +
        repo_.string() +
        "}\n"
        "api: {token_file: " +
        (dir_.path() / "api-token").string() +
        "}\n"
        "dashboard: {token_file: " +
        (dir_.path() / "dashboard-token").string() +
        "}\n"
        "scheduler: {" +
        scheduler_yaml_ + "}\n" + GithubYaml() +
        "hosts:\n"
        "  - name: cluster\n"
        "    kind: slurm\n"
        "    slurm:\n"
        "      partition: gpu\n"
        "      shared_dir: " +
        (dir_.path() / "shared").string() +
        "\n"
        "      conf: " +
        TestSlurmCluster().slurm_conf +
        "\n"
        "      launcher: [docker, -H, \"" +
        docker_host +
        "\", run, --rm, --init, --name, \"labelrun-slurm-{name}\", --env-file, \"{env_file}\", "
        "-e, \"CUDA_VISIBLE_DEVICES={gpus}\", -v, \"{workdir}:/workspace\", -w, /workspace, "
        "\"{image}\", \"{command}\"]\n";
    o.env = env_;
    return o;
  }

  // Comments link the job's pages on this public URL.
  std::string GithubYaml() const {
    std::string report = "report: {public_url: \"https://labelrun.example.com\"";
    if (!github_) return report + "}\n";
    return report + ", update_interval: 1s}\ngithub:\n  api_url: " + github_->url() +
           "\n  app_id: \"" + kAppId +
           "\"\n  private_key_file: " + (dir_.path() / "app.pem").string() + "\n";
  }

  // A page of the dashboard, signed in with its token.
  HttpResponse Page(LabelrunProcess& server, const std::string& path) {
    return HttpRequest("GET", server.Url(path),
                       {std::string("Authorization: Bearer ") + kDashToken}, "");
  }

  // The job's events, "state: detail" each.
  std::vector<std::string> Events(LabelrunProcess& server, const std::string& id) {
    std::vector<std::string> out;
    json shown = Api(server, "/api/jobs/" + id);
    if (!shown.is_object()) return out;
    for (const json& e : shown["events"]) {
      out.push_back(e["state"].get<std::string>() + ": " + e["detail"].get<std::string>());
    }
    return out;
  }

  // The comments labelrun wrote on acme/vision `issue` of the loopback GitHub.
  std::vector<FakeComment> GithubComments(int issue) const {
    return github_->Comments("acme/vision", issue);
  }

  // The one comment of `issue` on the loopback GitHub once it shows `needle`.
  std::string WaitGithubComment(int issue, const std::string& needle,
                                std::chrono::seconds timeout = 60s) {
    std::string body;
    WaitUntil(
        [&] {
          auto comments = GithubComments(issue);
          if (comments.empty()) return false;
          body = comments.back().body;
          return body.find(needle) != std::string::npos;
        },
        timeout);
    return body;
  }

  json Api(LabelrunProcess& server, const std::string& path, long* status = nullptr) {
    HttpResponse r =
        HttpRequest("GET", server.Url(path), {std::string("Authorization: Bearer ") + kToken}, "");
    if (status) *status = r.status;
    return json::parse(r.body, nullptr, false);
  }

  std::string Comment(LabelrunProcess& server, const std::string& id) {
    return HttpRequest("GET", server.Url("/api/jobs/" + id + "/comment"),
                       {std::string("Authorization: Bearer ") + kToken}, "")
        .body;
  }

  // The job's comment once it holds `needle` (the comment follows the job a moment later).
  std::string WaitComment(LabelrunProcess& server, const std::string& id, const std::string& needle,
                          std::chrono::seconds timeout = 30s) {
    std::string comment;
    WaitUntil(
        [&] {
          comment = Comment(server, id);
          return comment.find(needle) != std::string::npos;
        },
        timeout);
    return comment;
  }

  // The job on `issue`, once `pred` holds for it.
  json WaitForJob(LabelrunProcess& server, int issue, const std::function<bool(const json&)>& pred,
                  std::chrono::seconds timeout = 90s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    json last;
    while (std::chrono::steady_clock::now() < until) {
      json list = Api(server, "/api/jobs");
      if (list.is_object()) {
        for (const json& j : list["jobs"]) {
          if (j["issue"] != issue) continue;
          last = j;
          if (pred(j)) return j;
        }
      }
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "timed out; last: " << last.dump() << "\n" << server.Log();
    return last;
  }

  // Slurm's accounting of the job that ran labelrun job `id`.
  std::string SlurmState(const std::string& id) {
    std::string out;
    RunSlurm({"sacct", "-X", "-P", "-n", "-o", "State", "--name=labelrun-" + id}, &out);
    return std::string(out.substr(0, out.find('\n')));
  }

  // slurmdbd records a job's end a moment after the job has left squeue.
  std::string AccountedState(const std::string& id) {
    std::string state;
    WaitUntil(
        [&] {
          state = SlurmState(id);
          return !state.empty() && state != "RUNNING" && state != "PENDING";
        },
        20s);
    return state;
  }

  TempDir dir_;
  std::filesystem::path repo_;
  std::unique_ptr<runtime::DockerRuntime> docker_;
  std::string scheduler_yaml_ = "stop_grace: 3s";
  bool node_down_ = false;
  std::map<std::string, std::string> env_;
  std::unique_ptr<FakeGithub> github_;
};

TEST_F(SlurmServeTest, ACpuJobRunsAndItsLogAndMetricsReachTheComment) {
  StartGithub();
  LabelrunProcess server(dir_, Options("sh train.sh"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-1", Delivery(1, "labeled")).status, 202);
  json done = WaitForJob(server, 1, [](const json& j) { return j["state"] == "succeeded"; });
  ASSERT_EQ(done["state"], "succeeded") << server.Log();
  EXPECT_EQ(done["exit_code"], 0);
  EXPECT_EQ(done["host"], "cluster");
  const std::string id = done["id"];
  // What the maintainer sees: one comment on the issue, edited through the job's
  // states, with the status labels after each.
  const std::string comment = WaitGithubComment(1, "**Succeeded**");
  ASSERT_EQ(GithubComments(1).size(), 1u);
  EXPECT_THAT(comment, HasSubstr("<!-- labelrun:job=" + id));
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto labels = github_->IssueLabels("acme/vision", 1);
        return std::count(labels.begin(), labels.end(), "status:done") == 1;
      },
      30s));
  const auto writes = IssueWrites(github_->Requests(), "acme/vision", 1);
  EXPECT_EQ(CheckJobTimeline(writes, "Succeeded"), "") << DescribeWrites(writes);
  EXPECT_THAT(comment, HasSubstr("**Succeeded**"));
  EXPECT_THAT(comment, ::testing::Not(HasSubstr("`labelrun-test/busybox:1` `")));
  EXPECT_THAT(comment, HasSubstr("epoch 6 loss=0.3"));
  EXPECT_THAT(comment, HasSubstr("finished"));
  EXPECT_THAT(comment, HasSubstr("gpus=none"));
  EXPECT_THAT(comment, HasSubstr("| `loss` | 0.8 | 0.3 |")) << comment;
  EXPECT_EQ(AccountedState(id), "COMPLETED");
  // The job's folder on shared storage goes once it is recorded.
  EXPECT_TRUE(
      WaitUntil([&] { return !std::filesystem::exists(dir_.path() / "shared" / id); }, 10s));
}

TEST_F(SlurmServeTest, AWaitingJobShowsSlurmsReasonThenTheGpusItGot) {
  std::string out;
  ASSERT_EQ(RunSlurm({"sbatch", "--parsable", "--gres=gpu:2", "--wrap=sleep 120",
                      "--output=/dev/null", "--job-name=blocker"},
                     &out),
            0)
      << out;
  const std::string blocker(out.substr(0, out.find('\n')));
  LabelrunProcess server(dir_, Options("sh train.sh", ", gpus: 1"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-2", Delivery(2, "labeled")).status, 202);
  json waiting = WaitForJob(server, 2, [](const json& j) {
    return j["reason"].is_string() &&
           j["reason"].get<std::string>().find("Resources") != std::string::npos;
  });
  EXPECT_EQ(waiting["state"], "starting");
  const std::string id = waiting["id"];
  EXPECT_THAT(WaitComment(server, id, "waiting in the cluster's queue"),
              HasSubstr("waiting in the cluster's queue (position 1): Resources: the GPUs"));
  ASSERT_EQ(RunSlurm({"scancel", blocker}, &out), 0) << out;
  json done = WaitForJob(server, 2, [](const json& j) { return j["state"] == "succeeded"; });
  ASSERT_EQ(done["gpus"].size(), 1u) << done.dump();
  const std::string gpu = done["gpus"][0];
  EXPECT_TRUE(gpu == "0" || gpu == "1") << gpu;
  EXPECT_THAT(WaitComment(server, id, "**Succeeded**"), HasSubstr("gpus=" + gpu));
}

TEST_F(SlurmServeTest, UnlabelCancelsTheSlurmJob) {
  LabelrunProcess server(dir_, Options("echo started; sleep 300"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-3", Delivery(3, "labeled")).status, 202);
  json running = WaitForJob(server, 3, [](const json& j) { return j["state"] == "running"; });
  const std::string id = running["id"];
  ASSERT_TRUE(
      WaitUntil([&] { return Comment(server, id).find("started") != std::string::npos; }, 30s));
  ASSERT_EQ(server.Deliver("issues", "s-3b", Delivery(3, "unlabeled", {})).status, 202);
  json done = WaitForJob(
      server, 3, [](const json& j) { return j["state"] == "cancelled"; }, 30s);
  EXPECT_THAT(done["reason"].get<std::string>(), HasSubstr("cancelled by"));
  // Slurm's job ended too, within the grace.
  std::string state;
  EXPECT_TRUE(WaitUntil(
      [&] {
        state = SlurmState(id);
        return !state.empty() && state != "RUNNING";
      },
      20s))
      << state;
}

TEST_F(SlurmServeTest, AJobPastItsTimeoutIsStopped) {
  LabelrunProcess server(dir_, Options("echo started; sleep 300", ", timeout: 4s"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-4", Delivery(4, "labeled")).status, 202);
  json done = WaitForJob(
      server, 4, [](const json& j) { return j["state"] == "timed_out"; }, 60s);
  EXPECT_THAT(done["reason"].get<std::string>(), HasSubstr("timeout of 4s"));
  const std::string id = done["id"];
  std::string state;
  EXPECT_TRUE(WaitUntil(
      [&] {
        state = SlurmState(id);
        return !state.empty() && state != "RUNNING";
      },
      20s))
      << state;
}

TEST_F(SlurmServeTest, AFailingJobReportsItsExitCode) {
  LabelrunProcess server(dir_, Options("echo 'Traceback: boom'; exit 3"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-5", Delivery(5, "labeled")).status, 202);
  json done = WaitForJob(server, 5, [](const json& j) { return j["state"] == "failed"; });
  EXPECT_EQ(done["exit_code"], 3);
  EXPECT_EQ(done["reason"], "exited with code 3");
  EXPECT_THAT(WaitComment(server, done["id"], "**Failed**"), HasSubstr("boom"));
  EXPECT_EQ(AccountedState(done["id"]), "FAILED");
}

TEST_F(SlurmServeTest, SigkillMidJobThenRestartReportsItOnceFromAccounting) {
  StartGithub();
  LabelrunProcess server(dir_, Options("sh train.sh"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-6", Delivery(6, "labeled")).status, 202);
  json running = WaitForJob(server, 6, [](const json& j) { return j["state"] == "running"; });
  const std::string id = running["id"];
  ASSERT_TRUE(
      WaitUntil([&] { return Comment(server, id).find("epoch 1 ") != std::string::npos; }, 30s));
  server.process().Signal(SIGKILL);
  ASSERT_EQ(server.process().Wait(5s), 128 + SIGKILL);
  // The job goes on printing, and ends, while labelrun is down: its outcome comes
  // from accounting (slurmctld forgets ended jobs after MinJobAge=2 s here).
  std::string state;
  ASSERT_TRUE(WaitUntil(
      [&] {
        state = SlurmState(id);
        return state == "COMPLETED";
      },
      30s))
      << state;
  std::this_thread::sleep_for(3s);
  server.Restart();
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  json done = WaitForJob(server, 6, [](const json& j) { return j["state"] == "succeeded"; });
  EXPECT_EQ(done["id"], id);
  std::ifstream log(dir_.path() / "state" / "jobs" / id / "log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);)
    lines.push_back(line.substr(line.find(" o ") + 3));
  std::vector<std::string> expected = {"gpus=none"};
  for (int i = 1; i <= 6; ++i)
    expected.push_back("epoch " + std::to_string(i) + " loss=0." + std::to_string(9 - i));
  expected.push_back("finished");
  EXPECT_EQ(lines, expected);
  json shown = Api(server, "/api/jobs/" + id);
  int finals = 0;
  for (const json& e : shown["events"]) finals += e["state"] == "succeeded";
  EXPECT_EQ(finals, 1) << shown.dump(2);
  // On GitHub: still the one comment, now showing the end with the whole log,
  // which it shows once; the end's label is added once.
  const std::string comment = WaitGithubComment(6, "**Succeeded**");
  EXPECT_THAT(comment, HasSubstr("finished"));
  EXPECT_THAT(comment, HasSubstr("| `loss` | 0.8 | 0.3 |"));
  std::this_thread::sleep_for(3s);  // time enough for a second report to show
  EXPECT_EQ(GithubComments(6).size(), 1u);
  const auto writes = IssueWrites(github_->Requests(), "acme/vision", 6);
  const std::vector<std::string> states = CommentStates(writes);
  EXPECT_EQ(std::count(states.begin(), states.end(), "Succeeded"), 1) << DescribeWrites(writes);
  int creates = 0, done_labels = 0;
  for (const IssueWrite& w : writes) {
    creates += w.kind == IssueWrite::Kind::kCommentCreate;
    if (w.kind == IssueWrite::Kind::kAddLabels) {
      done_labels += std::count(w.labels.begin(), w.labels.end(), "status:done");
    }
  }
  EXPECT_EQ(creates, 1) << DescribeWrites(writes);
  EXPECT_EQ(done_labels, 1) << DescribeWrites(writes);
}

TEST_F(SlurmServeTest, TwoOneGpuJobsGetDifferentGpusFromSlurm) {
  LabelrunProcess server(dir_, Options("sh train.sh", ", gpus: 1"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-7", Delivery(7, "labeled")).status, 202);
  ASSERT_EQ(server.Deliver("issues", "s-8", Delivery(8, "labeled")).status, 202);
  json a = WaitForJob(server, 7, [](const json& j) { return j["state"] == "succeeded"; });
  json b = WaitForJob(server, 8, [](const json& j) { return j["state"] == "succeeded"; });
  ASSERT_EQ(a["gpus"].size(), 1u) << a.dump();
  ASSERT_EQ(b["gpus"].size(), 1u) << b.dump();
  EXPECT_NE(a["gpus"][0], b["gpus"][0]);
  // Each container saw the GPU Slurm gave its job.
  EXPECT_THAT(WaitComment(server, a["id"], "**Succeeded**"),
              HasSubstr("gpus=" + a["gpus"][0].get<std::string>()));
  EXPECT_THAT(WaitComment(server, b["id"], "**Succeeded**"),
              HasSubstr("gpus=" + b["gpus"][0].get<std::string>()));
}

TEST_F(SlurmServeTest, AJobsOutputsReachItsPageAndItsSymlinksAreNotFollowed) {
  // The job plants symlinks to a file of the machine and to labelrun's own API
  // token, beside the files it means to hand back.
  const std::string token_file = (dir_.path() / "api-token").string();
  StartGithub();
  LabelrunProcess server(
      dir_, Options("mkdir -p outputs/plots && echo weights-1 > outputs/model.txt && "
                    "echo curve > outputs/plots/loss.txt && ln -s /etc/shadow outputs/shadow && "
                    "ln -s " +
                        token_file + " outputs/token && ln -s " + dir_.path().string() +
                        " outputs/up && echo written",
                    ", outputs: /workspace/outputs"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-10", Delivery(10, "labeled")).status, 202);
  json done = WaitForJob(server, 10, [](const json& j) { return j["state"] == "succeeded"; });
  ASSERT_EQ(done["state"], "succeeded") << server.Log();
  const std::string id = done["id"];
  const std::vector<std::string> events = Events(server, id);
  ASSERT_FALSE(events.empty());
  EXPECT_THAT(events.back(), HasSubstr("outputs collected"));
  EXPECT_THAT(events.back(), HasSubstr("left out 3 entries"));
  EXPECT_THAT(events.back(), HasSubstr("'/workspace/outputs/token' (a symlink)"));

  HttpResponse index = Page(server, "/jobs/" + id + "/outputs");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_THAT(index.body, HasSubstr("/jobs/" + id + "/outputs/model.txt"));
  EXPECT_THAT(index.body, HasSubstr("/jobs/" + id + "/outputs/plots/loss.txt"));
  EXPECT_THAT(index.body, ::testing::Not(HasSubstr("outputs/token")));
  EXPECT_THAT(index.body, ::testing::Not(HasSubstr("outputs/shadow")));
  HttpResponse model = Page(server, "/jobs/" + id + "/outputs/model.txt");
  EXPECT_EQ(model.status, 200);
  EXPECT_EQ(model.body, "weights-1\n");
  EXPECT_EQ(Page(server, "/jobs/" + id + "/outputs/token").status, 404);
  EXPECT_EQ(Page(server, "/jobs/" + id + "/outputs/up/api-token").status, 404);
  // Nothing outside the job's folder was read into the archive.
  std::ifstream in(dir_.path() / "state" / "jobs" / id / "outputs.tar", std::ios::binary);
  const std::string tar{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_FALSE(tar.empty());
  EXPECT_EQ(tar.find(kToken), std::string::npos);
  EXPECT_EQ(tar.find("root:"), std::string::npos);
  EXPECT_EQ(tar.find(token_file), std::string::npos);
  EXPECT_NE(tar.find("weights-1"), std::string::npos);
  // The comment on the issue links the outputs as a Docker job's does.
  EXPECT_THAT(WaitGithubComment(10, "**Succeeded**"),
              HasSubstr("https://labelrun.example.com/jobs/" + id + "/outputs?exp="));
}

TEST_F(SlurmServeTest, AnOutputsFolderThatIsASymlinkIsRefused) {
  LabelrunProcess server(dir_, Options("ln -s " + dir_.path().string() + " outputs && echo linked",
                                       ", outputs: /workspace/outputs"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-11", Delivery(11, "labeled")).status, 202);
  json done = WaitForJob(server, 11, [](const json& j) { return j["state"] == "succeeded"; });
  ASSERT_EQ(done["state"], "succeeded") << server.Log();
  const std::string id = done["id"];
  const std::vector<std::string> events = Events(server, id);
  ASSERT_FALSE(events.empty());
  EXPECT_THAT(events.back(), HasSubstr("no outputs collected: /workspace/outputs is a symlink"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state" / "jobs" / id / "outputs.tar"));
  EXPECT_EQ(Page(server, "/jobs/" + id + "/outputs").status, 404);
}

TEST_F(SlurmServeTest, AJobPendingAtARestartWaitsWithItsReasonThenRunsOnce) {
  std::string out;
  ASSERT_EQ(RunSlurm({"sbatch", "--parsable", "--gres=gpu:2", "--wrap=sleep 120",
                      "--output=/dev/null", "--job-name=blocker"},
                     &out),
            0)
      << out;
  const std::string blocker(out.substr(0, out.find('\n')));
  // Its timeout (12 s) is shorter than its wait (over 14 s): it counts from its start
  // only. The 3 s job has the rest for its container to start on a busy machine.
  LabelrunProcess server(dir_, Options("sh train.sh", ", gpus: 1, timeout: 12s"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-12", Delivery(12, "labeled")).status, 202);
  json waiting = WaitForJob(server, 12, [](const json& j) {
    return j["reason"].is_string() &&
           j["reason"].get<std::string>().find("Resources") != std::string::npos;
  });
  const std::string id = waiting["id"];
  server.process().Signal(SIGKILL);
  ASSERT_EQ(server.process().Wait(5s), 128 + SIGKILL);
  server.Restart();
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  // Found again still waiting: shown so, with Slurm's reason, past its timeout.
  const auto until = std::chrono::steady_clock::now() + 14s;
  while (std::chrono::steady_clock::now() < until) {
    json j = Api(server, "/api/jobs/" + id);
    ASSERT_EQ(j["state"], "starting") << j.dump(2) << server.Log();
    EXPECT_THAT(j["reason"].get<std::string>(),
                HasSubstr("waiting in the cluster's queue (position 1): Resources"));
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_THAT(WaitComment(server, id, "waiting in the cluster's queue"),
              HasSubstr("waiting in the cluster's queue (position 1): Resources"));
  ASSERT_EQ(RunSlurm({"scancel", blocker}, &out), 0) << out;
  json done = WaitForJob(server, 12, [](const json& j) { return j["state"] == "succeeded"; });
  ASSERT_EQ(done["state"], "succeeded") << done.dump(2) << server.Log();
  ASSERT_EQ(done["gpus"].size(), 1u) << done.dump();
  EXPECT_THAT(WaitComment(server, id, "**Succeeded**"),
              HasSubstr("gpus=" + done["gpus"][0].get<std::string>()));
  const std::vector<std::string> events = Events(server, id);
  int started = 0, finals = 0;
  for (const std::string& e : events) {
    started += e.rfind("running: started on cluster", 0) == 0;
    finals += e.rfind("succeeded:", 0) == 0;
    EXPECT_EQ(e.find("found after a labelrun restart"), std::string::npos) << e;
  }
  EXPECT_EQ(started, 1) << ::testing::PrintToString(events);
  EXPECT_EQ(finals, 1) << ::testing::PrintToString(events);
}

TEST_F(SlurmServeTest, GpuReadingsFromTheJobsNodeReachTheComment) {
  FakeNvidiaSmi(73);
  scheduler_yaml_ = "stop_grace: 3s, gpu_sample_interval: 1s";
  LabelrunProcess server(
      dir_, Options("for i in 1 2 3 4 5 6 7 8; do echo step $i; sleep 1; done", ", gpus: 1"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-13", Delivery(13, "labeled")).status, 202);
  json running = WaitForJob(server, 13, [](const json& j) { return j["state"] == "running"; });
  const std::string id = running["id"];
  json readings;
  ASSERT_TRUE(WaitUntil(
      [&] {
        readings = Api(server, "/api/jobs/" + id)["gpu_readings"];
        return readings.is_array() && !readings.empty();
      },
      20s))
      << server.Log();
  ASSERT_EQ(readings.size(), 1u) << readings.dump();
  EXPECT_EQ(readings[0]["gpu"], running["gpus"][0]) << readings.dump();
  EXPECT_EQ(readings[0]["utilization_percent"], 73);
  EXPECT_EQ(readings[0]["memory_total_mib"], 81920);
  json done = WaitForJob(server, 13, [](const json& j) { return j["state"] == "succeeded"; });
  ASSERT_EQ(done["state"], "succeeded") << server.Log();
  const std::string comment = WaitComment(server, id, "**Succeeded**");
  EXPECT_THAT(comment, HasSubstr("#### GPU utilisation"));
  EXPECT_THAT(comment, HasSubstr("| 73% | 73% |")) << comment;
}

TEST_F(SlurmServeTest, AJobWhoseGpuStaysIdleIsStoppedWithScancel) {
  FakeNvidiaSmi(0);
  scheduler_yaml_ =
      "stop_grace: 3s, gpu_sample_interval: 1s, idle_gpu: {below_percent: 5, for: 3s}";
  LabelrunProcess server(dir_, Options("echo started; sleep 300", ", gpus: 1"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-14", Delivery(14, "labeled")).status, 202);
  json done = WaitForJob(
      server, 14, [](const json& j) { return j["state"] == "failed"; }, 60s);
  ASSERT_EQ(done["state"], "failed") << server.Log();
  EXPECT_EQ(done["reason"], "stopped: GPU idle below 5% for 3s");
  const std::string id = done["id"];
  EXPECT_THAT(WaitComment(server, id, "**Failed**"), HasSubstr("GPU idle below 5% for 3s"));
  // Slurm's job ended on labelrun's scancel --signal=TERM, long before its sleep
  // would have: the container's shell died of the signal (FAILED), or the KILL
  // after the grace cancelled it.
  const std::string state = AccountedState(id);
  EXPECT_TRUE(state == "FAILED" || state == "CANCELLED") << state;
}

TEST_F(SlurmServeTest, ANodeFailureEndsTheJobWithSlurmsWords) {
  LabelrunProcess server(dir_, Options("echo started; sleep 300"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "s-15", Delivery(15, "labeled")).status, 202);
  json running = WaitForJob(server, 15, [](const json& j) { return j["state"] == "running"; });
  const std::string id = running["id"];
  ASSERT_TRUE(
      WaitUntil([&] { return Comment(server, id).find("started") != std::string::npos; }, 30s));
  // The node goes down under the job: Slurm ends it as NODE_FAIL (submitted
  // with --no-requeue, it is not run again behind labelrun's back).
  std::string out;
  node_down_ = true;
  ASSERT_EQ(RunSlurm({"scontrol", "update", "nodename=localhost", "state=down",
                      "reason=labelrun-node-fail-test"},
                     &out),
            0)
      << out;
  json done = WaitForJob(
      server, 15, [](const json& j) { return j["state"] == "failed"; }, 60s);
  ASSERT_EQ(done["state"], "failed") << server.Log();
  EXPECT_EQ(done["reason"], "Slurm: NODE_FAIL (the node it ran on failed)");
  const std::string comment = WaitComment(server, id, "**Failed**");
  EXPECT_THAT(comment, HasSubstr("Slurm: NODE\\_FAIL (the node it ran on failed)"));
  // Accounting's 0:0 is no exit code of the job's own: none is shown.
  EXPECT_THAT(comment, ::testing::Not(HasSubstr("| Exit code | 0 |")));
  EXPECT_THAT(comment, HasSubstr("| Exit code | \u2014 |"));
  EXPECT_TRUE(done["exit_code"].is_null()) << done.dump();
  EXPECT_EQ(AccountedState(id), "NODE_FAIL");
}

}  // namespace
}  // namespace labelrun::testing
