// The dispatcher against the real Docker daemon: real containers from the
// busybox test image, code from a real git repository.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>

#include "labelrun/runtime/sources.hpp"
#include "labelrun/scheduler/dispatcher.hpp"
#include "labelrun/store/inbox.hpp"
#include "labelrun/store/sqlite.hpp"
#include "support/docker_env.hpp"
#include "support/private_dockerd.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::scheduler {
namespace {

using namespace std::chrono_literals;
using store::JobRecord;

// Records what the dispatcher reports, and lets a test wait for it.
class RecordingObserver : public JobObserver {
 public:
  void OnJobChanged(const JobRecord& job, int queue_position) override {
    std::lock_guard lock(mu_);
    changes_.push_back({job.id, job.state, job.reason, queue_position});
    latest_[job.id] = job;
    if (on_change) on_change(job);
    cv_.notify_all();
  }
  void OnLogLine(const std::string& job_id, runtime::LogStream, std::string_view text) override {
    std::lock_guard lock(mu_);
    auto& lines = lines_[job_id];
    if (lines.size() < 1000) lines.emplace_back(text);
    ++line_count_[job_id];
    longest_[job_id] = std::max(longest_[job_id], text.size());
  }
  void OnGpuSamples(const std::string&, const std::vector<GpuSample>&) override {}

  // Waits until `pred(latest job)` holds.
  JobRecord WaitFor(const std::string& id, const std::function<bool(const JobRecord&)>& pred,
                    std::chrono::seconds timeout = 60s) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return latest_.count(id) && pred(latest_[id]); });
    return latest_[id];
  }
  JobRecord WaitFinal(const std::string& id, std::chrono::seconds timeout = 60s) {
    return WaitFor(
        id, [](const JobRecord& j) { return IsFinal(j.state); }, timeout);
  }
  std::vector<std::string> Lines(const std::string& id) {
    std::lock_guard lock(mu_);
    return lines_[id];
  }
  int64_t LineCount(const std::string& id) {
    std::lock_guard lock(mu_);
    return line_count_[id];
  }
  size_t Longest(const std::string& id) {
    std::lock_guard lock(mu_);
    return longest_[id];
  }
  std::vector<JobState> States(const std::string& id) {
    std::lock_guard lock(mu_);
    std::vector<JobState> out;
    for (const auto& c : changes_) {
      if (c.id == id && (out.empty() || out.back() != c.state)) out.push_back(c.state);
    }
    return out;
  }
  int MaxQueuePosition(const std::string& id) {
    std::lock_guard lock(mu_);
    int most = 0;
    for (const auto& c : changes_) {
      if (c.id == id) most = std::max(most, c.position);
    }
    return most;
  }

  // The queue position the job was last told of (0: never queued).
  int LastQueuePosition(const std::string& id) {
    std::lock_guard lock(mu_);
    int last = 0;
    for (const auto& c : changes_) {
      if (c.id == id && c.state == JobState::kQueued) last = c.position;
    }
    return last;
  }
  size_t QueuedChanges() {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(changes_.begin(), changes_.end(), [](const Change& c) {
      return c.state == JobState::kQueued;
    }));
  }

  std::function<void(const JobRecord&)> on_change;  // called under the lock

 private:
  struct Change {
    std::string id;
    JobState state;
    std::string reason;
    int position;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Change> changes_;
  std::map<std::string, JobRecord> latest_;
  std::map<std::string, std::vector<std::string>> lines_;
  std::map<std::string, int64_t> line_count_;
  std::map<std::string, size_t> longest_;
};

