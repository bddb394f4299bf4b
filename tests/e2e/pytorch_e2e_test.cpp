// The whole loop on real parts: a signed `issues.labeled` delivery to the real
// labelrun binary, a GitHub App on the loopback GitHub (JWT, installation
// tokens, permission check, repository tarball), a real PyTorch training in a
// container on the real Docker daemon, and what the issue holds afterwards: one
// comment that went queued -> running -> succeeded with the loss values the
// training printed, the status labels, the job page and no container left.
// And the loop's failure paths: a training that raises, a sender with triage
// access only, a `status:blocked` hold, a trigger label removed mid-run.
//
// The image (Debian's python3-torch, CPU) is built by docker/pytorch-cpu/build.sh,
// which scripts/test.sh runs before the tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "labelrun/core/strings.hpp"
#include "support/docker_env.hpp"
#include "support/fake_github.hpp"
#include "support/file_tree.hpp"
#include "support/http_client.hpp"
#include "support/issue_timeline.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kImage[] = "labelrun-test/pytorch-cpu:bookworm-1";
constexpr char kApiToken[] = "e2e-api-token-5b1f";
constexpr char kDashToken[] = "e2e-dashboard-token-77c2";
constexpr char kAppId[] = "4242";
constexpr int64_t kInstallation = 31;
constexpr int kEpochs = 10;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool WaitUntil(const std::function<bool()>& cond, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return cond();
}

