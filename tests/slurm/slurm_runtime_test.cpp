// SlurmRuntime: what Slurm prints, read (tables), and the runtime against the
// private test cluster: a job's output followed with redraws, resumed without a
// repeat, its exit code from accounting (waited for when accounting lags), a
// pending job's reason and cancel, its outputs under the cap with its symlinks
// left out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "labelrun/core/strings.hpp"
#include "labelrun/runtime/archive.hpp"
#include "labelrun/runtime/slurm.hpp"
#include "support/process.hpp"
#include "support/slurm_cluster.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using runtime::ContainerSpec;
using runtime::ContainerState;
using runtime::LogLine;
using runtime::SlurmRuntime;
using ::testing::ElementsAre;
using namespace std::chrono_literals;

TEST(SlurmParseTest, GresIndices) {
  EXPECT_THAT(runtime::ParseGresIndices("gpu:1(IDX:0)"), ElementsAre("0"));
  EXPECT_THAT(runtime::ParseGresIndices("gpu:a100:2(IDX:0-1)"), ElementsAre("0", "1"));
  EXPECT_THAT(runtime::ParseGresIndices("gpu:4(IDX:0,2-3)"), ElementsAre("0", "2", "3"));
  EXPECT_TRUE(runtime::ParseGresIndices("gpu:1(IDX:N/A)").empty());
  EXPECT_TRUE(runtime::ParseGresIndices("").empty());
}

TEST(SlurmParseTest, SqueueJsonGivesStateReasonGpusAndTheExitCodeOfTheWaitStatus) {
  const std::string json = R"js({"meta":{},"errors":[],"jobs":[
    {"job_id":7,"name":"labelrun-j1","comment":"labelrun instance=abc job=j1","job_state":"RUNNING",
     "state_reason":"None","gres_detail":["gpu:1(IDX:1)"],"priority":10,"submit_time":5,
     "exit_code":0,"nodes":"n1","partition":"gpu"},
    {"job_id":8,"name":"x","comment":"","job_state":"FAILED","state_reason":"NonZeroExitCode",
     "gres_detail":[],"exit_code":768,"nodes":"n1"},
    {"job_id":9,"name":"y","job_state":"CANCELLED","exit_code":15,"comment":null}]})js";
  auto jobs = runtime::ParseSqueueJson(json);
  ASSERT_TRUE(jobs) << jobs.error().message();
  ASSERT_EQ(jobs->size(), 3u);
  EXPECT_EQ((*jobs)[0].slurm_id, "7");
  EXPECT_EQ((*jobs)[0].state, "RUNNING");
  EXPECT_THAT((*jobs)[0].gpus, ElementsAre("1"));
  EXPECT_EQ((*jobs)[0].node, "n1");
  EXPECT_EQ((*jobs)[1].exit_code, 3);
  EXPECT_EQ((*jobs)[2].exit_code, 128 + 15);
  EXPECT_EQ((*jobs)[2].signal, 15);
  EXPECT_FALSE(runtime::ParseSqueueJson("slurm_load_jobs error"));
  EXPECT_FALSE(runtime::ParseSqueueJson(R"({"jobs": 3})"));
}

TEST(SlurmParseTest, SacctLines) {
  auto jobs = runtime::ParseSacctLines(
      "12|labelrun-j1|FAILED|3:0|labelrun instance=abc job=j1|n1\n"
      "13|labelrun-j2|CANCELLED by 0|0:15|labelrun instance=abc job=j2|n1\n"
      "14|other|COMPLETED|0:0||n2\n"
      "garbage\n");
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].exit_code, 3);
  EXPECT_EQ(jobs[0].comment, "labelrun instance=abc job=j1");
  EXPECT_EQ(jobs[1].state, "CANCELLED");
  EXPECT_EQ(jobs[1].exit_code, 143);
  EXPECT_EQ(jobs[2].node, "n2");
  EXPECT_EQ(runtime::ParseJobComment("labelrun instance=abc job=j1")["job"], "j1");
  EXPECT_TRUE(runtime::ParseJobComment("someone else's").empty());
}