// The real runtime, except that every stop reaches Docker only after the
// container has exited on its own: the race of a cancel with the job's own
// end, made certain.
class LateStopRuntime : public runtime::Runtime {
 public:
  explicit LateStopRuntime(std::shared_ptr<runtime::Runtime> inner) : inner_(std::move(inner)) {}
  Result<std::string> ApiVersion() override { return inner_->ApiVersion(); }
  Result<std::string> ImageId(const std::string& image) override { return inner_->ImageId(image); }
  Result<std::string> ImageDigest(const std::string& image) override {
    return inner_->ImageDigest(image);
  }
  Status Pull(const std::string& image, const std::atomic<bool>* cancelled) override {
    return inner_->Pull(image, cancelled);
  }
  Result<std::string> Create(const runtime::ContainerSpec& spec) override {
    return inner_->Create(spec);
  }
  Status CopyIn(const std::string& id, const std::string& dir, std::string_view tar_gz) override {
    return inner_->CopyIn(id, dir, tar_gz);
  }
  Result<runtime::CopiedOut> CopyOut(const std::string& id, const std::string& path,
                                     const std::filesystem::path& tar_file,
                                     uint64_t max_bytes) override {
    return inner_->CopyOut(id, path, tar_file, max_bytes);
  }
  Result<std::unique_ptr<runtime::PendingExit>> WaitNextExit(const std::string& id) override {
    return inner_->WaitNextExit(id);
  }
  Status Start(const std::string& id) override { return inner_->Start(id); }
  Result<bool> Stop(const std::string& id, std::chrono::seconds grace) override {
    ++stops;
    for (int i = 0; i < 600 && late_stop; ++i) {
      Result<runtime::ContainerState> state = inner_->Inspect(id);
      if (!state || !state->running) break;
      std::this_thread::sleep_for(50ms);
    }
    return inner_->Stop(id, grace);
  }
  Status Remove(const std::string& id) override {
    std::this_thread::sleep_for(remove_delay);
    return inner_->Remove(id);
  }
  Result<runtime::ContainerState> Inspect(const std::string& id) override {
    return inner_->Inspect(id);
  }
  Result<std::vector<runtime::ContainerSummary>> List(
      const std::map<std::string, std::string>& labels) override {
    return inner_->List(labels);
  }
  Status Logs(const std::string& id, int64_t since_unix, bool follow,
              const runtime::LogCallback& on_line, const std::atomic<bool>* stop) override {
    return inner_->Logs(id, since_unix, follow, on_line, stop);
  }
  Result<runtime::ExecOutput> Exec(const std::string& id,
                                   const std::vector<std::string>& cmd) override {
    return inner_->Exec(id, cmd);
  }

  std::atomic<int> stops{0};
  bool late_stop = true;
  std::chrono::milliseconds remove_delay{0};

 private:
  std::shared_ptr<runtime::Runtime> inner_;
};