size_t Count(const std::string& text, const std::regex& re) {
  return static_cast<size_t>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

// An `issues` delivery for issue 7 of `repo` whose labels are now `labels`.
std::string IssuesDelivery(const std::string& action, const std::string& label,
                           const std::vector<std::string>& labels, const std::string& repo,
                           const std::string& sender) {
  json issue_labels = json::array();
  for (const std::string& l : labels) issue_labels.push_back({{"name", l}});
  json payload = {{"action", action},
                  {"label", {{"name", label}, {"color", "ededed"}}},
                  {"issue",
                   {{"number", 7},
                    {"state", "open"},
                    {"title", "Train the sine model"},
                    {"body", "Loss curve, please."},
                    {"labels", issue_labels}}},
                  {"repository", {{"id", 99}, {"full_name", repo}, {"default_branch", "main"}}},
                  {"sender", {{"login", sender}, {"type", "User"}}},
                  {"installation", {{"id", kInstallation}}}};
  return payload.dump();
}

// The loss values of the training's own JSON lines, in order, as printed.
std::vector<std::string> PrintedLosses(const std::string& log) {
  std::vector<std::string> out;
  std::regex line(R"(\{"epoch": \d+, "loss": ([0-9.e-]+))");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

// Half a unit in the last place of `shown`: how far from the exact value a
// number printed this way may be.
double HalfUlp(const std::string& shown) {
  const size_t dot = shown.find('.');
  const int decimals = dot == std::string::npos ? 0 : static_cast<int>(shown.size() - dot - 1);
  return 0.5 * std::pow(10.0, -decimals) + 1e-12;
}

class PytorchE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto docker = ConnectTestDocker();
    ASSERT_TRUE(docker) << docker.error().message();
    docker_ = std::move(*docker);
    ASSERT_TRUE(docker_->ImageDigest(kImage))
        << kImage << " is missing: build it with docker/pytorch-cpu/build.sh";

    FakeGithub::Options options;
    options.app_issuer = kAppId;
    options.public_key_pem = AppTestKey().public_pem;
    github_ = std::make_unique<FakeGithub>(options, SystemClock::Instance());
    github_->SetPermission("acme/sine", "alice", "write");
    github_->SetPermission("acme/sine", "trina", "triage");
    // Owner-only, as serve requires of the App's key (and warns of for tokens).
    for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
             {"app.pem", AppTestKey().pkcs8_pem},
             {"api-token", std::string(kApiToken) + "\n"},
             {"dashboard-token", std::string(kDashToken) + "\n"}}) {
      std::filesystem::permissions(dir_.Write(name, text), std::filesystem::perms::owner_read |
                                                               std::filesystem::perms::owner_write);
    }
  }

  void TearDown() override {
    if (!docker_) return;
    std::string instance;
    std::ifstream in(dir_.path() / "state" / "instance-id");
    if (!std::getline(in, instance)) return;
    if (auto left = docker_->List({{"labelrun.instance", instance}})) {
      for (const auto& c : *left) (void)docker_->Remove(c.id);
    }
  }

  // Publishes `files` as the head of acme/sine's default branch: a real git
  // commit, served as GitHub serves it (a tarball with one top folder).
  std::string PushRepository(const std::map<std::string, std::string>& files) {
    TempDir work;
    Git(work.path(), {"init", "-q", "-b", "main"});
    for (const auto& [name, content] : files) work.Write(name, content);
    Git(work.path(), {"add", "-A"});
    Git(work.path(), {"commit", "-q", "-m", "training code"});
    const std::string sha = Git(work.path(), {"rev-parse", "HEAD"});
    TempDir out;
    Git(work.path(), {"archive", "--format=tar.gz", "--prefix=acme-sine-" + sha.substr(0, 7) + "/",
                      "-o", (out / "code.tar.gz").string(), sha});
    github_->SetRepository("acme/sine", "main");
    github_->SetBranch("acme/sine", "main", sha);
    github_->SetTarball("acme/sine", sha, ReadFile(out / "code.tar.gz"));
    return sha;
  }

  std::string ExampleTrainPy() {
    return ReadFile(std::filesystem::path(LABELRUN_SOURCE_DIR) / "docker/training/train.py");
  }

  void StartServer() {
    LabelrunProcess::Options options;
    const std::string source_dir = LABELRUN_SOURCE_DIR;
    // The seed's GPU training rule, mapped to CPU for this GPU-less machine by
    // a test-only host selector: the only host is the local daemon, labelled
    // `e2e: cpu`, and the rule asks for no GPU.
    options.extra_yaml = "labels_file: " + source_dir +
                         "/LABELS.md\n"
                         "rules:\n"
                         "  - name: train-on-gpu\n"
                         "    when: {all: [task:training, gpu:required]}\n"
                         "    job:\n"
                         "      image: " +
                         std::string(kImage) +
                         "\n"
                         "      command: [python3, train.py, --device, cpu, --epochs, \"" +
                         std::to_string(kEpochs) +
                         "\"]\n"
                         "      gpus: 0\n"
                         "      memory: 2g\n"
                         "      timeout: 10m\n"
                         "      host_selector: {e2e: cpu}\n"
                         "      outputs: /workspace/outputs\n"
                         "hosts:\n"
                         "  - name: e2e-cpu\n"
                         "    docker: unix:///var/run/docker.sock\n"
                         "    labels: {e2e: cpu}\n"
                         "github:\n"
                         "  api_url: " +
                         github_->url() + "\n  app_id: \"" + kAppId +
                         "\"\n  private_key_file: " + (dir_ / "app.pem").string() +
                         "\napi: {token_file: " + (dir_ / "api-token").string() +
                         "}\ndashboard: {token_file: " + (dir_ / "dashboard-token").string() +
                         "}\nreport: {update_interval: 1s, public_url: "
                         "\"https://labelrun.example.com\"}\n";
    server_ = std::make_unique<LabelrunProcess>(dir_, options);
    ASSERT_TRUE(server_->WaitReady()) << server_->Log();
  }

  int Deliver(const std::string& guid, const std::string& action, const std::string& label,
              const std::vector<std::string>& labels, const std::string& sender = "alice") {
    return server_
        ->Deliver("issues", guid, IssuesDelivery(action, label, labels, "acme/sine", sender))
        .status;
  }

  std::vector<FakeComment> Comments() const { return github_->Comments("acme/sine", 7); }

  // Waits for the single labelrun comment to show `state`; returns its body.
  std::string WaitForComment(const std::string& state, std::chrono::seconds timeout = 300s) {
    std::string body;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto c = Comments();
          if (c.empty()) return false;
          body = c.back().body;
          return body.find(state) != std::string::npos;
        },
        timeout))
        << "no comment showing " << state << "; last: " << body << "\n"
        << server_->Log();
    return body;
  }

  json Api(const std::string& path) {
    HttpResponse r = HttpRequest("GET", server_->Url(path),
                                 {std::string("Authorization: Bearer ") + kApiToken}, "");
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  }

  HttpResponse Page(const std::string& path) {
    return HttpRequest("GET", server_->Url(path),
                       {std::string("Authorization: Bearer ") + kDashToken}, "");
  }

  // The comment and label writes issue 7 received, in order.
  std::vector<IssueWrite> Writes() const {
    return IssueWrites(github_->Requests(), "acme/sine", 7);
  }

  // When the job's container started, from the daemon's own events (ms since
  // the epoch); 0 if no start event is found.
  int64_t ContainerStartMs(const std::string& job_id, int64_t since_ms) {
    std::string out;
    const std::string filters =
        R"({"type":["container"],"event":["start"],"label":["labelrun.job=)" + job_id + R"("]})";
    std::string encoded;
    for (char c : filters) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') {
        encoded += c;
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
        encoded += buf;
      }
    }
    const int64_t now_s = SystemClock::Instance().NowUnixMillis() / 1000 + 1;
    const std::string url = "http://docker/events?since=" + std::to_string(since_ms / 1000 - 1) +
                            "&until=" + std::to_string(now_s) + "&filters=" + encoded;
    if (RunCommand({"/usr/bin/curl", "-s", "--unix-socket", "/var/run/docker.sock", url}, &out) !=
        0) {
      return 0;
    }
    for (std::string_view line : Split(out, '\n')) {
      json e = json::parse(line, nullptr, false);
      if (e.is_object() && e.contains("timeNano")) return e["timeNano"].get<int64_t>() / 1'000'000;
    }
    return 0;
  }

  // Delivers the two trigger labels' completing delivery for a job running
  // `train_py`, waits for its end and checks the story the issue tells: one
  // comment that went Queued -> Running -> `final_state` with each state's labels
  // after its edit. Returns the job id; `timing` gets the measured figures.
  std::string RunAndCheckTimeline(const std::string& train_py, const std::string& final_state,
                                  const std::string& guid, std::string* timing = nullptr) {
    PushRepository({{"train.py", train_py}});
    StartServer();
    const int64_t before = SystemClock::Instance().NowUnixMillis();
    EXPECT_EQ(Deliver(guid, "labeled", "gpu:required", {"task:training", "gpu:required"}), 202);
    const int64_t accepted = SystemClock::Instance().NowUnixMillis();
    const std::string body = WaitForComment(final_state);
    const std::string id = JobId(body);
    // The final state's label writes follow the final edit at the paced rate.
    EXPECT_TRUE(WaitUntil(
        [&] {
          std::vector<std::string> labels = github_->IssueLabels("acme/sine", 7);
          int status = 0;
          for (const std::string& l : labels) status += l.starts_with("status:");
          return status == 1 &&
                 std::count(labels.begin(), labels.end(),
                            final_state == "Succeeded" ? "status:done" : "status:failed") == 1;
        },
        30s))
        << ::testing::PrintToString(github_->IssueLabels("acme/sine", 7));
    std::this_thread::sleep_for(2s);  // time enough for a late, wrong label write to show
    const std::vector<IssueWrite> writes = Writes();
    const std::string described = DescribeWrites(writes, accepted);
    EXPECT_EQ(CheckJobTimeline(writes, final_state), "") << described;
    EXPECT_EQ(Comments().size(), 1u);

    const int64_t started = ContainerStartMs(id, before);
    EXPECT_GT(started, 0) << "no start event for " << id;
    int64_t queued_at = 0, running_at = 0;
    for (const IssueWrite& w : writes) {
      if (w.state == "Queued" && queued_at == 0) queued_at = w.at_unix_ms;
      if (w.state == "Running" && running_at == 0) running_at = w.at_unix_ms;
    }
    // The write GitHub got last before the running edit: the queued comment, or,
    // when the container took over a second to start, the status:queued label or
    // the Starting edit that the pacing let out meanwhile.
    int64_t before_running = queued_at;
    for (const IssueWrite& w : writes) {
      if (w.at_unix_ms < running_at) before_running = std::max(before_running, w.at_unix_ms);
    }
    std::string figures = "202 -> Queued comment " + std::to_string(queued_at - accepted) +
                          " ms; 202 -> container start " + std::to_string(started - accepted) +
                          " ms; container start -> Running edit " +
                          std::to_string(running_at - started) + " ms; Queued -> Running " +
                          std::to_string(running_at - queued_at) + " ms";
    std::cout << "[ timeline ] " << final_state << " job: " << figures << "\n" << described;
    if (timing) *timing = figures;
    // The queued comment goes out as soon as the job is decided, and the running
    // edit as soon as the container starts and the write before it allows
    // (GitHub's pacing: 1 s). The slack is for a loaded test machine; the paced
    // writes it used to wait behind took 4 s more.
    EXPECT_LT(queued_at - accepted, 1000) << figures;
    EXPECT_LE(running_at, std::max(started, before_running + 1000) + 1000) << figures;
    EXPECT_FALSE(ContainersLeft(id));
    return id;
  }

  bool ContainersLeft(const std::string& job_id) {
    auto left = docker_->List({{"labelrun.job", job_id}});
    EXPECT_TRUE(left) << left.error().message();
    return !left || !left->empty();
  }

  std::string JobId(const std::string& comment) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(comment, m, std::regex("labelrun:job=(j[0-9a-f]+)"))) << comment;
    return m.empty() ? "" : std::string(m[1]);
  }

  TempDir dir_;
  std::unique_ptr<runtime::DockerRuntime> docker_;
  std::unique_ptr<FakeGithub> github_;
  std::unique_ptr<LabelrunProcess> server_;
};

