#pragma once
// The dispatcher: decided jobs become containers on the right host with the
// right GPUs, their logs are followed, and they end cleanly — on success,
// failure, timeout, cancellation, an idle GPU, or a labelrun restart.
//
// Every state change is stored (store::JobStore) before it is acted on. One
// loop thread places queued jobs and enforces deadlines; each placed job has a
// worker thread for its blocking runtime calls. Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "labelrun/core/clock.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/runtime/runtime.hpp"
#include "labelrun/runtime/source.hpp"
#include "labelrun/scheduler/planner.hpp"
#include "labelrun/store/jobs.hpp"

namespace labelrun::scheduler {

// One GPU's reading, from nvidia-smi in the job's container.
struct GpuSample {
  std::string gpu;  // index or uuid as nvidia-smi reports it
  double utilization_percent = 0;
  double memory_used_mib = 0;
  double memory_total_mib = 0;
};

// The reporting side. Calls come from the dispatcher's threads, never under
// its lock; implementations must be thread-safe and quick.
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  // After a state change was stored; also when a queued job's position moved.
  virtual void OnJobChanged(const store::JobRecord& job, int queue_position) = 0;
  // One log line, in order per job, as the job's log file stores it: no line terminator,
  // except the '\r' that ends a redraw (a progress bar the next line is drawn over).
  virtual void OnLogLine(const std::string& job_id, runtime::LogStream stream,
                         std::string_view text) = 0;
  virtual void OnGpuSamples(const std::string& job_id, const std::vector<GpuSample>& samples) = 0;
};

struct Host {
  HostSlots slots;
  std::string endpoint;  // for messages and metrics
  std::shared_ptr<runtime::Runtime> runtime;
  // Off: GPUs are allocated and passed as NVIDIA_VISIBLE_DEVICES only, without a
  // DeviceRequest (for trying GPU scheduling on a host without the NVIDIA runtime).
  bool device_requests = true;
  uint64_t default_memory_bytes = 0;  // for jobs whose rule sets no memory limit; 0: none
};

struct DispatcherOptions {
  std::filesystem::path jobs_dir;  // one folder per job: log, outputs
  std::chrono::milliseconds stop_grace{std::chrono::seconds(30)};
  std::chrono::milliseconds gpu_sample_interval{std::chrono::seconds(30)};
  int idle_below_percent = 0;  // 0: the idle guard is off
  std::chrono::milliseconds idle_for{std::chrono::minutes(10)};
  int max_per_repository = 0;  // 0: no cap
  uint64_t max_source_bytes = uint64_t{2} << 30;
  // Containers carry labelrun.instance=<this>; only those are reconciled, so
  // several labelrun installations can share one Docker daemon.
  std::string instance;
  // How long a job waits for its Docker daemon to come back before it is failed.
  std::chrono::milliseconds daemon_grace{std::chrono::minutes(2)};
  // How often a job waiting in a cluster's queue (Slurm) is looked at.
  std::chrono::milliseconds cluster_poll{std::chrono::seconds(2)};
};

struct NewJob {
  std::string delivery;
  std::string repository;
  int64_t issue = 0;
  int64_t installation = 0;
  std::string sender;
  rules::JobSpec spec;
  std::string commit;  // empty: resolved from the source provider now
  // A pull request's head (see store::JobRecord): `commit` must be set.
  bool pull_request = false;
  bool from_fork = false;
  std::string trigger_label;
};

struct DispatcherStats {
  std::map<std::string, int> jobs_by_state;  // open jobs, by state name
  std::map<std::string, int> gpus_in_use;    // by host
  std::map<std::string, int> gpus_total;     // by host
  size_t queue_depth = 0;
  // The latest GPU readings of running jobs: job id -> samples.
  std::map<std::string, std::pair<std::string, std::vector<GpuSample>>> gpu_samples;  // host
};