std::string Git(const std::filesystem::path& dir, const std::string& args) {
  std::string output;
  const int rc =
      testing::RunCommand({"/bin/sh", "-c", "cd '" + dir.string() + "' && git " + args}, &output);
  EXPECT_EQ(rc, 0) << args << ": " << output;
  return output;
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

class DispatcherDockerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rt = docker_url_.empty() ? testing::ConnectTestDocker()
                                  : runtime::DockerRuntime::Connect({docker_url_, "", "", ""}, {});
    ASSERT_TRUE(rt) << rt.error().message();
    runtime_ = std::shared_ptr<runtime::Runtime>(std::move(*rt));
    ASSERT_EQ(testing::EnsureTestImage(*runtime_), "");
    instance_ = "test-" + testing::RandomHex(10);
    repo_ = dir_.path() / "repo";
    std::filesystem::create_directories(repo_);
    Git(repo_, "init -q && git config user.email t@example.com && git config user.name t");
    WriteFile(repo_ / "version.txt", "first\n");
    Git(repo_, "add -A && git commit -qm first");
    auto opened = store::JobStore::Open(dir_.path() / "labelrun.db");
    ASSERT_TRUE(opened);
    store_ = std::move(*opened);
    runtime::LocalSourceOptions so;
    so.default_folder = repo_;
    source_ = std::make_unique<runtime::LocalSource>(so);
  }

  void TearDown() override {
    if (dispatcher_) dispatcher_->Stop();
    dispatcher_.reset();
    if (runtime_) {
      if (auto left = runtime_->List({{"labelrun.instance", instance_}})) {
        for (const auto& c : *left) (void)runtime_->Remove(c.id);
      }
    }
  }

  // One host named "box" with `gpus`.
  void StartDispatcher(std::vector<std::string> gpus = {}, bool device_requests = true,
                       int max_jobs = 0, uint64_t default_memory_bytes = 0) {
    Host host;
    host.default_memory_bytes = default_memory_bytes;
    host.slots = {"box", {}, std::move(gpus), max_jobs};
    host.endpoint = docker_url_.empty() ? testing::TestDockerUrl() : docker_url_;
    host.runtime = host_runtime ? host_runtime : runtime_;
    host.device_requests = device_requests;
    // stop_grace stays at its default (30s): a stop that only SIGKILL ends
    // would make these tests slow, not let them pass.
    DispatcherOptions o;
    o.jobs_dir = dir_.path() / "jobs";
    o.instance = instance_;
    o.daemon_grace = 20s;
    if (tune_options) tune_options(o);
    dispatcher_ = std::make_unique<Dispatcher>(o, std::vector<Host>{host}, *store_, *source_,
                                               observer_, SystemClock::Instance());
    ASSERT_TRUE(dispatcher_->Start());
  }

  NewJob Job(const std::string& script, int gpus = 0, std::string rule = "train",
             int64_t issue = 1) {
    NewJob j;
    j.repository = "acme/models";
    j.issue = issue;
    j.sender = "alice";
    j.spec.rule = std::move(rule);
    j.spec.image = testing::kTestImage;
    j.spec.command = {"sh", "-c", script};
    j.spec.gpus = gpus;
    j.spec.working_dir = "/workspace";
    return j;
  }

  std::string Submit(NewJob j) {
    Result<JobRecord> job = dispatcher_->Submit(std::move(j));
    EXPECT_TRUE(job) << job.error().message();
    return job ? job->id : "";
  }

  bool ContainersLeft(const std::string& job_id) {
    auto left = runtime_->List({{"labelrun.job", job_id}});
    EXPECT_TRUE(left) << left.error().message();
    return !left || !left->empty();
  }

  std::function<void(DispatcherOptions&)> tune_options;
  std::shared_ptr<runtime::Runtime> host_runtime;  // null: runtime_
  std::string docker_url_;                         // empty: the test daemon
  testing::TempDir dir_;
  std::filesystem::path repo_;
  std::string instance_;
  std::shared_ptr<runtime::Runtime> runtime_;
  std::unique_ptr<store::JobStore> store_;
  std::unique_ptr<runtime::LocalSource> source_;
  RecordingObserver observer_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherDockerTest, ASuccessfulJobRunsTheCodeLogsAndIsRemoved) {
  StartDispatcher();
  const std::string id = Submit(Job("echo hello; cat version.txt; echo oops >&2; pwd"));
  JobRecord done = observer_.WaitFinal(id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.reason;
  EXPECT_EQ(done.exit_code, 0);
  EXPECT_FALSE(done.image_digest.empty());
  EXPECT_FALSE(done.commit.empty());
  EXPECT_EQ(observer_.States(id),
            (std::vector<JobState>{JobState::kQueued, JobState::kStarting, JobState::kRunning,
                                   JobState::kSucceeded}));
  // stdout and stderr are separate pipes inside the container, so only the
  // order within each stream is guaranteed.
  std::vector<std::string> lines = observer_.Lines(id);
  auto oops = std::find(lines.begin(), lines.end(), "oops");
  ASSERT_NE(oops, lines.end());
  lines.erase(oops);
  EXPECT_EQ(lines, (std::vector<std::string>{"hello", "first", "/workspace"}));
  std::ifstream log(dir_.path() / "jobs" / id / "log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find(" e oops\n"), std::string::npos) << text.str();
  EXPECT_FALSE(ContainersLeft(id));
  auto events = store_->Events(id);
  ASSERT_TRUE(events);
  EXPECT_GE(events->size(), 4u);
  EXPECT_EQ(events->back().state, JobState::kSucceeded);
}

// Several jobs printing as fast as they can at once: every line of each reaches
// the observer and the stored log, in order, none twice (stdout and stderr both).
TEST_F(DispatcherDockerTest, NoLogLineIsLostWhenJobsPrintFastTogether) {
  StartDispatcher();
  constexpr int kJobs = 6;
  constexpr int kLines = 20000;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) {
    // Lines of about 90 bytes; every 1000th goes to stderr.
    ids.push_back(
        Submit(Job("p=" + std::string(60, 'x') + "; i=1; while [ $i -le " + std::to_string(kLines) +
                       " ]; do if [ $((i % 1000)) = 0 ]; then echo err $i >&2; else "
                       "echo line $i loss=0.$i $p; fi; i=$((i+1)); done",
                   0, "train", 100 + i)));
  }
  for (const std::string& id : ids) {
    JobRecord done = observer_.WaitFinal(id, 300s);
    ASSERT_EQ(done.state, JobState::kSucceeded) << done.reason;
    EXPECT_EQ(observer_.LineCount(id), kLines) << id;
    std::ifstream log(dir_.path() / "jobs" / id / "log");
    int out = 0, err = 0;
    for (std::string line; std::getline(log, line);) {
      const size_t sp = line.find(' ');
      ASSERT_NE(sp, std::string::npos) << line;
      const std::string_view rest = std::string_view(line).substr(sp + 1);
      if (rest.rfind("e err ", 0) == 0) {
        err += 1000;
        EXPECT_EQ(rest.substr(6), std::to_string(err)) << id;
        continue;
      }
      ASSERT_EQ(rest.rfind("o line ", 0), 0u) << line;
      ++out;
      if (out % 1000 == 0) ++out;  // the stderr line's number
      const std::string n = std::to_string(out);
      ASSERT_EQ(rest.substr(7, n.size() + 1), n + " ") << id << ": " << line;
      EXPECT_EQ(rest.size(), 7 + 2 * n.size() + 9 + 60) << line;
    }
    EXPECT_EQ(out, kLines - 1) << id;  // the last line, kLines, went to stderr
    EXPECT_EQ(err, kLines) << id;
  }
}

TEST_F(DispatcherDockerTest, NonZeroExitFailsWithTheCode) {
  StartDispatcher();
  const std::string id = Submit(Job("echo bad input >&2; exit 3"));
  JobRecord done = observer_.WaitFinal(id);
  EXPECT_EQ(done.state, JobState::kFailed);
  EXPECT_EQ(done.exit_code, 3);
  EXPECT_EQ(done.reason, "exited with code 3");
  EXPECT_FALSE(ContainersLeft(id));
}

TEST_F(DispatcherDockerTest, OutOfMemoryIsNamed) {
  StartDispatcher();
  NewJob j = Job("head -c 64m /dev/zero | tail");
  j.spec.memory_bytes = 16 << 20;
  const std::string id = Submit(j);
  JobRecord done = observer_.WaitFinal(id);
  EXPECT_EQ(done.state, JobState::kFailed);
  // "killed: out of memory (limit 16 MiB)", or when Docker's OOM flag lost its
  // race with the exit: "killed (exit code 137): most likely out of memory (...)".
  EXPECT_THAT(done.reason, ::testing::HasSubstr("out of memory (limit 16 MiB)"));
  EXPECT_EQ(done.exit_code, 137);
  EXPECT_FALSE(ContainersLeft(id));
}

TEST_F(DispatcherDockerTest, TimeoutStopsTheJob) {
  StartDispatcher();
  NewJob j = Job("echo started; sleep 120");
  j.spec.timeout = 2s;
  const std::string id = Submit(j);
  JobRecord done = observer_.WaitFinal(id);
  EXPECT_EQ(done.state, JobState::kTimedOut);
  EXPECT_EQ(done.reason, "stopped: it ran past its timeout of 2s");
  EXPECT_FALSE(ContainersLeft(id));
}

TEST_F(DispatcherDockerTest, CancelStopsARunningJob) {
  StartDispatcher();
  // sh as the command: without an init process it is PID 1, which SIGTERM does
  // not end, and the cancel would wait out the whole stop_grace.
  const std::string id = Submit(Job("while true; do echo x; sleep 0.1; done"));
  observer_.WaitFor(id, [](const JobRecord& j) { return j.state == JobState::kRunning; });
  while (observer_.LineCount(id) == 0) std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(dispatcher_->Cancel(id, "@alice"));
  JobRecord done = observer_.WaitFinal(id, 60s);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 5s) << "took "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
  EXPECT_EQ(done.state, JobState::kCancelled);
  EXPECT_EQ(done.reason, "cancelled by @alice");
  EXPECT_EQ(done.exit_code, 143) << "SIGTERM, not the SIGKILL after the grace";
  EXPECT_FALSE(ContainersLeft(id));
  Status again = dispatcher_->Cancel(id, "@bob");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kFailedPrecondition);
}