TEST_F(PytorchE2eTest, LabelsGiveOneCommentWithTheLossCurveTheStatusLabelsAndNoContainerLeft) {
  const std::string sha = PushRepository({{"train.py", ExampleTrainPy()}});
  StartServer();
  // Two labels, two deliveries, in either order: the first completes nothing.
  ASSERT_EQ(Deliver("e2e-ok-1", "labeled", "task:training", {"task:training"}), 202);
  ASSERT_EQ(Deliver("e2e-ok-2", "labeled", "gpu:required", {"task:training", "gpu:required"}), 202);

  const std::string body = WaitForComment("Succeeded");
  ASSERT_EQ(Comments().size(), 1u) << "one comment per job";
  const std::string id = JobId(body);
  ASSERT_FALSE(id.empty());

  // The job ran the decided commit of the repository, in the pinned image.
  json job = Api("/api/jobs/" + id);
  EXPECT_EQ(job.value("commit", ""), sha) << job.dump();
  EXPECT_EQ(job.value("exit_code", -1), 0) << job.dump();
  EXPECT_THAT(job.value("image_digest", ""), HasSubstr("sha256:")) << job.dump();
  EXPECT_EQ(job.value("host", ""), "e2e-cpu");

  // The loss values the training printed, read back from the whole log.
  HttpResponse log = Page("/jobs/" + id + "/log");
  ASSERT_EQ(log.status, 200);
  const std::vector<std::string> printed = PrintedLosses(log.body);
  ASSERT_EQ(printed.size(), static_cast<size_t>(kEpochs)) << log.body;
  EXPECT_THAT(log.body, HasSubstr("training on cpu with torch"));

  // The Mermaid chart has one value per epoch, each the printed loss to the
  // precision the chart shows, and only finite numbers.
  std::smatch mermaid;
  ASSERT_TRUE(
      std::regex_search(body, mermaid, std::regex(R"(xychart-beta[\s\S]*?line \[([^\]]*)\])")))
      << body;
  std::vector<std::string> charted;
  const std::string values = mermaid[1];
  std::regex number(R"([^,\s]+)");
  for (auto it = std::sregex_iterator(values.begin(), values.end(), number);
       it != std::sregex_iterator(); ++it) {
    charted.push_back(it->str());
  }
  ASSERT_EQ(charted.size(), printed.size()) << values;
  for (size_t i = 0; i < printed.size(); ++i) {
    const double shown = std::stod(charted[i]);
    ASSERT_TRUE(std::isfinite(shown)) << charted[i];
    EXPECT_NEAR(shown, std::stod(printed[i]), HalfUlp(charted[i])) << "epoch " << i + 1;
  }
  // The x axis counts what the log counts: the ten epochs, as labels.
  EXPECT_THAT(body, HasSubstr("x-axis \"epoch\" [\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", "
                              "\"8\", \"9\", \"10\"]"));
  // The sparkline line reads first -> last, and the best value with its epoch.
  std::smatch spark;
  ASSERT_TRUE(std::regex_search(
      body, spark,
      std::regex(
          R"(`loss` `[▁▂▃▄▅▆▇█]+` ([0-9.e-]+) → ([0-9.e-]+) \(min ([0-9.e-]+) @ epoch (\d+)\))")))
      << body;
  EXPECT_NEAR(std::stod(spark[1]), std::stod(printed.front()), HalfUlp(spark[1]));
  EXPECT_NEAR(std::stod(spark[2]), std::stod(printed.back()), HalfUlp(spark[2]));
  std::vector<double> as_numbers;
  for (const std::string& p : printed) as_numbers.push_back(std::stod(p));
  const auto best = std::min_element(as_numbers.begin(), as_numbers.end());
  EXPECT_NEAR(std::stod(spark[3]), *best, HalfUlp(spark[3]));
  EXPECT_EQ(std::stoi(spark[4]), best - as_numbers.begin() + 1);

  // The log tail ends with the training's last line.
  std::smatch tail;
  ASSERT_TRUE(std::regex_search(body, tail,
                                std::regex(R"(<details>[\s\S]*?\n(`{3,})\w*\n([\s\S]*?)\n\1\n)")))
      << body;
  const std::string tail_text = tail[2];
  const std::string last_line = tail_text.substr(tail_text.rfind('\n') + 1);
  EXPECT_EQ(last_line, "saved outputs/model.pt after " + std::to_string(kEpochs) + " epochs")
      << tail_text;

  // Labels followed the comment, each replacing the one before and none added
  // after the state it belongs to; the comment went Queued -> Running -> Succeeded.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto labels = github_->IssueLabels("acme/sine", 7);
        return std::count(labels.begin(), labels.end(), "status:done") == 1 &&
               std::count(labels.begin(), labels.end(), "status:queued") == 0 &&
               std::count(labels.begin(), labels.end(), "status:in-progress") == 0;
      },
      30s))
      << ::testing::PrintToString(github_->IssueLabels("acme/sine", 7));
  EXPECT_EQ(CheckJobTimeline(Writes(), "Succeeded"), "") << DescribeWrites(Writes());

  // The job page's SVG has one point per epoch; the outputs were collected.
  HttpResponse svg = Page("/jobs/" + id + "/loss.svg");
  ASSERT_EQ(svg.status, 200);
  EXPECT_EQ(Count(svg.body, std::regex("class=\"pt\"")), static_cast<size_t>(kEpochs)) << svg.body;
  HttpResponse index = Page("/jobs/" + id + "/outputs");
  EXPECT_EQ(index.status, 200);
  EXPECT_THAT(index.body, HasSubstr("/jobs/" + id + "/outputs/model.pt?exp="));
  HttpResponse model = Page("/jobs/" + id + "/outputs/model.pt");
  EXPECT_EQ(model.status, 200);
  EXPECT_GT(model.body.size(), 1000u);

  // Nothing left running, and nothing secret left labelrun.
  EXPECT_FALSE(ContainersLeft(id));
  for (const FakeRequest& r : github_->Requests()) {
    EXPECT_THAT(r.body, Not(HasSubstr("BEGIN PRIVATE KEY")));
    EXPECT_THAT(r.body, Not(HasSubstr(kApiToken)));
  }
}