TEST(SlurmParseTest, StatesAndReasonsInWords) {
  EXPECT_EQ(runtime::DescribeSlurmState("COMPLETED", 0), "");
  EXPECT_EQ(runtime::DescribeSlurmState("RUNNING", 0), "");
  for (const char* state : {"FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}) {
    EXPECT_THAT(runtime::DescribeSlurmState(state, 0), ::testing::HasSubstr(state));
  }
  EXPECT_THAT(runtime::DescribeSlurmState("NODE_FAIL", 0), ::testing::HasSubstr("node"));
  EXPECT_THAT(runtime::DescribePendingReason("Resources"), ::testing::StartsWith("Resources: "));
  EXPECT_THAT(runtime::DescribePendingReason("QOSMaxGRESPerUser"),
              ::testing::HasSubstr("GPUs per user"));
  EXPECT_EQ(runtime::DescribePendingReason("SomethingNew"), "SomethingNew");
}

TEST(SlurmParseTest, LauncherIsQuotedAndReadsTheGpusOnTheNode) {
  auto line = runtime::RenderLauncher({"docker", "run", "--gpus", "device={gpus}", "-v",
                                       "{workdir}:/workspace", "{image}", "{command}"},
                                      {{"image", "img:1"}, {"workdir", "/shared/j1/work space"}},
                                      {"python", "-c", "print('hi')"});
  ASSERT_TRUE(line) << line.error().message();
  EXPECT_EQ(*line,
            "'docker' 'run' '--gpus' 'device='\"${SLURM_JOB_GPUS:-}\" '-v' "
            "'/shared/j1/work space'':/workspace' 'img:1' 'python' '-c' 'print('\\''hi'\\'')'");
  auto bad = runtime::RenderLauncher({"{image}", "{nope}"}, {{"image", "i"}}, {});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), ::testing::HasSubstr("{nope}"));
  runtime::SlurmSettings s;
  s.partition = "gpu";
  s.shared_dir = "relative";
  s.launcher = {"{image}"};
  EXPECT_FALSE(runtime::CheckSlurmSettings(s));
  s.shared_dir = "/abs";
  EXPECT_TRUE(runtime::CheckSlurmSettings(s));
  s.launcher = {"sh", "-c", "{command}"};
  EXPECT_FALSE(runtime::CheckSlurmSettings(s));
}

class SlurmRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const SlurmCluster& cluster = TestSlurmCluster();
    ASSERT_EQ(cluster.error, "");
    runtime::SlurmSettings s;
    s.partition = "gpu";
    s.shared_dir = dir_.path() / "shared";
    // No container: the "image" is a word in the environment, the command runs as is.
    s.launcher = {"env", "IMAGE={image}", "GPUS={gpus}", "{command}"};
    s.slurm_conf = cluster.slurm_conf;
    auto rt = SlurmRuntime::Create(s);
    ASSERT_TRUE(rt) << rt.error().message();
    rt_ = std::move(*rt);
  }

  ContainerSpec Spec(const std::string& job, const std::string& script, int gpus = 0) {
    ContainerSpec spec;
    spec.name = "labelrun-" + job;
    spec.image = "busybox:1";
    spec.cmd = {"sh", "-c", script};
    spec.labels = {{"labelrun.job", job}, {"labelrun.instance", instance_}};
    spec.gpu_count = gpus;
    spec.time_limit = std::chrono::seconds(120);
    return spec;
  }

  ContainerState WaitEnded(const std::string& id) {
    ContainerState last;
    WaitUntil(
        [&] {
          auto s = rt_->Inspect(id);
          if (s) last = *s;
          return s && !s->running;
        },
        60s);
    return last;
  }

  TempDir dir_;
  std::string instance_ = "rt" + std::to_string(getpid());
  std::unique_ptr<SlurmRuntime> rt_;
};

TEST_F(SlurmRuntimeTest, OutputIsFollowedWithRedrawsAndResumedWithoutRepeats) {
  auto id = rt_->Create(Spec("jlog1", "printf 'a\\n 10%%\\r 50%%\\r100%%\\nb\\r\\nlast'; exit 3"));
  ASSERT_TRUE(id) << id.error().message();
  ASSERT_TRUE(rt_->Start(*id));
  ContainerState ended = WaitEnded(*id);
  EXPECT_EQ(ended.status, "failed");
  EXPECT_EQ(ended.exit_code, 3);  // accounting's, not sacct --json's 0
  std::vector<std::tuple<std::string, std::string, bool>> lines;
  auto collect = [&](const LogLine& l) {
    lines.emplace_back(std::string(l.timestamp), std::string(l.text), l.redraw);
    return true;
  };
  ASSERT_TRUE(rt_->Logs(*id, 0, /*follow=*/true, collect, nullptr));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(std::get<1>(lines[0]), "a");
  EXPECT_EQ(std::get<1>(lines[1]), " 10%");
  EXPECT_TRUE(std::get<2>(lines[1]));
  EXPECT_EQ(std::get<1>(lines[2]), " 50%");
  EXPECT_EQ(std::get<1>(lines[3]), "100%");
  EXPECT_FALSE(std::get<2>(lines[3]));
  EXPECT_EQ(std::get<1>(lines[4]), "b");
  EXPECT_EQ(std::get<1>(lines[5]), "last");
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_LT(std::get<0>(lines[i - 1]), std::get<0>(lines[i]));
  }
  // Read again from the second of the last line: the same stamps come back, so a
  // resumed follow skips what it stored already.
  const std::string last_stamp = std::get<0>(lines.back());
  std::tm tm{};
  ASSERT_NE(strptime(last_stamp.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr);
  std::vector<std::tuple<std::string, std::string, bool>> again;
  ASSERT_TRUE(rt_->Logs(
      *id, timegm(&tm), true,
      [&](const LogLine& l) {
        again.emplace_back(std::string(l.timestamp), std::string(l.text), l.redraw);
        return true;
      },
      nullptr));
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again.back(), lines.back());
  for (const auto& line : again) {
    EXPECT_NE(std::find(lines.begin(), lines.end(), line), lines.end()) << std::get<1>(line);
  }
  ASSERT_TRUE(rt_->Remove(*id));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "shared" / *id));
}