// A cancel's delivery is recorded done before CancelOn returns: were it left to
// the processor's batch, a crash would replay the cancel onto a job that a later
// delivery of the same batch started.
TEST_F(DispatcherDockerTest, ACancelsDeliveryIsDoneBeforeTheNextDeliveryIsHandedOver) {
  StartDispatcher();
  store::InboxStats stats;
  auto writer = store::InboxWriter::Start(dir_.path() / "labelrun.db", 64, stats, nullptr);
  ASSERT_TRUE(writer) << writer.error().message();
  for (const std::string guid : {"cancel-1", "dispatch-2"}) {
    store::InboxRecord r;
    r.guid = guid;
    r.event = "issues";
    r.action = guid == "cancel-1" ? "unlabeled" : "labeled";
    r.repository = "acme/models";
    r.received_at_ms = SystemClock::Instance().NowUnixMillis();
    r.digest = "{}";
    std::promise<Result<store::AppendOutcome>> stored;
    (*writer)->Append(std::move(r),
                      [&](Result<store::AppendOutcome> out) { stored.set_value(std::move(out)); });
    ASSERT_TRUE(stored.get_future().get());
  }
  (*writer)->Stop();
  auto state = [&](const std::string& guid) {
    Result<store::Database> db = store::Database::Open(dir_.path() / "labelrun.db");
    Result<store::Statement> st = db->Prepare("SELECT state FROM inbox WHERE guid = ?1");
    st->Bind(1, guid);
    return st->Step().value_or(false) ? st->ColumnText(0) : std::string("missing");
  };
  // Nothing to cancel yet: the delivery is still recorded as acted on.
  EXPECT_EQ(dispatcher_->CancelOn("acme/models", 1, "train", "@alice", "cancel-1").value_or(-1), 0);
  EXPECT_EQ(state("cancel-1"), "done");
  EXPECT_EQ(state("dispatch-2"), "pending");
  // A cancel without a delivery (the API, the CLI) touches no inbox row.
  EXPECT_EQ(dispatcher_->CancelOn("acme/models", 1, "train", "@alice").value_or(-1), 0);
  EXPECT_EQ(state("dispatch-2"), "pending");
}