TEST_F(PytorchE2eTest, ATrainingThatRaisesShowsTheTracebackAndFails) {
  PushRepository({{"train.py",
                   "import json\n"
                   "import torch\n"
                   "print(json.dumps({'epoch': 1, 'loss': 0.9}), flush=True)\n"
                   "def step(epoch):\n"
                   "    raise ValueError(f'loss diverged at epoch {epoch}')\n"
                   "step(2)\n"}});
  StartServer();
  ASSERT_EQ(Deliver("e2e-raise-1", "labeled", "task:training", {"gpu:required", "task:training"}),
            202);
  const std::string body = WaitForComment("Failed");
  ASSERT_EQ(Comments().size(), 1u);
  EXPECT_THAT(body, HasSubstr("Traceback (most recent call last)"));
  EXPECT_THAT(body, HasSubstr("ValueError: loss diverged at epoch 2"));
  EXPECT_THAT(body, HasSubstr("exited with code 1"));
  // The status line names the error the traceback ends in.
  EXPECT_THAT(body, HasSubstr("**Failed**: loss diverged at epoch 2 (ValueError) after "));
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto labels = github_->IssueLabels("acme/sine", 7);
        return std::count(labels.begin(), labels.end(), "status:failed") == 1 &&
               std::count(labels.begin(), labels.end(), "status:in-progress") == 0;
      },
      30s))
      << ::testing::PrintToString(github_->IssueLabels("acme/sine", 7));
  // A training that fails at once still shows Running before Failed.
  EXPECT_EQ(CheckJobTimeline(Writes(), "Failed"), "") << DescribeWrites(Writes());
  EXPECT_FALSE(ContainersLeft(JobId(body)));
}