// Accounting may list an ended job a moment after slurmctld does, and until then
// slurmctld's exit code can read 0. The job is shown still ending meanwhile
// (running, "completing", no exit code yet), and ends with accounting's exit code.
// `sacct` is replaced on PATH by a script that lists nothing while a marker file
// exists, which makes the lag as long as the test needs.
TEST_F(SlurmRuntimeTest, AnEndedJobWaitsForAccountingForItsExitCode) {
  std::string real_sacct;
  ASSERT_EQ(RunCommand({"/bin/sh", "-c", "command -v sacct"}, &real_sacct), 0);
  real_sacct = std::string(Trim(real_sacct));
  const std::filesystem::path bin = dir_.path() / "bin";
  const std::filesystem::path lagging = dir_.path() / "accounting-lags";
  std::filesystem::create_directories(bin);
  dir_.Write("bin/sacct", "#!/bin/sh\n[ -e '" + lagging.string() + "' ] && exit 0\nexec '" +
                              real_sacct + "' \"$@\"\n");
  std::filesystem::permissions(bin / "sacct", std::filesystem::perms::owner_all);
  dir_.Write("accounting-lags", "");
  struct RestorePath {  // however the test ends, the tests after it see the real sacct
    std::string path = std::getenv("PATH");
    ~RestorePath() { setenv("PATH", path.c_str(), 1); }
  } restore;
  setenv("PATH", (bin.string() + ":" + restore.path).c_str(), 1);

  auto id = rt_->Create(Spec("jlag1", "exit 3"));
  ASSERT_TRUE(id) << id.error().message();
  ASSERT_TRUE(rt_->Start(*id));
  // Ended for slurmctld, not yet in accounting: still ending, never ended with
  // slurmctld's exit code, for as long as slurmctld keeps the job (MinJobAge).
  std::optional<ContainerState> ending;
  std::optional<ContainerState> ended_early;
  WaitUntil(
      [&] {
        auto s = rt_->Inspect(*id);
        if (s && s->status == "completing") ending = *s;
        if (s && !s->running) ended_early = *s;
        return ending || ended_early;
      },
      60s);
  const auto until = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < until && !ended_early) {
    auto s = rt_->Inspect(*id);
    if (s && !s->running) ended_early = *s;
    std::this_thread::sleep_for(100ms);
  }
  std::filesystem::remove(lagging);
  ContainerState ended = WaitEnded(*id);

  ASSERT_FALSE(ended_early.has_value())
      << "ended before accounting listed it: " << ended_early->status << " exit "
      << ended_early->exit_code;
  ASSERT_TRUE(ending.has_value()) << "never seen ending";
  EXPECT_TRUE(ending->running);
  EXPECT_TRUE(ending->error.empty()) << ending->error;
  EXPECT_FALSE(ended.running);
  EXPECT_EQ(ended.status, "failed");
  EXPECT_EQ(ended.exit_code, 3);
  ASSERT_TRUE(rt_->Remove(*id));
}