TEST_F(DispatcherDockerTest, AJobThatExitedZeroBeforeTheStopTookEffectSucceeded) {
  auto late = std::make_shared<LateStopRuntime>(runtime_);
  host_runtime = late;
  StartDispatcher();
  const std::string cancelled = Submit(Job("echo started; sleep 2; echo done", 0, "train", 1));
  NewJob timed = Job("echo started; sleep 3; echo done", 0, "train", 2);
  timed.spec.timeout = 1s;
  const std::string timed_out = Submit(timed);
  observer_.WaitFor(cancelled, [](const JobRecord& j) { return j.state == JobState::kRunning; });
  ASSERT_TRUE(dispatcher_->Cancel(cancelled, "@alice"));
  for (const std::string& id : {cancelled, timed_out}) {
    JobRecord done = observer_.WaitFinal(id, 60s);
    EXPECT_EQ(done.state, JobState::kSucceeded) << id << ": " << done.reason;
    EXPECT_EQ(done.exit_code, 0);
    EXPECT_EQ(done.reason, "");
    EXPECT_EQ(observer_.Lines(id), (std::vector<std::string>{"started", "done"}));
    EXPECT_FALSE(ContainersLeft(id));
  }
  EXPECT_EQ(late->stops, 2) << "both stops were sent, and both came too late";
}

