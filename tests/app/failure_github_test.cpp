// A training run that draws a progress bar and then fails, end to end through the real
// binary, the real Docker daemon with the PyTorch image and the loopback GitHub: the
// failed comment names the error from the run's real Python traceback, shows its last
// frame above the log, and the log tail shows the bar once, in its last state; the log
// file keeps every byte the container printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "support/docker_env.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kImage[] = "labelrun-test/pytorch-cpu:bookworm-1";

// tqdm's writes, as the Hugging Face Trainer makes them (see support/trainer_log.hpp),
// then a failure raised two calls deep. The job runs it with stderr on stdout, so that the
// log's order is the program's: Docker orders two streams only roughly.
constexpr char kTrainPy[] = R"PY(import sys
import torch

out = sys.stdout
last = 0


def draw(s):
    global last
    out.write("\r" + s + " " * max(last - len(s), 0))
    out.flush()
    last = len(s)


def bar(n):
    cells = n // 10
    return f"{n:3d}%|{'█' * cells}{' ' * (10 - cells)}| {n}/100 [00:00<00:00, 950.00it/s]"


def check(batch, model):
    if batch.shape[-1] != model.in_features:
        raise ValueError(f"batch has {batch.shape[-1]} features but the model takes "
                         f"{model.in_features}. Fix the data loader.")


def train(model):
    draw(bar(0))
    for n in range(1, 101):
        draw(bar(n))
        if n % 25 == 0:
            global last
            out.write("\r" + " " * last + "\r")
            last = 0
            out.write(f"{{'loss': {2.0 - n / 100:.4f}, 'epoch': {n / 100:.2f}}}\n")
            draw(bar(n))
    draw(bar(100))
    out.write("\n")
    out.flush()
    check(torch.zeros(4, 3), model)


train(torch.nn.Linear(8, 2))
)PY";

std::string Labeled() {
  return R"({"action":"labeled","label":{"name":"task:training"},"issue":{"number":12,)"
         R"("state":"open","title":"t","body":null,"labels":[{"name":"task:training"}]},)"
         R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"bob",)"
         R"("type":"User"},"installation":{"id":5}})";
}

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

TEST(FailureGithubTest, TheFailedCommentNamesThePythonErrorAndTheBarShowsOnce) {
  auto docker = ConnectTestDocker();
  ASSERT_TRUE(docker) << docker.error().message();
  ASSERT_TRUE((*docker)->ImageDigest(kImage))
      << kImage << " is missing: build it with docker/pytorch-cpu/build.sh";
  TempDir dir;
  const std::filesystem::path repo = dir.path() / "repo";
  std::filesystem::create_directories(repo);
  std::ofstream(repo / "train.py") << kTrainPy;
  dir.Write("github-token", "ghp_labelrun_failure_test_token\n");
  FakeGithub::Options github_options;
  github_options.static_token = "ghp_labelrun_failure_test_token";
  FakeGithub github(github_options, SystemClock::Instance());
  github.SetPermission("acme/vision", "bob", "write");
  LabelrunProcess::Options options;
  options.extra_yaml =
      "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
      "/LABELS.md\n"
      "rules:\n"
      "  - name: train\n"
      "    when: {all: [task:training]}\n"
      "    job: {image: \"" +
      std::string(kImage) +
      "\", command: [sh, -c, \"exec python3 train.py 2>&1\"]}\n"
      "sources: {default_dir: " +
      repo.string() +
      "}\n"
      "report: {update_interval: 1s, public_url: \"https://labelrun.example.com\"}\n"
      "github:\n  api_url: " +
      github.url() + "\n  token_file: " + (dir / "github-token").string() + "\n";
  LabelrunProcess server(dir, options);
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Deliver("issues", "failure-1", Labeled()).status, 202);

  auto body = [&] {
    auto c = github.Comments("acme/vision", 12);
    return c.size() == 1 ? c[0].body : std::string();
  };
  ASSERT_TRUE(WaitUntil([&] { return body().find("**Failed") != std::string::npos; }, 180s))
      << server.Log();
  const std::string comment = body();
  // The status names the error in words, from the real traceback's last line.
  EXPECT_THAT(comment, HasSubstr("**Failed**: batch has 3 features but the model takes 8 "
                                 "(ValueError) after "));
  EXPECT_THAT(comment, HasSubstr(" — exited with code 1\n"));
  // Above the log: the last frame (the function that raised, its line) and the exception.
  const size_t frame = comment.find("train.py\", line ");
  const size_t raised = comment.find("\n    raise ValueError(");
  const size_t exception = comment.find("\nValueError: batch has 3 features");
  const size_t log = comment.find("<details>");
  ASSERT_NE(frame, std::string::npos) << comment;
  ASSERT_NE(raised, std::string::npos) << comment;
  ASSERT_NE(exception, std::string::npos) << comment;
  ASSERT_NE(log, std::string::npos) << comment;
  EXPECT_LT(frame, raised);
  EXPECT_LT(raised, exception);
  EXPECT_LT(exception, log);
  EXPECT_THAT(comment.substr(frame, raised - frame), HasSubstr("in check"));
  // The log tail: the metrics lines, the bar once at 100%, no line of spaces.
  const std::string tail = comment.substr(log);
  EXPECT_EQ(Count(tail, "%|"), 1u) << tail;
  EXPECT_THAT(tail, HasSubstr("100%|██████████| 100/100"));
  EXPECT_FALSE(std::regex_search(tail, std::regex("\n +\n"))) << tail;
  EXPECT_EQ(Count(tail, "{'loss': "), 4u) << tail;
  // Each metrics line, printed right after a redraw, is a point of the curve.
  EXPECT_TRUE(std::regex_search(comment, std::regex("\\| `loss` \\|[^\n]*\\| 4 \\|\n"))) << comment;

  // The log file on disk keeps every redraw, with its '\r'.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(comment, m, std::regex("<!-- labelrun:job=(j[0-9a-f]+) -->")));
  std::ifstream in(dir.path() / "state" / "jobs" / std::string(m[1]) / "log", std::ios::binary);
  std::stringstream stored;
  stored << in.rdbuf();
  EXPECT_GE(Count(stored.str(), "%|"), 100u);
  EXPECT_GE(Count(stored.str(), "\r\n"), 100u);
  // The full log view shows what a terminal would.
  std::smatch link;
  ASSERT_TRUE(std::regex_search(
      comment, link,
      std::regex("https://labelrun.example.com(/jobs/j[0-9a-f]+/log\\?exp=[0-9]+&sig=[0-9a-f]+)")))
      << comment;
  HttpResponse full = HttpRequest("GET", server.Url(link[1]), {}, "");
  ASSERT_EQ(full.status, 200) << full.body;
  EXPECT_EQ(Count(full.body, "%|"), 1u) << full.body;
  EXPECT_THAT(full.body, HasSubstr("ValueError: batch has 3 features"));
  EXPECT_THAT(comment, Not(HasSubstr("ghp_labelrun_failure_test_token")));

  // The job's container is labelrun's to remove; anything left of this run goes.
  std::ifstream id_file(dir.path() / "state" / "instance-id");
  std::string instance;
  if (std::getline(id_file, instance)) {
    if (auto left = (*docker)->List({{"labelrun.instance", instance}})) {
      for (const auto& c : *left) (void)(*docker)->Remove(c.id);
    }
  }
}

}  // namespace
}  // namespace labelrun::testing