class Dispatcher {
 public:
  Dispatcher(DispatcherOptions options, std::vector<Host> hosts, store::JobStore& store,
             runtime::SourceProvider& source, JobObserver& observer, const Clock& clock);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Reconciles the store with the containers the hosts run (re-attaching,
  // closing, removing strays), then starts the loop. Call once.
  Status Start();
  // Stops following jobs and joins every thread. Containers keep running; the
  // next Start re-attaches them.
  void Stop();

  // The commit a new job on `repository` runs when its request names none: the
  // source provider's answer (for GitHub, the head of the default branch). The
  // error keeps the provider's code: transient ones are worth a later retry.
  Result<std::string> ResolveCommit(const std::string& repository, int64_t installation);
  // Stores a new queued job (or fails it at once when it can never fit) and
  // returns it. kAlreadyExists when the rule already has an open job there.
  Result<store::JobRecord> Submit(NewJob job);
  // Cancels a job: a queued one at once; a running one is stopped (grace
  // period, then killed). `by` is who asked, e.g. "@alice".
  Status Cancel(const std::string& job_id, const std::string& by);
  // Cancels the open jobs on an issue (of `rule`, or all when empty); returns how many.
  // With a `delivery`, that delivery's inbox row is marked done before this returns,
  // so that a crash before the processor records its batch never replays the cancel
  // onto jobs that later deliveries started; an error when that mark could not be
  // written (the delivery is then handed over again, and the next waits).
  Result<int> CancelOn(const std::string& repository, int64_t issue, const std::string& rule,
                       const std::string& by, const std::string& delivery = "");
  // A new job from the same decision as `job_id` (same spec and commit).
  Result<store::JobRecord> Retry(const std::string& job_id, const std::string& by);
  // The stored job; nullopt when there is none.
  Result<std::optional<store::JobRecord>> Job(const std::string& job_id);
  // The jobs not yet final on an issue or pull request, oldest first.
  Result<std::vector<store::JobRecord>> OpenOn(const std::string& repository, int64_t issue);

  int QueuePosition(const std::string& job_id) const;
  DispatcherStats Stats() const;
  // The latest GPU readings of a job (empty when none).
  std::vector<GpuSample> GpuReadings(const std::string& job_id) const;
  const DispatcherOptions& options() const { return options_; }
  std::filesystem::path JobDir(const std::string& job_id) const;

 private:
  struct Active;
  enum class EndCause { kNone, kCancelled, kTimedOut, kIdleGpu, kShutdown };

  void Loop();
  void RunJob(std::shared_ptr<Active> active);
  // Resolves pulling/creating/starting; false when the job ended on the way.
  bool Launch(Active& a, store::JobRecord& job);
  // A cluster host (Slurm) queues the submitted job itself: shows its place and
  // the cluster's reason while it waits, and the node and GPUs once it runs
  // (`node`, job.gpus, and `started_ms`: when the cluster started it, 0 when it
  // does not say). False when it ended on the way (job says how).
  bool WaitInClusterQueue(Active& a, store::JobRecord& job, std::string& node, int64_t& started_ms);
  // The job's container runs from `started_ms` on (0: now): stored as running,
  // its timeout counted from then; a stop asked for meanwhile is sent.
  void MarkRunning(Active& a, store::JobRecord& job, const std::string& node, int64_t started_ms);
  // Recovery found the job still in the cluster's queue: waits there as
  // Launch does, then runs it. False when it ended on the way.
  bool ResumeInClusterQueue(Active& a, store::JobRecord& job);
  void Follow(Active& a, store::JobRecord& job);
  void Finish(Active& a, store::JobRecord& job);
  void SampleGpus(Active& a, const store::JobRecord& job);
  void RequestStop(const std::shared_ptr<Active>& a, EndCause cause, std::string detail);
  // Stores the change, then tells the observer.
  void Persist(store::JobRecord& job, std::string_view detail);
  void FailNow(store::JobRecord& job, std::string reason);
  void NotifyQueuePositions();
  Status Recover();
  Host* FindHost(const std::string& name);
  Demand DemandOf(const store::JobRecord& job) const;
  void Wake();

  DispatcherOptions options_;
  std::vector<Host> hosts_;
  store::JobStore& store_;
  runtime::SourceProvider& source_;
  JobObserver& observer_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  Planner planner_;
  std::map<std::string, std::shared_ptr<Active>> active_;  // placed jobs
  std::vector<std::thread> finished_threads_;              // joined by the loop
  std::map<std::string, std::vector<GpuSample>> gpu_readings_;
  // The queue position each queued job was last told of, so that only jobs
  // whose place changed are looked up and told again.
  std::unordered_map<std::string, int> told_positions_;
  std::thread loop_;
};

// Docker's own words made readable: "the host has no NVIDIA runtime (...)" for
// a start refused for want of the nvidia driver, else the message itself.
std::string DescribeStartFailure(std::string_view docker_message);
// nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total
// --format=csv,noheader,nounits output -> samples; malformed lines are skipped.
std::vector<GpuSample> ParseNvidiaSmi(std::string_view csv);

}  // namespace labelrun::scheduler
