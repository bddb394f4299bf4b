#include "labelrun/scheduler/dispatcher.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "active.hpp"
#include "labelrun/core/strings.hpp"

namespace labelrun::scheduler {
namespace {

std::vector<HostSlots> SlotsOf(const std::vector<Host>& hosts) {
  std::vector<HostSlots> out;
  for (const Host& h : hosts) out.push_back(h.slots);
  return out;
}

std::string NewJobId() {
  unsigned char bytes[5];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    static std::atomic<uint64_t> fallback{0};
    const uint64_t n = ++fallback;
    std::memcpy(bytes, &n, sizeof bytes);
  }
  return "j" + HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace

Dispatcher::Dispatcher(DispatcherOptions options, std::vector<Host> hosts, store::JobStore& store,
                       runtime::SourceProvider& source, JobObserver& observer, const Clock& clock)
    : options_(std::move(options)),
      hosts_(std::move(hosts)),
      store_(store),
      source_(source),
      observer_(observer),
      clock_(clock),
      planner_(SlotsOf(hosts_), options_.max_per_repository) {}

Dispatcher::~Dispatcher() { Stop(); }

std::filesystem::path Dispatcher::JobDir(const std::string& job_id) const {
  return options_.jobs_dir / job_id;
}

Host* Dispatcher::FindHost(const std::string& name) {
  for (Host& h : hosts_) {
    if (h.slots.name == name) return &h;
  }
  return nullptr;
}

Demand Dispatcher::DemandOf(const store::JobRecord& job) const {
  return Demand{job.id,        job.seq,       job.spec.priority,      job.repository,
                job.spec.rule, job.spec.gpus, job.spec.host_selector, job.spec.max_concurrent};
}

void Dispatcher::Wake() { cv_.notify_all(); }

Status Dispatcher::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return Unexpected(ErrorCode::kFailedPrecondition, "dispatcher already started");
    started_ = true;
  }
  Status recovered = Recover();
  loop_ = std::thread([this] { Loop(); });
  return recovered;
}

void Dispatcher::Stop() {
  std::vector<std::shared_ptr<Active>> active;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, a] : active_) active.push_back(a);
  }
  for (auto& a : active) {
    a->stop_following = true;
    std::lock_guard lock(a->mu);
    if (a->pending) a->pending->Abandon();
  }
  Wake();
  if (loop_.joinable()) loop_.join();
  // Workers end on their own once they see stop_following; join them all.
  while (true) {
    std::vector<std::thread> threads;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(50));
      threads.swap(finished_threads_);
      if (threads.empty() && active_.empty()) break;
    }
    for (std::thread& t : threads) {
      if (t.joinable()) t.join();
    }
  }
}

void Dispatcher::Persist(store::JobRecord& job, std::string_view detail) {
  if (Status s = store_.Update(job, clock_.NowUnixMillis(), detail); !s) {
    spdlog::error("job {}: could not store state {}: {}", job.id, JobStateName(job.state),
                  s.error().message());
  }
  observer_.OnJobChanged(job, job.state == JobState::kQueued ? QueuePosition(job.id) : 0);
}

void Dispatcher::FailNow(store::JobRecord& job, std::string reason) {
  job.state = JobState::kFailed;
  job.reason = std::move(reason);
  job.finished_ms = clock_.NowUnixMillis();
  spdlog::warn("job {} failed: {}", job.id, job.reason);
  Persist(job, job.reason);
}

Result<std::string> Dispatcher::ResolveCommit(const std::string& repository, int64_t installation) {
  Result<std::string> commit = source_.ResolveCommit(repository, installation);
  if (!commit) {
    return Unexpected(commit.error().code(), "cannot resolve the commit of " + repository + ": " +
                                                 commit.error().message());
  }
  return commit;
}

Result<store::JobRecord> Dispatcher::Submit(NewJob request) {
  store::JobRecord job;
  job.id = NewJobId();
  job.delivery = std::move(request.delivery);
  job.repository = std::move(request.repository);
  job.issue = request.issue;
  job.installation = request.installation;
  job.sender = std::move(request.sender);
  job.spec = std::move(request.spec);
  job.commit = std::move(request.commit);
  job.pull_request = request.pull_request;
  job.from_fork = request.from_fork;
  job.trigger_label = std::move(request.trigger_label);
  if (job.commit.empty() && job.pull_request) {
    return Unexpected(ErrorCode::kInvalidArgument, "a pull request's job needs its head commit");
  }
  if (job.commit.empty()) {
    Result<std::string> commit = ResolveCommit(job.repository, job.installation);
    if (!commit) return commit.error();
    job.commit = *commit;
  }
  const Demand demand = DemandOf(job);
  std::optional<std::string> never = planner_.NeverFits(demand);
  if (Status s = store_.Insert(job, clock_.NowUnixMillis()); !s) return s.error();
  if (never) {
    FailNow(job, "it can never run here: " + *never);
    return job;
  }
  {
    std::lock_guard lock(mu_);
    Demand d = DemandOf(job);
    planner_.Enqueue(d);
  }
  spdlog::info(
      "job {} queued: rule={} repo={} issue={} commit={}{}", job.id, job.spec.rule, job.repository,
      job.issue, job.commit,
      job.pull_request ? (job.from_fork ? " (pull request from a fork)" : " (pull request)") : "");
  observer_.OnJobChanged(job, QueuePosition(job.id));
  NotifyQueuePositions();
  Wake();
  return job;
}