// A job far shorter than GitHub's pacing: every state still reaches the issue in
// order, and the labels end as the comment does.
TEST_F(PytorchE2eTest, AShortJobShowsQueuedRunningAndItsEndInOrder) {
  RunAndCheckTimeline("import json\nprint(json.dumps({'epoch': 1, 'loss': 0.5}), flush=True)\n",
                      "Succeeded", "e2e-short-1");
}

TEST_F(PytorchE2eTest, AThreeSecondJobShowsRunningAsSoonAsThePacingAllows) {
  std::string timing;
  RunAndCheckTimeline(
      "import json, time\n"
      "for epoch in range(1, 4):\n"
      "    time.sleep(1)\n"
      "    print(json.dumps({'epoch': epoch, 'loss': 1.0 / epoch}), flush=True)\n",
      "Succeeded", "e2e-3s-1", &timing);
  RecordProperty("timeline", timing);
}

TEST_F(PytorchE2eTest, AShortFailingJobShowsRunningBeforeFailed) {
  RunAndCheckTimeline("raise SystemExit(3)\n", "Failed", "e2e-short-fail-1");
}

TEST_F(PytorchE2eTest, ASenderWithTriageOnlyGetsARefusalAndNoContainer) {
  PushRepository({{"train.py", ExampleTrainPy()}});
  StartServer();
  ASSERT_EQ(Deliver("e2e-triage-1", "labeled", "gpu:required", {"task:training", "gpu:required"},
                    "trina"),
            202);
  ASSERT_TRUE(WaitUntil([&] { return !Comments().empty(); }, 60s)) << server_->Log();
  std::this_thread::sleep_for(2s);  // time enough for a wrongly started job to show
  ASSERT_EQ(Comments().size(), 1u);
  const std::string body = Comments()[0].body;
  EXPECT_THAT(body, HasSubstr("@trina"));
  EXPECT_THAT(body, HasSubstr("write"));
  EXPECT_THAT(body, Not(HasSubstr("labelrun:job=j")));
  EXPECT_EQ(Api("/api/jobs").value("jobs", json::array()).size(), 0u);
  std::string instance;
  std::ifstream(dir_.path() / "state" / "instance-id") >> instance;
  auto ours = docker_->List({{"labelrun.instance", instance}});
  ASSERT_TRUE(ours);
  EXPECT_TRUE(ours->empty());
}