TEST_F(DispatcherDockerTest, ACancelAfterTheEndIsStoredIsRefused) {
  auto slow = std::make_shared<LateStopRuntime>(runtime_);
  slow->late_stop = false;
  slow->remove_delay = 2s;  // the worker is still removing the container
  host_runtime = slow;
  StartDispatcher();
  const std::string id = Submit(Job("while true; do echo x; sleep 0.1; done"));
  observer_.WaitFor(id, [](const JobRecord& j) { return j.state == JobState::kRunning; });
  ASSERT_TRUE(dispatcher_->Cancel(id, "@alice"));
  for (int i = 0; i < 600; ++i) {
    auto stored = store_->Get(id);
    ASSERT_TRUE(stored && *stored);
    if (IsFinal((*stored)->state)) break;
    std::this_thread::sleep_for(50ms);
  }
  Status again = dispatcher_->Cancel(id, "@bob");
  ASSERT_FALSE(again) << "the end is stored: a second cancel is too late";
  EXPECT_EQ(again.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(again.error().message(), "job " + id + " is already cancelled");
  EXPECT_EQ(observer_.WaitFinal(id).reason, "cancelled by @alice");
}

TEST_F(DispatcherDockerTest, CodeIsTheCommitChosenWhenTheJobWasDecided) {
  StartDispatcher({}, true, /*max_jobs=*/1);
  const std::string blocker = Submit(Job("sleep 3", 0, "blocker"));
  const std::string id = Submit(Job("cat version.txt", 0, "train", 2));
  EXPECT_EQ(dispatcher_->QueuePosition(id), 1);
  WriteFile(repo_ / "version.txt", "second\n");
  Git(repo_, "commit -qam second");
  JobRecord done = observer_.WaitFinal(id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.reason;
  EXPECT_EQ(observer_.Lines(id), std::vector<std::string>{"first"});
  EXPECT_EQ(observer_.MaxQueuePosition(id), 1);
  observer_.WaitFinal(blocker);
}

TEST_F(DispatcherDockerTest, ContainersGetTheRulesUserAndNetworkAndTheHostsDefaultMemory) {
  std::mutex mu;
  std::map<std::string, std::string> created;  // job -> what Docker says of its container
  observer_.on_change = [&](const JobRecord& job) {
    if (job.state != JobState::kStarting || job.container_id.empty()) return;
    std::string output;
    (void)testing::RunCommand({"/usr/bin/docker", "inspect", "--format",
                               "user={{.Config.User}} network={{.HostConfig.NetworkMode}} "
                               "memory={{.HostConfig.Memory}} init={{.HostConfig.Init}}",
                               job.container_id},
                              &output);
    std::lock_guard lock(mu);
    created[job.id] = output;
  };
  StartDispatcher({}, true, 0, /*default_memory_bytes=*/64 << 20);
  NewJob offline = Job("id -u; id -g; ls /sys/class/net", 0, "offline", 1);
  offline.spec.user = "1000:1001";
  offline.spec.network = "none";
  const std::string a = Submit(offline);
  NewJob sized = Job("true", 0, "sized", 2);
  sized.spec.memory_bytes = 32 << 20;
  const std::string b = Submit(sized);
  JobRecord da = observer_.WaitFinal(a);
  JobRecord db = observer_.WaitFinal(b);
  EXPECT_EQ(da.state, JobState::kSucceeded) << da.reason;
  EXPECT_EQ(db.state, JobState::kSucceeded) << db.reason;
  EXPECT_EQ(observer_.Lines(a), (std::vector<std::string>{"1000", "1001", "lo"}));
  std::lock_guard lock(mu);
  EXPECT_EQ(created[a], "user=1000:1001 network=none memory=67108864 init=true\n");
  EXPECT_EQ(created[b], "user= network=default memory=33554432 init=true\n")
      << "the rule's own limit wins over the host's default";
}

TEST_F(DispatcherDockerTest, GpuJobsGetTheirOwnDevicesAndFailClearlyWithoutTheNvidiaRuntime) {
  std::mutex mu;
  std::map<std::string, std::string> device_requests;  // job -> DeviceRequests JSON
  observer_.on_change = [&](const JobRecord& job) {
    if (job.state != JobState::kStarting || job.container_id.empty()) return;
    std::string output;
    (void)testing::RunCommand({"/usr/bin/docker", "inspect", "--format",
                               "{{json .HostConfig.DeviceRequests}}", job.container_id},
                              &output);
    std::lock_guard lock(mu);
    device_requests[job.id] = output;
  };
  StartDispatcher({"0", "1"});
  const std::string a = Submit(Job("true", 1, "train", 1));
  const std::string b = Submit(Job("true", 1, "train", 2));
  JobRecord da = observer_.WaitFinal(a);
  JobRecord db = observer_.WaitFinal(b);
  for (const JobRecord& j : {da, db}) {
    EXPECT_EQ(j.state, JobState::kFailed);
    EXPECT_NE(j.reason.find("the host has no NVIDIA runtime"), std::string::npos) << j.reason;
    EXPECT_NE(j.reason.find("could not select device driver"), std::string::npos) << j.reason;
    EXPECT_FALSE(ContainersLeft(j.id));
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(device_requests.size(), 2u);
  const std::string ra = device_requests[a], rb = device_requests[b];
  EXPECT_NE(ra.find("\"DeviceIDs\":[\"0\"]") == std::string::npos,
            rb.find("\"DeviceIDs\":[\"0\"]") == std::string::npos)
      << ra << " / " << rb;
  EXPECT_NE(ra + rb, "");
  EXPECT_NE((ra + rb).find("\"DeviceIDs\":[\"1\"]"), std::string::npos) << ra << rb;
  EXPECT_EQ((ra + rb).find("\"Count\":1"), std::string::npos) << ra << rb;
}

TEST_F(DispatcherDockerTest, AThirdGpuJobWaitsForAFreeGpu) {
  StartDispatcher({"0", "1"}, /*device_requests=*/false);
  const std::string a = Submit(Job("echo gpu=$NVIDIA_VISIBLE_DEVICES; sleep 3", 1, "train", 1));
  const std::string b = Submit(Job("echo gpu=$NVIDIA_VISIBLE_DEVICES; sleep 3", 1, "train", 2));
  const std::string c = Submit(Job("echo gpu=$NVIDIA_VISIBLE_DEVICES", 1, "train", 3));
  observer_.WaitFor(
      c, [](const JobRecord& j) { return j.state == JobState::kRunning || IsFinal(j.state); });
  JobRecord dc = observer_.WaitFinal(c);
  JobRecord da = observer_.WaitFinal(a);
  JobRecord db = observer_.WaitFinal(b);
  EXPECT_EQ(observer_.MaxQueuePosition(c), 1);
  EXPECT_NE(da.gpus, db.gpus);
  ASSERT_EQ(observer_.Lines(a).size(), 1u);
  EXPECT_NE(observer_.Lines(a), observer_.Lines(b));
  EXPECT_EQ(dc.state, JobState::kSucceeded);
  // c started only after a or b ended.
  EXPECT_GE(*dc.started_ms, std::min(*da.finished_ms, *db.finished_ms));
}

TEST_F(DispatcherDockerTest, QueuedJobsAreToldOnlyWhenTheirPlaceChanges) {
  StartDispatcher({"0"}, /*device_requests=*/false);
  const std::string holder = Submit(Job("sleep 30", 1, "train", 1));
  observer_.WaitFor(holder, [](const JobRecord& j) { return j.state == JobState::kRunning; });
  // A burst: each job joins the back of the queue and moves nobody, so each is
  // told once or twice, not once for every job already waiting.
  constexpr int kQueued = 40;
  std::vector<std::string> queued;
  for (int i = 0; i < kQueued; ++i) queued.push_back(Submit(Job("true", 1, "train", 100 + i)));
  for (int i = 0; i < kQueued; ++i) EXPECT_EQ(observer_.LastQueuePosition(queued[i]), i + 1);
  const size_t after_burst = observer_.QueuedChanges();
  EXPECT_LE(after_burst, 2u * (kQueued + 1)) << "every submission told every waiting job again";
  // The first waiting job leaves: every other one moves up and is told so once.
  ASSERT_TRUE(dispatcher_->Cancel(queued[0], "carol"));
  for (int i = 1; i < kQueued; ++i) EXPECT_EQ(observer_.LastQueuePosition(queued[i]), i);
  EXPECT_EQ(observer_.QueuedChanges(), after_burst + (kQueued - 1));
  ASSERT_TRUE(dispatcher_->Cancel(holder, "carol"));
}

TEST_F(DispatcherDockerTest, AJobThatCanNeverFitFailsAtOnce) {
  StartDispatcher({"0"});
  Result<JobRecord> job = dispatcher_->Submit(Job("true", 4));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->reason,
            "it can never run here: it needs 4 GPUs and the largest matching host has 1");
}

TEST_F(DispatcherDockerTest, AOneMegabyteLineArrivesWhole) {
  StartDispatcher();
  const std::string id = Submit(Job("head -c 1000000 /dev/zero | tr '\\0' x; echo; echo after"));
  JobRecord done = observer_.WaitFinal(id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.reason;
  EXPECT_EQ(observer_.Longest(id), 1000000u);
  EXPECT_EQ(observer_.Lines(id).back(), "after");
}

TEST_F(DispatcherDockerTest, SecondDecisionForAnOpenRuleIsRefused) {
  StartDispatcher();
  const std::string id = Submit(Job("sleep 5"));
  Result<JobRecord> again = dispatcher_->Submit(Job("sleep 5"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(dispatcher_->Cancel(id, "@alice"));
  observer_.WaitFinal(id);
}

TEST_F(DispatcherDockerTest, ARestartedDispatcherReattachesWithoutRepeatingLines) {
  StartDispatcher();
  const std::string id =
      Submit(Job("for i in 1 2 3 4 5 6; do echo line $i; sleep 0.5; done; echo end"));
  observer_.WaitFor(id, [](const JobRecord& j) { return j.state == JobState::kRunning; });
  std::this_thread::sleep_for(1200ms);
  dispatcher_->Stop();  // the container keeps running
  dispatcher_.reset();
  ASSERT_TRUE(ContainersLeft(id));
  StartDispatcher();
  JobRecord done = observer_.WaitFinal(id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.reason;
  std::ifstream log(dir_.path() / "jobs" / id / "log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);)
    lines.emplace_back(line.substr(line.find(" o ") + 3));
  EXPECT_EQ(lines, (std::vector<std::string>{"line 1", "line 2", "line 3", "line 4", "line 5",
                                             "line 6", "end"}));
  EXPECT_FALSE(ContainersLeft(id));
}

TEST_F(DispatcherDockerTest, StrayContainersOfThisInstanceAreRemovedAtStart) {
  runtime::ContainerSpec stray;
  stray.name = "labelrun-stray-" + testing::RandomHex(6);
  stray.image = testing::kTestImage;
  stray.cmd = {"sleep", "60"};
  stray.labels = {{"labelrun.instance", instance_}, {"labelrun.job", "jnotknown"}};
  auto id = runtime_->Create(stray);
  ASSERT_TRUE(id);
  StartDispatcher();
  auto left = runtime_->List({{"labelrun.instance", instance_}});
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
}

TEST_F(DispatcherDockerTest, OutputsAreCollectedBeforeTheContainerGoes) {
  StartDispatcher();
  NewJob j = Job("mkdir -p out/ckpt && echo weights > out/ckpt/model.bin && echo done");
  j.spec.outputs = "/workspace/out";
  const std::string id = Submit(j);
  JobRecord done = observer_.WaitFinal(id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.reason;
  const auto tar = dir_.path() / "jobs" / id / "outputs.tar";
  ASSERT_TRUE(std::filesystem::exists(tar));
  std::string listing;
  ASSERT_EQ(testing::RunCommand({"/usr/bin/tar", "-tf", tar.string()}, &listing), 0) << listing;
  EXPECT_NE(listing.find("out/ckpt/model.bin"), std::string::npos) << listing;
  auto events = store_->Events(id);
  ASSERT_TRUE(events);
  EXPECT_NE(events->back().detail.find("outputs collected"), std::string::npos);
}

// A job that writes more than its rule's outputs_max_bytes: what fits is kept,
// the rest is left out with the reason, and the 1 GiB sparse file never
// reaches labelrun's disk (the copy stops at the cap).
TEST_F(DispatcherDockerTest, OutputsOverTheCapAreTruncatedWithTheReason) {
  StartDispatcher();
  NewJob j =
      Job("mkdir -p out && echo weights > out/a.txt && "
          "dd if=/dev/zero of=out/big.bin bs=1048576 count=0 seek=1024 2>/dev/null && echo done");
  j.spec.outputs = "/workspace/out";
  j.spec.outputs_max_bytes = 1 << 20;
  const auto start = std::chrono::steady_clock::now();
  const std::string id = Submit(j);
  JobRecord done = observer_.WaitFinal(id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.reason;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  const auto tar = dir_.path() / "jobs" / id / "outputs.tar";
  ASSERT_TRUE(std::filesystem::exists(tar));
  EXPECT_LE(std::filesystem::file_size(tar), 1u << 20);
  std::string listing;
  ASSERT_EQ(testing::RunCommand({"/usr/bin/tar", "-tf", tar.string()}, &listing), 0) << listing;
  EXPECT_NE(listing.find("out/a.txt"), std::string::npos) << listing;
  EXPECT_EQ(listing.find("big.bin"), std::string::npos) << listing;
  auto events = store_->Events(id);
  ASSERT_TRUE(events);
  const std::string& detail = events->back().detail;
  EXPECT_NE(detail.find("outputs truncated"), std::string::npos) << detail;
  EXPECT_NE(detail.find("out/big.bin' (1 GiB)"), std::string::npos) << detail;
  EXPECT_NE(testing::ReadFile(dir_.path() / "jobs" / id / "outputs.truncated").find("big.bin"),
            std::string::npos);
}

// The GPU sampler runs nvidia-smi in the job's container. This host has no GPU,
// so the job installs a stand-in nvidia-smi that reports an idle GPU, and the
// host passes its GPU as NVIDIA_VISIBLE_DEVICES only.
TEST_F(DispatcherDockerTest, AnIdleGpuIsSampledAndTheJobStopped) {
  tune_options = [](DispatcherOptions& o) {
    o.gpu_sample_interval = 300ms;
    o.idle_below_percent = 5;
    o.idle_for = 1s;
  };
  StartDispatcher({"GPU-test-0"}, /*device_requests=*/false);
  const std::string id =
      Submit(Job("printf '#!/bin/sh\\necho \"0, 2, 1200, 81920\"\\n' > /bin/nvidia-smi; "
                 "chmod +x /bin/nvidia-smi; echo ready; sleep 120",
                 1));
  JobRecord done = observer_.WaitFinal(id, 60s);
  EXPECT_EQ(done.state, JobState::kFailed);
  EXPECT_EQ(done.reason, "stopped: GPU idle below 5% for 1s");
  EXPECT_FALSE(ContainersLeft(id));
}

// Restarts a Docker daemon: a private one started for the test, never the
// machine's own (on a GPU host that would kill every running training).
class DockerDaemonRestartTest : public DispatcherDockerTest {
 protected:
  void SetUp() override {
    had_docker0_ = std::filesystem::exists("/sys/class/net/docker0");
    const std::string started = dockerd_.Start();
    ASSERT_EQ(started, "");
    docker_url_ = dockerd_.url();
    DispatcherDockerTest::SetUp();
  }
  testing::PrivateDockerd dockerd_;
  bool had_docker0_ = false;
};

TEST_F(DockerDaemonRestartTest, NoJobIsLeftRunningWhenDockerdRestarts) {
  StartDispatcher();
  const std::string id = Submit(Job("echo started; sleep 120"));
  observer_.WaitFor(id, [](const JobRecord& j) { return j.state == JobState::kRunning; });
  // The job runs on the private daemon, not on the machine's.
  auto here = testing::ConnectTestDocker();
  ASSERT_TRUE(here);
  auto on_machine = (*here)->List({{"labelrun.job", id}});
  ASSERT_TRUE(on_machine);
  EXPECT_TRUE(on_machine->empty());
  ASSERT_TRUE(ContainersLeft(id));
  const std::string restarted = dockerd_.Restart();
  ASSERT_EQ(restarted, "");
  JobRecord done = observer_.WaitFinal(id, 90s);
  EXPECT_TRUE(IsFinal(done.state)) << JobStateName(done.state);
  EXPECT_EQ(done.state, JobState::kFailed) << done.reason;
  EXPECT_FALSE(ContainersLeft(id));
  // The dispatcher still works with the restarted daemon.
  const std::string next = Submit(Job("echo after", 0, "train", 2));
  EXPECT_EQ(observer_.WaitFinal(next).state, JobState::kSucceeded);
  // The machine's daemon kept its bridge.
  EXPECT_EQ(std::filesystem::exists("/sys/class/net/docker0"), had_docker0_);
}

}  // namespace
}  // namespace labelrun::scheduler