void Dispatcher::RequestStop(const std::shared_ptr<Active>& a, EndCause cause, std::string detail) {
  std::lock_guard lock(a->mu);
  if (a->cause != EndCause::kNone) return;
  a->cause = cause;
  a->cause_detail = std::move(detail);
  a->stop_requested = true;
  if (a->running && !a->container_id.empty() && !a->stopper.joinable()) {
    const auto grace = std::chrono::duration_cast<std::chrono::seconds>(options_.stop_grace);
    // RunJob joins the stopper before `a` goes.
    a->stopper = std::thread([self = a.get(), rt = a->runtime, id = a->container_id, grace] {
      Result<bool> stopped = rt->Stop(id, grace);
      if (!stopped) {
        spdlog::warn("job {}: stopping its container failed: {}", self->job_id,
                     stopped.error().message());
        return;
      }
      std::lock_guard lock(self->mu);
      self->stop_found_running = *stopped;
    });
  }
}

Status Dispatcher::Cancel(const std::string& job_id, const std::string& by) {
  std::shared_ptr<Active> active;
  bool was_queued = false;
  {
    std::lock_guard lock(mu_);
    was_queued = planner_.Dequeue(job_id);
    if (!was_queued) {
      auto it = active_.find(job_id);
      if (it != active_.end()) active = it->second;
    }
  }
  bool ended = false;
  if (active) {
    // The worker stores the job's end under this lock: either the end is
    // stored and this cancel is too late, or the cancel is stored first.
    std::lock_guard lock(active->mu);
    ended = active->ended;
    if (!ended && active->cause == EndCause::kNone) (void)store_.SetCancelBy(job_id, by);
  }
  // A job whose end is stored already is answered from the store, like one
  // whose worker has gone.
  if (active && !ended) {
    RequestStop(active, EndCause::kCancelled, by);
    spdlog::info("job {}: cancellation asked by {}", job_id, by);
    return Ok();
  }
  Result<std::optional<store::JobRecord>> job = store_.Get(job_id);
  if (!job) return job.error();
  if (!*job) return Unexpected(ErrorCode::kNotFound, "no job " + job_id);
  if (!was_queued) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      "job " + job_id + " is already " + std::string(JobStateName((*job)->state)));
  }
  store::JobRecord& j = **job;
  j.state = JobState::kCancelled;
  j.cancel_by = by;
  j.reason = "cancelled by " + by + " while queued";
  j.finished_ms = clock_.NowUnixMillis();
  Persist(j, j.reason);
  NotifyQueuePositions();
  Wake();
  return Ok();
}

Result<int> Dispatcher::CancelOn(const std::string& repository, int64_t issue,
                                 const std::string& rule, const std::string& by,
                                 const std::string& delivery) {
  store::JobFilter filter;
  filter.repository = repository;
  filter.open_only = true;
  filter.limit = 1000;
  Result<std::vector<store::JobRecord>> jobs = store_.List(filter);
  if (!jobs) return jobs.error();
  int n = 0;
  for (const store::JobRecord& job : *jobs) {
    if (job.issue != issue || (!rule.empty() && job.spec.rule != rule)) continue;
    n += Cancel(job.id, by).has_value();
  }
  if (!delivery.empty()) {
    if (Status s = store_.MarkDeliveryDone(delivery, clock_.NowUnixMillis()); !s) {
      spdlog::warn("delivery {}: cannot record the cancel at once: {}", delivery,
                   s.error().message());
      return s.error();
    }
  }
  return n;
}