TEST_F(PytorchE2eTest, AStatusBlockedIssueGetsAHoldCommentAndNoContainer) {
  PushRepository({{"train.py", ExampleTrainPy()}});
  StartServer();
  ASSERT_EQ(Deliver("e2e-hold-1", "labeled", "gpu:required",
                    {"status:blocked", "task:training", "gpu:required"}),
            202);
  ASSERT_TRUE(WaitUntil([&] { return !Comments().empty(); }, 60s)) << server_->Log();
  std::this_thread::sleep_for(2s);
  ASSERT_EQ(Comments().size(), 1u);
  const std::string body = Comments()[0].body;
  EXPECT_THAT(body, HasSubstr("status:blocked"));
  EXPECT_THAT(body, Not(HasSubstr("labelrun:job=j")));
  EXPECT_EQ(Api("/api/jobs").value("jobs", json::array()).size(), 0u);
  std::string instance;
  std::ifstream(dir_.path() / "state" / "instance-id") >> instance;
  auto ours = docker_->List({{"labelrun.instance", instance}});
  ASSERT_TRUE(ours);
  EXPECT_TRUE(ours->empty());
}

TEST_F(PytorchE2eTest, RemovingTaskTrainingMidRunCancelsTheJob) {
  PushRepository({{"train.py",
                   "import json, time\n"
                   "import torch\n"
                   "for epoch in range(1, 600):\n"
                   "    print(json.dumps({'epoch': epoch, 'loss': 1.0 / epoch}), flush=True)\n"
                   "    time.sleep(0.5)\n"}});
  StartServer();
  ASSERT_EQ(Deliver("e2e-cancel-1", "labeled", "gpu:required", {"task:training", "gpu:required"}),
            202);
  const std::string running = WaitForComment("Running");
  const std::string id = JobId(running);
  ASSERT_TRUE(
      WaitUntil([&] { return Api("/api/jobs/" + id).value("state", "") == "running"; }, 60s));
  ASSERT_TRUE(ContainersLeft(id));
  // python as the command, no SIGTERM handler, stop_grace at its default (30s):
  // the cancel ends it at once, through the container's init process.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(
      Deliver("e2e-cancel-2", "unlabeled", "task:training", {"gpu:required", "status:in-progress"}),
      202);
  ASSERT_TRUE(
      WaitUntil([&] { return Api("/api/jobs/" + id).value("state", "") == "cancelled"; }, 60s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  const std::string body = WaitForComment("Cancelled", 60s);
  EXPECT_THAT(body, HasSubstr("@alice"));
  ASSERT_EQ(Comments().size(), 1u);
  EXPECT_EQ(Api("/api/jobs/" + id).value("state", ""), "cancelled");
  ASSERT_TRUE(WaitUntil([&] { return !ContainersLeft(id); }, 30s));
}

}  // namespace
}  // namespace labelrun::testing
