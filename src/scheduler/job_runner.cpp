// The life of one placed job, on its worker thread: pull, create, copy the code
// in, register the wait, start, follow the logs, end, collect, remove.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "active.hpp"
#include "labelrun/core/strings.hpp"
#include "labelrun/core/units.hpp"
#include "labelrun/runtime/slurm.hpp"
#include "labelrun/scheduler/dispatcher.hpp"
#include "log_file.hpp"

namespace labelrun::scheduler {
namespace {

using std::chrono::milliseconds;

runtime::ContainerSpec MakeContainerSpec(const store::JobRecord& job, const Host& host,
                                         const std::string& instance) {
  runtime::ContainerSpec c;
  c.name = "labelrun-" + job.id;
  c.image = job.spec.image;
  c.cmd = job.spec.command;
  for (const auto& [k, v] : job.spec.env) c.env.push_back(k + "=" + v);
  c.env.push_back("PYTHONUNBUFFERED=1");
  c.env.push_back("LABELRUN_JOB_ID=" + job.id);
  std::string gpus;
  for (const std::string& g : job.gpus) gpus += (gpus.empty() ? "" : ",") + g;
  if (!job.gpus.empty()) {
    if (host.device_requests) {
      c.gpu_ids = job.gpus;
    } else {
      c.env.push_back("NVIDIA_VISIBLE_DEVICES=" + gpus);
    }
  }
  c.working_dir = job.spec.working_dir;
  c.labels = {{"labelrun.job", job.id},
              {"labelrun.repo", job.repository},
              {"labelrun.issue", std::to_string(job.issue)},
              {"labelrun.rule", job.spec.rule},
              {"labelrun.instance", instance},
              {"labelrun.gpus", gpus}};
  c.memory_bytes = job.spec.memory_bytes;
  c.shm_bytes = job.spec.shm_bytes;
  c.nano_cpus = static_cast<int64_t>(std::llround(job.spec.cpus * 1e9));
  c.pids_limit = 4096;
  c.cap_add = job.spec.cap_add;
  c.binds = job.spec.mounts;
  c.user = job.spec.user;
  c.network_mode = job.spec.network;
  // A cluster allocates the GPUs itself, and enforces a time limit of its own.
  if (job.gpus.empty()) c.gpu_count = job.spec.gpus;
  c.time_limit = std::chrono::ceil<std::chrono::seconds>(job.spec.timeout);
  return c;
}

// " (node n1, GPUs 0,1)" for a job a cluster placed; empty otherwise.
std::string RunsOn(const std::string& node, const std::vector<std::string>& gpus) {
  if (node.empty()) return "";
  std::string out = " (node " + node;
  for (size_t i = 0; i < gpus.size(); ++i) {
    out += (i == 0 ? (gpus.size() == 1 ? ", GPU " : ", GPUs ") : ",") + gpus[i];
  }
  return out + ")";
}

bool Transient(const Error& e) {
  return e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kDeadlineExceeded;
}

}  // namespace

std::string DescribeStartFailure(std::string_view message) {
  if (message.find("could not select device driver") != std::string_view::npos) {
    return "the host has no NVIDIA runtime (Docker: " + std::string(message) + ")";
  }
  return "Docker refused to start the container: " + std::string(message);
}

std::vector<GpuSample> ParseNvidiaSmi(std::string_view csv) {
  std::vector<GpuSample> out;
  for (std::string_view line : Split(csv, '\n')) {
    std::vector<std::string_view> f = Split(Trim(line), ',');
    if (f.size() < 4) continue;
    GpuSample s;
    s.gpu = std::string(Trim(f[0]));
    try {
      s.utilization_percent = std::stod(std::string(Trim(f[1])));
      s.memory_used_mib = std::stod(std::string(Trim(f[2])));
      s.memory_total_mib = std::stod(std::string(Trim(f[3])));
    } catch (const std::exception&) {
      continue;  // "[N/A]" and the like
    }
    if (s.gpu.empty() || !std::isfinite(s.utilization_percent)) continue;
    out.push_back(std::move(s));
  }
  return out;
}

void Dispatcher::RunJob(std::shared_ptr<Active> a) {
  Result<std::optional<store::JobRecord>> loaded = store_.Get(a->job_id);
  if (loaded && *loaded) {
    store::JobRecord job = std::move(**loaded);
    bool launched = true;
    if (!a->attach) {
      job.host = a->host;
      job.gpus = a->gpus;
      launched = Launch(*a, job);
    } else if (a->attach_pending) {
      launched = ResumeInClusterQueue(*a, job);
    }
    if (launched) {
      Follow(*a, job);
      if (!a->stop_following) Finish(*a, job);
    }
  } else {
    spdlog::error("job {}: cannot load it: {}", a->job_id,
                  loaded ? "not in the store" : loaded.error().message());
  }
  if (a->stopper.joinable()) a->stopper.join();
  std::lock_guard lock(mu_);
  planner_.Release(a->job_id);
  gpu_readings_.erase(a->job_id);
  finished_threads_.push_back(std::move(a->worker));
  active_.erase(a->job_id);
  cv_.notify_all();
}

bool Dispatcher::Launch(Active& a, store::JobRecord& job) {
  runtime::Runtime& rt = *a.runtime;
  Host* host = FindHost(job.host);
  // A rule without a memory limit gets the host's default (named in an OOM kill too).
  if (job.spec.memory_bytes == 0 && host != nullptr) {
    job.spec.memory_bytes = host->default_memory_bytes;
  }
  auto cancelled = [&] {
    if (!a.stop_requested) return false;
    std::lock_guard lock(a.mu);
    job.state = JobState::kCancelled;
    job.cancel_by = a.cause_detail;
    job.reason = "cancelled by " + a.cause_detail + " before it started";
    job.finished_ms = clock_.NowUnixMillis();
    return true;
  };
  // Docker being down is waited out for a while: the job is not lost to a
  // daemon restart.
  auto retrying = [&](auto call) {
    const auto give_up = clock_.Steady() + options_.daemon_grace;
    while (true) {
      auto r = call();
      if (r || !Transient(r.error()) || clock_.Steady() >= give_up || a.stop_following ||
          a.stop_requested) {
        return r;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  };

  Result<std::string> image_id = retrying([&] { return rt.ImageId(job.spec.image); });
  if (!image_id && image_id.error().code() == ErrorCode::kNotFound) {
    job.state = JobState::kPulling;
    Persist(job, "pulling " + job.spec.image);
    Status pulled = rt.Pull(job.spec.image, &a.stop_requested);
    if (cancelled()) {
      Persist(job, job.reason);
      return false;
    }
    if (!pulled) {
      FailNow(job, "could not pull " + job.spec.image + ": " + pulled.error().message());
      return false;
    }
  } else if (!image_id) {
    FailNow(job, "Docker on " + job.host + " is unreachable: " + image_id.error().message());
    return false;
  }
  if (Result<std::string> digest = rt.ImageDigest(job.spec.image)) job.image_digest = *digest;

  job.state = JobState::kStarting;
  Persist(job, "creating the container on " + job.host);
  Result<std::string> archive =
      retrying([&] { return source_.Archive(job.repository, job.installation, job.commit); });
  if (!archive) {
    FailNow(job, "could not fetch the code at " + job.commit + ": " + archive.error().message());
    return false;
  }
  if (archive->size() > options_.max_source_bytes) {
    FailNow(job, "the code archive is " + FormatBytes(archive->size()) + ", over the limit of " +
                     FormatBytes(options_.max_source_bytes));
    return false;
  }
  if (cancelled()) {
    Persist(job, job.reason);
    return false;
  }
  Result<std::string> id =
      retrying([&] { return rt.Create(MakeContainerSpec(job, *host, options_.instance)); });
  if (!id) {
    FailNow(job, "Docker refused to create the container: " + id.error().message());
    return false;
  }
  job.container_id = *id;
  Persist(job, "container " + id->substr(0, 12) + " created");
  {
    std::lock_guard lock(a.mu);
    a.container_id = *id;
  }
  auto abandon = [&](std::string reason) {
    if (Status removed = rt.Remove(*id); !removed) {
      spdlog::warn("job {}: removing its container failed: {}", job.id, removed.error().message());
    }
    if (cancelled()) {
      Persist(job, job.reason);
    } else {
      FailNow(job, std::move(reason));
    }
    return false;
  };
  if (!archive->empty()) {
    if (Status copied = rt.CopyIn(*id, job.spec.working_dir, *archive); !copied) {
      return abandon("could not copy the code into the container: " + copied.error().message());
    }
  }
  if (cancelled()) return abandon("");
  Result<std::unique_ptr<runtime::PendingExit>> pending = rt.WaitNextExit(*id);
  if (!pending) return abandon("could not wait for the container: " + pending.error().message());
  {
    std::lock_guard lock(a.mu);
    a.pending = std::move(*pending);
  }
  if (Status started = rt.Start(*id); !started) {
    return abandon(DescribeStartFailure(started.error().message()));
  }
  std::string node;
  int64_t started_ms = 0;
  if (host != nullptr && host->slots.cluster) {
    if (!WaitInClusterQueue(a, job, node, started_ms)) {
      if (Status removed = rt.Remove(*id); !removed) {
        spdlog::warn("job {}: removing its job folder failed: {}", job.id,
                     removed.error().message());
      }
      Persist(job, job.reason);
      return false;
    }
    if (a.stop_following) return true;
  }
  MarkRunning(a, job, node, started_ms);
  return true;
}

bool Dispatcher::ResumeInClusterQueue(Active& a, store::JobRecord& job) {
  std::string node;
  int64_t started_ms = 0;
  if (!WaitInClusterQueue(a, job, node, started_ms)) {
    if (Status removed = a.runtime->Remove(job.container_id); !removed) {
      spdlog::warn("job {}: removing its job folder failed: {}", job.id, removed.error().message());
    }
    Persist(job, job.reason);
    return false;
  }
  if (a.stop_following) return true;
  MarkRunning(a, job, node, started_ms);
  return true;
}

void Dispatcher::MarkRunning(Active& a, store::JobRecord& job, const std::string& node,
                             int64_t started_ms) {
  const int64_t now = clock_.NowUnixMillis();
  // The cluster's own start may lie a poll or a labelrun restart back, never ahead.
  if (started_ms <= 0 || started_ms > now) started_ms = now;
  job.state = JobState::kRunning;
  job.started_ms = started_ms;
  job.reason.clear();
  Persist(job, "started on " + job.host + RunsOn(node, job.gpus));
  spdlog::info("job {} running on {} (container {})", job.id, job.host,
               job.container_id.substr(0, 12));
  bool stop_now = false;
  {
    std::lock_guard lock(a.mu);
    a.running = true;
    a.deadline = clock_.Steady() + job.spec.timeout - milliseconds(now - started_ms);
    stop_now = a.cause != EndCause::kNone;
  }
  if (stop_now) {
    Result<bool> stopped = a.runtime->Stop(
        job.container_id, std::chrono::duration_cast<std::chrono::seconds>(options_.stop_grace));
    std::lock_guard lock(a.mu);
    if (stopped) a.stop_found_running = *stopped;
  }
}

bool Dispatcher::WaitInClusterQueue(Active& a, store::JobRecord& job, std::string& node,
                                    int64_t& started_ms) {
  runtime::Runtime& rt = *a.runtime;
  std::string shown;
  while (!a.stop_following) {
    if (a.stop_requested) {
      // Still queued by the cluster: taking it out of the queue is the whole stop.
      const auto grace = std::chrono::duration_cast<std::chrono::seconds>(options_.stop_grace);
      Result<bool> stopped = rt.Stop(job.container_id, grace);
      if (stopped && !*stopped) {
        std::lock_guard lock(a.mu);
        a.stop_found_running = false;
      }
      if (stopped && *stopped) {
        std::lock_guard lock(a.mu);
        job.state = JobState::kCancelled;
        job.cancel_by = a.cause_detail;
        job.reason = "cancelled by " + a.cause_detail + " while it waited in the cluster's queue";
        job.finished_ms = clock_.NowUnixMillis();
        return false;
      }
    }
    Result<runtime::ContainerState> state = rt.Inspect(job.container_id);
    if (state && !state->pending) {
      node = state->node;
      if (!state->gpus.empty()) job.gpus = state->gpus;
      started_ms = state->started_unix * 1000;
      return true;
    }
    if (state) {
      std::string where = "waiting in the cluster's queue";
      if (state->queue_position > 0) {
        where += " (position " + std::to_string(state->queue_position) + ")";
      }
      if (!state->pending_reason.empty()) {
        where += ": " + runtime::DescribePendingReason(state->pending_reason);
      }
      if (where != shown) {
        shown = where;
        job.reason = where;
        Persist(job, where);
      }
    } else if (!Transient(state.error())) {
      job.state = JobState::kFailed;
      job.reason = "lost the job in the cluster: " + state.error().message();
      job.finished_ms = clock_.NowUnixMillis();
      return false;
    }
    const auto next = clock_.Steady() + options_.cluster_poll;
    while (clock_.Steady() < next && !a.stop_following && !a.stop_requested) {
      std::this_thread::sleep_for(milliseconds(100));
    }
  }
  return true;
}

void Dispatcher::Follow(Active& a, store::JobRecord& job) {
  runtime::Runtime& rt = *a.runtime;
  const std::filesystem::path log_path = JobDir(job.id) / "log";
  Result<LogPosition> position = ReadLogPosition(log_path);
  LogWriter writer;
  Status opened = writer.Open(log_path, position ? *position : LogPosition{});
  if (!opened) spdlog::error("job {}: {}", job.id, opened.error().message());

  std::atomic<bool> sampling{true};
  std::thread sampler;
  if (!job.gpus.empty() && options_.gpu_sample_interval.count() > 0) {
    sampler = std::thread([&] {
      auto next = clock_.Steady() + options_.gpu_sample_interval;
      std::chrono::steady_clock::time_point idle_since{};
      bool idle = false;
      while (sampling) {
        std::this_thread::sleep_for(milliseconds(100));
        if (clock_.Steady() < next) continue;
        next = clock_.Steady() + options_.gpu_sample_interval;
        Result<runtime::ExecOutput> out =
            rt.Exec(job.container_id,
                    {"nvidia-smi", "--query-gpu=index,utilization.gpu,memory.used,memory.total",
                     "--format=csv,noheader,nounits"});
        if (!out || out->exit_code != 0) continue;
        std::vector<GpuSample> samples = ParseNvidiaSmi(out->stdout_text);
        if (samples.empty()) continue;
        {
          std::lock_guard lock(mu_);
          gpu_readings_[job.id] = samples;
        }
        observer_.OnGpuSamples(job.id, samples);
        if (options_.idle_below_percent <= 0) continue;
        bool all_idle = true;
        for (const GpuSample& s : samples)
          all_idle &= s.utilization_percent < options_.idle_below_percent;
        if (!all_idle) {
          idle = false;
          continue;
        }
        if (!idle) {
          idle = true;
          idle_since = clock_.Steady();
        }
        if (clock_.Steady() - idle_since >= options_.idle_for) {
          std::shared_ptr<Active> self;
          {
            std::lock_guard lock(mu_);
            auto it = active_.find(job.id);
            if (it != active_.end()) self = it->second;
          }
          if (self) {
            RequestStop(self, EndCause::kIdleGpu,
                        "stopped: GPU idle below " + std::to_string(options_.idle_below_percent) +
                            "% for " + FormatDuration(options_.idle_for));
          }
          return;
        }
      }
    });
  }

  const auto on_line = [&](const runtime::LogLine& line) {
    if (!writer.Append(line)) return true;
    if (line.redraw) {
      observer_.OnLogLine(job.id, line.stream, std::string(line.text) + '\r');
    } else {
      observer_.OnLogLine(job.id, line.stream, line.text);
    }
    return true;
  };
  const auto give_up_after = options_.daemon_grace;
  auto daemon_lost_at = std::optional<std::chrono::steady_clock::time_point>();
  while (!a.stop_following) {
    writer.Resume();
    Status followed = rt.Logs(job.container_id, writer.position().SinceUnix(), /*follow=*/true,
                              on_line, &a.stop_following);
    writer.Flush();
    if (a.stop_following) break;
    // The stream ended: the container stopped, or the daemon went away.
    Result<runtime::ContainerState> state = rt.Inspect(job.container_id);
    if (state && !state->running) {
      // Docker may end a follow at the container's exit before it has sent the
      // last lines its log holds (under load, those of one stream behind the
      // other's): read what the log holds since the last second once more.
      writer.Resume();
      const int64_t before = writer.appended();
      (void)rt.Logs(job.container_id, writer.position().SinceUnix(), /*follow=*/false, on_line,
                    &a.stop_following);
      writer.Flush();
      if (const int64_t late = writer.appended() - before; late > 0)
        spdlog::info("job {}: {} log lines came after the follow ended", job.id, late);
      break;
    }
    if (state && state->running && followed) continue;  // a stream cut short: resume it
    if (!state && state.error().code() == ErrorCode::kNotFound) break;
    if (!daemon_lost_at) {
      daemon_lost_at = clock_.Steady();
      a.daemon_lost = true;
      spdlog::warn("job {}: lost Docker on {} ({}); waiting for it", job.id, job.host,
                   state ? "stream ended" : state.error().message());
    }
    if (clock_.Steady() - *daemon_lost_at >= give_up_after) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  writer.Flush();
  sampling = false;
  if (sampler.joinable()) sampler.join();
}

void Dispatcher::Finish(Active& a, store::JobRecord& job) {
  runtime::Runtime& rt = *a.runtime;
  std::unique_ptr<runtime::PendingExit> pending;
  EndCause cause;
  std::string detail;
  // The stop's answer says whether it ended the container or came too late, so
  // a stop still under way is waited for (RequestStop starts at most one).
  while (true) {
    std::thread stopper;
    {
      std::lock_guard lock(a.mu);
      if (!a.stopper.joinable()) {
        pending = std::move(a.pending);
        cause = a.cause;
        detail = a.cause_detail;
        // The container had exited on its own when the stop reached it: its
        // exit code, not the stop, is the outcome (a job that finished is not
        // "cancelled").
        if (cause != EndCause::kShutdown && a.stop_found_running == false) {
          cause = EndCause::kNone;
        }
        break;
      }
      stopper = std::move(a.stopper);
    }
    stopper.join();
  }
  Result<runtime::ContainerState> state = rt.Inspect(job.container_id);
  if (state && state->running) {
    // Docker stayed away too long while the container ran: stop it rather than
    // leave it unattended.
    (void)rt.Stop(job.container_id, std::chrono::seconds(10));
    state = rt.Inspect(job.container_id);
  }
  std::optional<int64_t> exit_code;
  std::string wait_error;
  if (state && !state->running) exit_code = state->exit_code;
  if (pending && !exit_code) {
    if (Result<runtime::ExitStatus> exit = pending->Get()) {
      exit_code = exit->status_code;
      wait_error = exit->error;
    }
  }
  job.exit_code = exit_code;
  job.finished_ms = clock_.NowUnixMillis();
  const bool oom = state && state->oom_killed;
  // Docker sets OOMKilled only when the kernel's OOM event reaches it before the
  // exit event; under load it can come second and the flag stays false. A
  // SIGKILL (137) that labelrun did not send, under a memory limit, is then
  // almost surely the same OOM kill, and is named as such.
  const bool killed_under_limit = state && !oom && exit_code == 137 && job.spec.memory_bytes > 0;
  switch (cause) {
    case EndCause::kCancelled:
      job.state = JobState::kCancelled;
      job.cancel_by = detail;
      job.reason = "cancelled by " + detail;
      break;
    case EndCause::kTimedOut:
      job.state = JobState::kTimedOut;
      job.reason = "stopped: it ran past its timeout of " + FormatDuration(job.spec.timeout);
      break;
    case EndCause::kIdleGpu:
      job.state = JobState::kFailed;
      job.reason = detail;
      break;
    case EndCause::kNone:
    case EndCause::kShutdown:
      if (!state && state.error().code() != ErrorCode::kNotFound) {
        job.state = JobState::kFailed;
        job.reason = "lost contact with Docker on " + job.host + ": " + state.error().message();
      } else if (!state) {
        job.state = JobState::kFailed;
        job.reason = "its container disappeared";
      } else if (oom) {
        job.state = JobState::kFailed;
        job.reason = job.spec.memory_bytes ? "killed: out of memory (limit " +
                                                 FormatBytes(job.spec.memory_bytes) + ")"
                                           : "killed: out of memory";
      } else if (killed_under_limit) {
        job.state = JobState::kFailed;
        job.reason = "killed (exit code 137): most likely out of memory (limit " +
                     FormatBytes(job.spec.memory_bytes) + ")";
      } else if (exit_code == 0 && state->error.empty()) {
        job.state = JobState::kSucceeded;
        job.reason = "";
      } else {
        job.state = JobState::kFailed;
        job.reason = "exited with code " + std::to_string(exit_code.value_or(-1));
        // A cluster's own ending (Slurm's TIMEOUT, NODE_FAIL, ...) in its words;
        // alone, with no exit code shown, when the job itself exited with 0 or
        // not at all (Slurm's accounting gives 0:0).
        if (wait_error.empty()) wait_error = state->error;
        if (!wait_error.empty() && exit_code.value_or(0) == 0) {
          job.reason = wait_error;
          job.exit_code.reset();
        } else if (!wait_error.empty()) {
          job.reason += " (" + wait_error + ")";
        }
        if (a.daemon_lost) job.reason += " when the Docker daemon on " + job.host + " went away";
      }
      break;
  }
  std::string detail_text = job.reason.empty() ? "exited with code 0" : job.reason;
  if (!job.spec.outputs.empty() && state) {
    const std::filesystem::path tar = JobDir(job.id) / "outputs.tar";
    Result<runtime::CopiedOut> copied =
        rt.CopyOut(job.container_id, job.spec.outputs, tar, job.spec.outputs_max_bytes);
    if (!copied) {
      detail_text += "; no outputs collected: " + copied.error().message();
    } else if (!copied->truncation.empty()) {
      detail_text += "; outputs truncated: " + copied->truncation;
      // Beside the archive, for the outputs page.
      std::ofstream(JobDir(job.id) / "outputs.truncated") << copied->truncation << "\n";
    } else {
      detail_text += "; outputs collected";
    }
    if (copied && !copied->left_out.empty()) detail_text += " (" + copied->left_out + ")";
  }
  // Stored first (a crash now leaves a stray container that the next start
  // removes), then the container goes, then the job is reported as ended. The
  // end is stored under the job's lock, so a cancel sees either a job still
  // running or its stored end, never the end stored with `ended` still false.
  {
    std::lock_guard lock(a.mu);
    if (Status s = store_.Update(job, clock_.NowUnixMillis(), detail_text); !s) {
      spdlog::error("job {}: could not store state {}: {}", job.id, JobStateName(job.state),
                    s.error().message());
    }
    a.ended = true;
  }
  spdlog::info("job {} {}{}{}", job.id, JobStateName(job.state), job.reason.empty() ? "" : ": ",
               job.reason);
  if (Status removed = rt.Remove(job.container_id); !removed) {
    spdlog::warn("job {}: removing container {} failed: {} (removed at the next start)", job.id,
                 job.container_id.substr(0, 12), removed.error().message());
  }
  observer_.OnJobChanged(job, 0);
}

Status Dispatcher::Recover() {
  Result<std::vector<store::JobRecord>> open = store_.Open();
  if (!open) return open.error();
  // job id -> (host, container)
  std::map<std::string, std::pair<Host*, runtime::ContainerSummary>> containers;
  std::vector<std::pair<Host*, runtime::ContainerSummary>> all;
  for (Host& host : hosts_) {
    Result<std::vector<runtime::ContainerSummary>> listed =
        host.runtime->List({{"labelrun.instance", options_.instance}});
    if (!listed) {
      spdlog::warn("recovery: cannot list containers on {}: {}", host.slots.name,
                   listed.error().message());
      continue;
    }
    for (runtime::ContainerSummary& c : *listed) all.emplace_back(&host, std::move(c));
  }
  for (auto& [host, c] : all) {
    auto it = c.labels.find("labelrun.job");
    if (it != c.labels.end()) containers[it->second] = {host, c};
  }
  std::set<std::string> kept;
  int requeued = 0, attached = 0, lost = 0;
  // A found job's place on its host, and its worker, which follows it from here.
  auto attach = [&](const store::JobRecord& job, const Host& host,
                    const std::shared_ptr<Active>& active) {
    std::lock_guard lock(mu_);
    planner_.Restore(DemandOf(job), {job.id, host.slots.name, job.gpus});
    active_[job.id] = active;
    active->worker = std::thread([this, active] { RunJob(active); });
    ++attached;
  };
  for (store::JobRecord& job : *open) {
    auto found = containers.find(job.id);
    if (job.state == JobState::kQueued) {
      std::lock_guard lock(mu_);
      planner_.Enqueue(DemandOf(job));
      continue;
    }
    const bool has_container = found != containers.end() && found->second.second.state != "created";
    if (!has_container) {
      if (found != containers.end())
        (void)found->second.first->runtime->Remove(found->second.second.id);
      if (job.state == JobState::kRunning) {
        FailNow(job, "its container disappeared while labelrun was not running");
        ++lost;
        continue;
      }
      job.state = JobState::kQueued;
      job.host.clear();
      job.gpus.clear();
      job.container_id.clear();
      Persist(job, "queued again: labelrun restarted before the container started");
      std::lock_guard lock(mu_);
      planner_.Enqueue(DemandOf(job));
      ++requeued;
      continue;
    }
    kept.insert(found->second.second.id);
    Host* host = found->second.first;
    auto active = std::make_shared<Active>();
    active->job_id = job.id;
    active->host = host->slots.name;
    active->gpus = job.gpus;
    active->runtime = host->runtime;
    active->attach = true;
    active->container_id = job.container_id = found->second.second.id;
    // A cluster says whether the job still waits in its queue, and when it
    // started: the timeout counts from then, not from this restart.
    std::optional<runtime::ContainerState> cluster_state;
    if (host->slots.cluster) {
      if (Result<runtime::ContainerState> s = host->runtime->Inspect(job.container_id)) {
        cluster_state = std::move(*s);
      }
    }
    if (cluster_state && cluster_state->pending) {
      active->attach_pending = true;
      if (job.state != JobState::kStarting) {
        job.state = JobState::kStarting;
        job.started_ms.reset();
        Persist(job, "waiting in the cluster's queue (found after a labelrun restart)");
      } else {
        observer_.OnJobChanged(job, 0);
      }
      attach(job, *host, active);
      continue;
    }
    active->running = true;
    int64_t started = job.started_ms.value_or(clock_.NowUnixMillis());
    if (cluster_state && cluster_state->started_unix > 0) {
      started = std::min(cluster_state->started_unix * 1000, clock_.NowUnixMillis());
      job.started_ms = started;
      if (!cluster_state->gpus.empty()) job.gpus = cluster_state->gpus;
    }
    const auto remaining =
        milliseconds(started + job.spec.timeout.count() - clock_.NowUnixMillis());
    active->deadline = clock_.Steady() + std::max(remaining, milliseconds(0));
    if (job.state != JobState::kRunning) {
      job.state = JobState::kRunning;
      job.started_ms = started;
      job.host = host->slots.name;
      Persist(job, "running (found after a labelrun restart)");
    } else {
      // The reporting side learns of it before its first log line.
      observer_.OnJobChanged(job, 0);
    }
    attach(job, *host, active);
  }
  int removed = 0;
  for (auto& [host, c] : all) {
    if (kept.count(c.id)) continue;
    if (Status s = host->runtime->Remove(c.id); s) ++removed;
  }
  spdlog::info(
      "recovery: {} job(s) re-attached, {} queued again, {} lost, {} stray container(s) removed",
      attached, requeued, lost, removed);
  return Ok();
}

}  // namespace labelrun::scheduler