Result<store::JobRecord> Dispatcher::Retry(const std::string& job_id, const std::string& by) {
  Result<std::optional<store::JobRecord>> old = store_.Get(job_id);
  if (!old) return old.error();
  if (!*old) return Unexpected(ErrorCode::kNotFound, "no job " + job_id);
  NewJob again;
  again.repository = (*old)->repository;
  again.issue = (*old)->issue;
  again.installation = (*old)->installation;
  again.sender = by;
  again.spec = (*old)->spec;
  again.commit = (*old)->commit;
  again.pull_request = (*old)->pull_request;
  again.from_fork = (*old)->from_fork;
  again.trigger_label = (*old)->trigger_label;
  return Submit(std::move(again));
}

Result<std::optional<store::JobRecord>> Dispatcher::Job(const std::string& job_id) {
  return store_.Get(job_id);
}

Result<std::vector<store::JobRecord>> Dispatcher::OpenOn(const std::string& repository,
                                                         int64_t issue) {
  store::JobFilter filter;
  filter.repository = repository;
  filter.open_only = true;
  filter.limit = 1000;
  Result<std::vector<store::JobRecord>> jobs = store_.List(filter);
  if (!jobs) return jobs.error();
  std::vector<store::JobRecord> out;
  for (auto it = jobs->rbegin(); it != jobs->rend(); ++it) {
    if (it->issue == issue) out.push_back(std::move(*it));
  }
  return out;
}

int Dispatcher::QueuePosition(const std::string& job_id) const {
  std::lock_guard lock(mu_);
  return planner_.QueuePosition(job_id);
}

void Dispatcher::NotifyQueuePositions() {
  // A job joining the back of the queue moves nobody, so a burst of submissions
  // costs one look per job, not one per job already waiting.
  std::vector<std::pair<std::string, int>> moved;
  {
    std::lock_guard lock(mu_);
    const std::vector<std::string> queue = planner_.Queue();
    std::unordered_map<std::string, int> now;
    now.reserve(queue.size());
    for (size_t i = 0; i < queue.size(); ++i) {
      const int position = static_cast<int>(i + 1);
      auto told = told_positions_.find(queue[i]);
      if (told == told_positions_.end() || told->second != position)
        moved.emplace_back(queue[i], position);
      now.emplace(queue[i], position);
    }
    told_positions_.swap(now);
  }
  for (const auto& [id, position] : moved) {
    Result<std::optional<store::JobRecord>> job = store_.Get(id);
    if (job && *job && (*job)->state == JobState::kQueued) observer_.OnJobChanged(**job, position);
  }
}

DispatcherStats Dispatcher::Stats() const {
  DispatcherStats stats;
  std::lock_guard lock(mu_);
  stats.queue_depth = planner_.QueueSize();
  stats.jobs_by_state["queued"] = static_cast<int>(planner_.QueueSize());
  stats.gpus_in_use = planner_.GpusInUse();
  for (const Host& h : hosts_)
    stats.gpus_total[h.slots.name] = static_cast<int>(h.slots.gpus.size());
  for (const auto& [id, a] : active_) {
    std::lock_guard job_lock(a->mu);
    ++stats.jobs_by_state[a->running ? "running" : "starting"];
    auto it = gpu_readings_.find(id);
    if (it != gpu_readings_.end()) stats.gpu_samples[id] = {a->host, it->second};
  }
  return stats;
}

std::vector<GpuSample> Dispatcher::GpuReadings(const std::string& job_id) const {
  std::lock_guard lock(mu_);
  auto it = gpu_readings_.find(job_id);
  return it == gpu_readings_.end() ? std::vector<GpuSample>{} : it->second;
}

void Dispatcher::Loop() {
  while (true) {
    std::vector<std::thread> to_join;
    std::vector<std::pair<std::shared_ptr<Active>, EndCause>> overdue;
    bool placed = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1));
      if (stopping_) return;
      to_join.swap(finished_threads_);
      for (const Assignment& a : planner_.Schedule()) {
        auto active = std::make_shared<Active>();
        active->job_id = a.job_id;
        active->host = a.host;
        Host* host = FindHost(a.host);
        active->runtime = host ? host->runtime : nullptr;
        active_[a.job_id] = active;
        // Started under the lock: the worker's last step takes it, so its
        // std::thread is in place before it can hand itself over for joining.
        active->gpus = a.gpus;
        active->worker = std::thread([this, active] { RunJob(active); });
        placed = true;
      }
      const auto now = clock_.Steady();
      for (auto& [id, a] : active_) {
        std::lock_guard job_lock(a->mu);
        if (a->running && a->cause == EndCause::kNone && now >= a->deadline) {
          overdue.emplace_back(a, EndCause::kTimedOut);
        }
      }
    }
    for (auto& [a, cause] : overdue) RequestStop(a, cause, "");
    for (std::thread& t : to_join) {
      if (t.joinable()) t.join();
    }
    if (placed) NotifyQueuePositions();
  }
}

}  // namespace labelrun::scheduler