TEST_F(SlurmRuntimeTest, APendingJobSaysWhyAndStopsWithoutRunning) {
  // Both GPUs held by a job outside labelrun.
  std::string out;
  ASSERT_EQ(
      RunSlurm({"sbatch", "--parsable", "--gres=gpu:2", "--wrap=sleep 60", "--output=/dev/null"},
               &out),
      0)
      << out;
  const std::string blocker(out.substr(0, out.find('\n')));
  auto id = rt_->Create(Spec("jpend1", "echo never", 1));
  ASSERT_TRUE(id) << id.error().message();
  ASSERT_TRUE(rt_->Start(*id));
  ContainerState waiting;
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto s = rt_->Inspect(*id);
        if (s) waiting = *s;
        return s && s->pending && s->pending_reason == "Resources";
      },
      20s))
      << waiting.status << " " << waiting.pending_reason;
  EXPECT_TRUE(waiting.running);
  EXPECT_EQ(waiting.queue_position, 1);
  auto listed = rt_->List({{"labelrun.instance", instance_}});
  ASSERT_TRUE(listed) << listed.error().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, "jpend1");
  EXPECT_EQ((*listed)[0].labels.at("labelrun.job"), "jpend1");
  auto stopped = rt_->Stop(*id, 5s);
  ASSERT_TRUE(stopped) << stopped.error().message();
  EXPECT_TRUE(*stopped);
  ContainerState ended = WaitEnded(*id);
  EXPECT_EQ(ended.status, "cancelled");
  EXPECT_THAT(ended.error, ::testing::HasSubstr("CANCELLED"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "shared" / *id / "slurm.log"));
  (void)RunSlurm({"scancel", blocker}, &out);
  ASSERT_TRUE(rt_->Remove(*id));
}

TEST_F(SlurmRuntimeTest, OutputsAreCollectedUnderTheCapAndSymlinksAreNotFollowed) {
  // A file of labelrun's on the same disk as the job's folder.
  const std::filesystem::path key = dir_.path() / "app-key.pem";
  std::ofstream(key) << "-----BEGIN PRIVATE KEY-----\nsecret\n";
  // The launcher runs the command in the job folder; its working_dir is workspace/.
  ContainerSpec spec = Spec("jout1",
                            "cd workspace && mkdir -p out/sub && head -c 3000 /dev/zero > out/a && "
                            "head -c 3000 /dev/zero > out/sub/b && ln -s /etc/passwd out/c && "
                            "ln -s / out/root && ln " +
                                key.string() + " out/key");
  spec.working_dir = "/work";
  auto id = rt_->Create(spec);
  ASSERT_TRUE(id) << id.error().message();
  ASSERT_TRUE(rt_->Start(*id));
  ContainerState ended = WaitEnded(*id);
  ASSERT_EQ(ended.status, "completed") << ended.error;
  const std::filesystem::path tar = dir_.path() / "out.tar";
  auto all = rt_->CopyOut(*id, "/work/out", tar, 1 << 20);
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(all->truncation, "");
  EXPECT_THAT(all->left_out, ::testing::HasSubstr("left out 3 entries"));
  EXPECT_THAT(all->left_out, ::testing::HasSubstr("'/work/out/key' (a hard link)"));
  EXPECT_THAT(all->left_out, ::testing::HasSubstr("'/work/out/c' (a symlink)"));
  EXPECT_THAT(all->left_out, ::testing::HasSubstr("'/work/out/root' (a symlink)"));
  auto files = runtime::ListOutputsInFile(tar);
  ASSERT_TRUE(files) << files.error().message();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].path, "a");
  EXPECT_EQ((*files)[0].size, 3000u);
  EXPECT_EQ((*files)[1].path, "sub/b");
  // The same cap as Docker's outputs: the entry past it and all after it go.
  // Here the cap falls inside the header of out/sub/b.
  auto capped = rt_->CopyOut(*id, "/work/out", tar, 6000);
  ASSERT_TRUE(capped) << capped.error().message();
  EXPECT_EQ(capped->truncation,
            "outputs over job.outputs_max_bytes (5.9 KiB): the entries from byte 4608 and "
            "everything after it left out; 3 entries (4.5 KiB) kept");
  EXPECT_EQ(capped->bytes, 4608u + 1024u);
  files = runtime::ListOutputsInFile(tar);
  ASSERT_TRUE(files) << files.error().message();
  ASSERT_EQ(files->size(), 1u);
  // Only the working_dir lies on shared storage; a symlinked folder is refused.
  auto outside = rt_->CopyOut(*id, "/etc", tar, 1 << 20);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code(), ErrorCode::kFailedPrecondition);
  auto linked = rt_->CopyOut(*id, "/work/out/root", tar, 1 << 20);
  ASSERT_FALSE(linked);
  EXPECT_THAT(linked.error().message(), ::testing::HasSubstr("/work/out/root is a symlink"));
  auto missing = rt_->CopyOut(*id, "/work/nope", tar, 1 << 20);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(rt_->Remove(*id));
}

}  // namespace
}  // namespace labelrun::testing
