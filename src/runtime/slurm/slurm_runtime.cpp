// SlurmRuntime: job folders, sbatch, squeue/sacct state, scancel, srun.
// Following the job's output file is in slurm_logs.cpp.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <thread>

#include "labelrun/core/strings.hpp"
#include "labelrun/runtime/slurm.hpp"
#include "runtime/program.hpp"

namespace labelrun::runtime {
namespace {

// How long an ended job may wait for accounting to list it (see Inspect).
constexpr std::chrono::seconds kAccountingLag{15};
// The status of a job on its way out: Slurm's COMPLETING, or ended but not yet
// in accounting. It runs no more, and scancel has nothing to stop.
constexpr std::string_view kCompleting = "completing";
constexpr std::string_view kSacctFormat = "JobIDRaw,JobName,State,ExitCode,Comment,NodeList";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ValidJobId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

ContainerState StateOf(const std::string& id, const SlurmJob& job) {
  ContainerState s;
  s.id = id;
  s.status = Lower(job.state);
  const bool final = IsFinalSlurmState(job.state);
  s.running = !final;
  s.pending = job.state == "PENDING";
  s.pending_reason = job.reason;
  s.node = job.node;
  s.gpus = job.gpus;
  s.started_unix = job.start_time;
  s.exit_code = job.exit_code;
  s.oom_killed = job.state == "OUT_OF_MEMORY";
  // A failed job's exit code says it all; other endings need Slurm's word.
  if (final && !(job.state == "FAILED" && job.exit_code != 0)) {
    s.error = DescribeSlurmState(job.state, job.signal);
  }
  for (const auto& [k, v] : ParseJobComment(job.comment)) s.labels["labelrun." + k] = v;
  return s;
}

class SlurmPendingExit final : public PendingExit {
 public:
  SlurmPendingExit(SlurmRuntime& rt, std::string id) : rt_(rt), id_(std::move(id)) {}
  Result<ExitStatus> Get() override {
    while (!abandoned_) {
      Result<ContainerState> s = rt_.Inspect(id_);
      if (!s && s.error().code() != ErrorCode::kDeadlineExceeded) return s.error();
      if (s && !s->running) return ExitStatus{s->exit_code, s->error};
      for (int i = 0; i < 10 && !abandoned_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    return Unexpected(ErrorCode::kCancelled, "stopped waiting for Slurm job " + id_);
  }
  void Abandon() override { abandoned_ = true; }

 private:
  SlurmRuntime& rt_;
  std::string id_;
  std::atomic<bool> abandoned_{false};
};

Status WriteFile(const std::filesystem::path& path, std::string_view text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return Unexpected(ErrorCode::kInternal, "cannot write " + path.string());
  }
  if (chmod(path.c_str(), mode) != 0) {
    return Unexpected(ErrorCode::kInternal, "cannot set the mode of " + path.string());
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<SlurmRuntime>> SlurmRuntime::Create(SlurmSettings settings) {
  if (Status st = CheckSlurmSettings(settings); !st) return st.error();
  std::error_code ec;
  std::filesystem::create_directories(settings.shared_dir, ec);
  if (!std::filesystem::is_directory(settings.shared_dir)) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      "slurm.shared_dir " + settings.shared_dir.string() + " is not a folder");
  }
  return std::unique_ptr<SlurmRuntime>(new SlurmRuntime(std::move(settings)));
}

SlurmRuntime::SlurmRuntime(SlurmSettings settings) : settings_(std::move(settings)) {}
SlurmRuntime::~SlurmRuntime() = default;

std::filesystem::path SlurmRuntime::JobDir(const std::string& id) const {
  return settings_.shared_dir / id;
}

Result<std::string> SlurmRuntime::Slurm(std::vector<std::string> argv, std::string_view what) {
  if (!settings_.slurm_conf.empty()) {
    argv.insert(argv.begin(), {"env", "SLURM_CONF=" + settings_.slurm_conf});
  }
  ProgramLimits limits;
  limits.timeout = settings_.call_timeout;
  limits.max_out = size_t{64} << 20;
  Result<ProgramOutput> out = RunProgram(argv, limits);
  if (!out) {
    return Unexpected(out.error().code(), std::string(what) + ": " + out.error().message());
  }
  if (out->exit_code != 0) {
    std::string err(Trim(out->err));
    if (err.empty()) err = "exit code " + std::to_string(out->exit_code);
    return Unexpected(ErrorCode::kUnavailable, std::string(what) + ": " + err);
  }
  return std::move(out->out);
}

Result<std::string> SlurmRuntime::SlurmId(const std::string& id) {
  if (!ValidJobId(id)) return Unexpected(ErrorCode::kInvalidArgument, "bad job id '" + id + "'");
  {
    std::lock_guard lock(mu_);
    if (auto it = slurm_ids_.find(id); it != slurm_ids_.end()) return it->second;
  }
  std::ifstream in(JobDir(id) / "slurm_job_id");
  std::string sid;
  if (!in || !std::getline(in, sid) || Trim(sid).empty()) {
    return Unexpected(ErrorCode::kNotFound, "job " + id + " was not submitted to Slurm");
  }
  sid = std::string(Trim(sid));
  std::lock_guard lock(mu_);
  slurm_ids_[id] = sid;
  return sid;
}

Result<std::string> SlurmRuntime::ApiVersion() {
  Result<std::string> out = Slurm({"sbatch", "--version"}, "sbatch --version");
  if (!out) return out.error();
  std::string v(Trim(*out));
  if (v.rfind("slurm-wlm ", 0) == 0) v = "slurm " + v.substr(10);
  return v;
}

Result<std::string> SlurmRuntime::ImageId(const std::string& image) { return image; }
Result<std::string> SlurmRuntime::ImageDigest(const std::string& image) {
  return Unexpected(ErrorCode::kNotFound,
                    "the nodes fetch " + image + " themselves: its digest is not known here");
}
Status SlurmRuntime::Pull(const std::string&, const std::atomic<bool>*) { return Ok(); }

Result<std::string> SlurmRuntime::Create(const ContainerSpec& spec) {
  auto job = spec.labels.find("labelrun.job");
  const std::string id = job != spec.labels.end() ? job->second : spec.name;
  if (!ValidJobId(id)) return Unexpected(ErrorCode::kInvalidArgument, "bad job id '" + id + "'");
  const std::filesystem::path dir = JobDir(id);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir / "workspace", ec);
  if (ec) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      "cannot make " + dir.string() + ": " + ec.message());
  }
  std::string env;
  for (const std::string& kv : spec.env) {
    if (kv.find('\n') != std::string::npos) {
      return Unexpected(ErrorCode::kInvalidArgument,
                        "an environment value holds a newline, which an env file cannot carry");
    }
    env += kv + "\n";
  }
  if (Status st = WriteFile(dir / "env", env, 0600); !st) return st.error();
  // Where the launcher mounts workspace/ in the container: outputs are found
  // below it.
  if (Status st = WriteFile(dir / "working_dir", spec.working_dir + "\n", 0644); !st) {
    return st.error();
  }
  Result<std::string> launch = RenderLauncher(settings_.launcher,
                                              {{"image", spec.image},
                                               {"workdir", (dir / "workspace").string()},
                                               {"env_file", (dir / "env").string()},
                                               {"name", spec.name}},
                                              spec.cmd);
  if (!launch) return launch.error();
  const std::string script =
      "#!/bin/sh\n"
      "# labelrun job " +
      id +
      ": runs its container on the node Slurm chose.\n"
      "export PATH=\"${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}\"\n"
      "exec " +
      *launch + "\n";
  if (Status st = WriteFile(dir / "job.sh", script, 0700); !st) return st.error();

  auto label = [&](const char* key) {
    auto it = spec.labels.find(key);
    return it == spec.labels.end() ? std::string() : it->second;
  };
  std::string comment = "labelrun instance=" + label("labelrun.instance") + " job=" + id;
  if (!label("labelrun.repo").empty()) comment += " repo=" + label("labelrun.repo");
  if (!label("labelrun.issue").empty()) comment += " issue=" + label("labelrun.issue");
  std::vector<std::string> argv = {"sbatch", "--parsable", "--job-name=" + spec.name,
                                   "--comment=" + comment, "--partition=" + settings_.partition,
                                   "--output=" + (dir / "slurm.log").string(), "--open-mode=append",
                                   "--chdir=" + dir.string(),
                                   // labelrun's own environment (its secrets) stays here.
                                   "--export=PATH", "--nodes=1", "--ntasks=1",
                                   // One run per labelrun job: a node failure ends it
                                   // (NODE_FAIL), rather than Slurm running it again
                                   // behind the comment; /labelrun retry runs it anew.
                                   "--no-requeue"};
  if (!settings_.account.empty()) argv.push_back("--account=" + settings_.account);
  if (!settings_.qos.empty()) argv.push_back("--qos=" + settings_.qos);
  if (spec.gpu_count > 0) argv.push_back("--gres=gpu:" + std::to_string(spec.gpu_count));
  if (spec.nano_cpus > 0) {
    const auto cpus = static_cast<int64_t>(std::ceil(static_cast<double>(spec.nano_cpus) / 1e9));
    argv.push_back("--cpus-per-task=" + std::to_string(cpus));
  }
  if (spec.memory_bytes > 0) {
    argv.push_back("--mem=" + std::to_string((spec.memory_bytes + (1 << 20) - 1) >> 20) + "M");
  }
  if (spec.time_limit.count() > 0) {
    const auto limit = spec.time_limit + settings_.time_limit_margin;
    argv.push_back("--time=" + std::to_string((limit.count() + 59) / 60));
  }
  argv.push_back((dir / "job.sh").string());
  std::lock_guard lock(mu_);
  submissions_[id] = std::move(argv);
  slurm_ids_.erase(id);
  return id;
}

Status SlurmRuntime::CopyIn(const std::string& id, const std::string&, std::string_view tar_gz) {
  if (!ValidJobId(id)) return Unexpected(ErrorCode::kInvalidArgument, "bad job id '" + id + "'");
  const std::filesystem::path dir = JobDir(id);
  const std::filesystem::path archive = dir / "code.tar.gz";
  if (Status st = WriteFile(archive, tar_gz, 0600); !st) return st;
  ProgramLimits limits;
  limits.timeout = std::chrono::minutes(10);
  Result<ProgramOutput> out = RunProgram(
      {"tar", "-xzf", archive.string(), "-C", (dir / "workspace").string(), "--no-same-owner"},
      limits);
  std::error_code ec;
  std::filesystem::remove(archive, ec);
  if (!out) return Unexpected(out.error().code(), "extracting the code: " + out.error().message());
  if (out->exit_code != 0) {
    return Unexpected(ErrorCode::kInternal, "extracting the code: " + std::string(Trim(out->err)));
  }
  return Ok();
}

Result<std::unique_ptr<PendingExit>> SlurmRuntime::WaitNextExit(const std::string& id) {
  return std::unique_ptr<PendingExit>(std::make_unique<SlurmPendingExit>(*this, id));
}

Status SlurmRuntime::Start(const std::string& id) {
  std::vector<std::string> argv;
  {
    std::lock_guard lock(mu_);
    auto it = submissions_.find(id);
    if (it == submissions_.end()) {
      return Unexpected(ErrorCode::kNotFound, "job " + id + " was not created here");
    }
    argv = it->second;
  }
  Result<std::string> out = Slurm(argv, "sbatch");
  if (!out) return out.error();
  // "123" or "123;cluster"
  std::string sid(Trim(*out));
  sid = sid.substr(0, sid.find(';'));
  if (sid.empty() || !std::all_of(sid.begin(), sid.end(), ::isdigit)) {
    return Unexpected(ErrorCode::kInternal, "sbatch printed no job id: " + *out);
  }
  if (Status st = WriteFile(JobDir(id) / "slurm_job_id", sid + "\n", 0644); !st) return st;
  std::lock_guard lock(mu_);
  submissions_.erase(id);
  slurm_ids_[id] = sid;
  spdlog::info("job {}: submitted to Slurm as job {}", id, sid);
  return Ok();
}

Result<std::optional<SlurmJob>> SlurmRuntime::Squeue(const std::string& sid) {
  Result<std::string> out = Slurm({"squeue", "--json", "--states=all", "--jobs=" + sid}, "squeue");
  if (!out) return out.error();
  Result<std::vector<SlurmJob>> jobs = ParseSqueueJson(*out);
  if (!jobs) return jobs.error();
  for (SlurmJob& j : *jobs) {
    if (j.slurm_id == sid) return std::optional<SlurmJob>(std::move(j));
  }
  return std::optional<SlurmJob>();
}

Result<std::optional<SlurmJob>> SlurmRuntime::Sacct(const std::string& sid) {
  Result<std::string> out =
      Slurm({"sacct", "-X", "-P", "-n", "-o", std::string(kSacctFormat), "-j", sid}, "sacct");
  if (!out) return out.error();
  for (SlurmJob& j : ParseSacctLines(*out)) {
    if (j.slurm_id == sid) return std::optional<SlurmJob>(std::move(j));
  }
  return std::optional<SlurmJob>();
}

Result<int> SlurmRuntime::QueuePosition(const SlurmJob& job) {
  Result<std::string> out = Slurm(
      {"squeue", "--json", "--states=PENDING", "--partition=" + settings_.partition}, "squeue");
  if (!out) return out.error();
  Result<std::vector<SlurmJob>> jobs = ParseSqueueJson(*out);
  if (!jobs) return jobs.error();
  int ahead = 0;
  for (const SlurmJob& j : *jobs) {
    // squeue --json leaves the filters to its reader.
    if (j.slurm_id == job.slurm_id || j.state != "PENDING" || j.partition != job.partition) {
      continue;
    }
    if (j.priority > job.priority ||
        (j.priority == job.priority && j.submit_time <= job.submit_time &&
         std::stoll(j.slurm_id) < std::stoll(job.slurm_id))) {
      ++ahead;
    }
  }
  return ahead + 1;
}

Result<ContainerState> SlurmRuntime::Inspect(const std::string& id) {
  Result<std::string> sid = SlurmId(id);
  if (!sid) {
    std::error_code ec;
    if (sid.error().code() == ErrorCode::kNotFound && std::filesystem::exists(JobDir(id), ec)) {
      ContainerState created;
      created.id = id;
      created.status = "created";
      return created;
    }
    return sid.error();
  }
  Result<std::optional<SlurmJob>> live = Squeue(*sid);
  if (!live) return live.error();
  if (*live && !IsFinalSlurmState((*live)->state)) {
    ContainerState s = StateOf(id, **live);
    if (s.pending) {
      if (Result<int> pos = QueuePosition(**live)) s.queue_position = *pos;
    }
    return s;
  }
  // Ended: accounting has the final word (it may lag slurmctld by a moment).
  Result<std::optional<SlurmJob>> accounted = Sacct(*sid);
  if (accounted && *accounted && IsFinalSlurmState((*accounted)->state)) {
    {
      std::lock_guard lock(mu_);
      unaccounted_.erase(*sid);
    }
    SlurmJob job = std::move(**accounted);
    if (*live && job.gpus.empty()) job.gpus = (*live)->gpus;
    return StateOf(id, job);
  }
  if (*live) {
    // slurmctld's exit code of an ended job may still read 0 (a job that exited 3
    // showed FAILED with 0): the job is still ending until accounting lists it,
    // for at most kAccountingLag, after which slurmctld's word is taken.
    const auto now = std::chrono::steady_clock::now();
    bool waiting = false;
    {
      std::lock_guard lock(mu_);
      waiting = now - unaccounted_.try_emplace(*sid, now).first->second < kAccountingLag;
    }
    ContainerState s = StateOf(id, **live);
    if (waiting) {
      s.running = true;
      s.status = std::string(kCompleting);
      s.exit_code = 0;
      s.error.clear();
    }
    return s;
  }
  {
    std::lock_guard lock(mu_);  // gone from slurmctld too: nothing to wait for
    unaccounted_.erase(*sid);
  }
  if (!accounted) return accounted.error();
  return Unexpected(ErrorCode::kNotFound,
                    "Slurm knows no job " + *sid + " (labelrun job " + id + ")");
}

Result<bool> SlurmRuntime::Stop(const std::string& id, std::chrono::seconds grace) {
  Result<std::string> sid = SlurmId(id);
  if (!sid) return sid.error();
  Result<ContainerState> state = Inspect(id);
  if (!state) return state.error();
  if (!state->running) return false;
  if (state->status == kCompleting) {  // ending by itself: wait for its end
    const auto give_up = std::chrono::steady_clock::now() + grace + kAccountingLag;
    while (state && state->running && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      state = Inspect(id);
    }
    return false;
  }
  if (state->pending) {
    Result<std::string> cancelled = Slurm({"scancel", *sid}, "scancel");
    if (!cancelled) return cancelled.error();
    return true;
  }
  Result<std::string> term =
      Slurm({"scancel", "--full", "--signal=TERM", *sid}, "scancel --signal=TERM");
  if (!term) return term.error();
  const auto give_up = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    state = Inspect(id);
    if (state && !state->running) return true;
  }
  (void)Slurm({"scancel", "--full", "--signal=KILL", *sid}, "scancel --signal=KILL");
  Result<std::string> ended = Slurm({"scancel", *sid}, "scancel");
  if (!ended) return ended.error();
  return true;
}

Status SlurmRuntime::Remove(const std::string& id) {
  if (!ValidJobId(id)) return Unexpected(ErrorCode::kInvalidArgument, "bad job id '" + id + "'");
  if (Result<std::string> sid = SlurmId(id)) {
    Result<ContainerState> state = Inspect(id);
    if (state && state->running && state->status != kCompleting) {
      if (Result<std::string> c = Slurm({"scancel", *sid}, "scancel"); !c) return c.error();
    }
    std::lock_guard lock(mu_);
    unaccounted_.erase(*sid);
  }
  std::error_code ec;
  std::filesystem::remove_all(JobDir(id), ec);
  if (ec) return Unexpected(ErrorCode::kInternal, "cannot remove " + JobDir(id).string());
  std::lock_guard lock(mu_);
  slurm_ids_.erase(id);
  submissions_.erase(id);
  return Ok();
}

Result<std::vector<ContainerSummary>> SlurmRuntime::List(
    const std::map<std::string, std::string>& labels) {
  auto wanted = [&](const std::map<std::string, std::string>& have) {
    for (const auto& [k, v] : labels) {
      auto it = have.find(k);
      if (it == have.end() || it->second != v) return false;
    }
    return true;
  };
  std::vector<ContainerSummary> out;
  std::set<std::string> seen;
  Result<std::string> queued = Slurm({"squeue", "--json", "--states=all"}, "squeue");
  if (!queued) return queued.error();
  Result<std::vector<SlurmJob>> jobs = ParseSqueueJson(*queued);
  if (!jobs) return jobs.error();
  // Ended jobs that slurmctld still holds are left to sacct with the rest.
  for (const SlurmJob& j : *jobs) {
    if (IsFinalSlurmState(j.state)) continue;
    ContainerState s = StateOf("", j);
    auto job = s.labels.find("labelrun.job");
    if (job == s.labels.end() || !ValidJobId(job->second) || !wanted(s.labels)) continue;
    if (!seen.insert(job->second).second) continue;
    std::error_code ec;
    if (!std::filesystem::exists(JobDir(job->second) / "slurm_job_id", ec)) {
      // sbatch answered, then labelrun stopped before it noted the id.
      (void)WriteFile(JobDir(job->second) / "slurm_job_id", j.slurm_id + "\n", 0644);
    }
    out.push_back({job->second, j.name, s.status, s.labels});
  }
  // Ended jobs whose folder is still there (not yet removed), from accounting.
  std::map<std::string, std::string> ids;  // Slurm id -> labelrun id
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(settings_.shared_dir, ec)) {
    const std::string id = entry.path().filename().string();
    if (seen.count(id) || !ValidJobId(id)) continue;
    if (Result<std::string> sid = SlurmId(id)) ids[*sid] = id;
  }
  if (ids.empty()) return out;
  std::string list;
  for (const auto& [sid, id] : ids) list += (list.empty() ? "" : ",") + sid;
  Result<std::string> accounted =
      Slurm({"sacct", "-X", "-P", "-n", "-o", std::string(kSacctFormat), "-j", list}, "sacct");
  if (!accounted) return accounted.error();
  for (const SlurmJob& j : ParseSacctLines(*accounted)) {
    auto it = ids.find(j.slurm_id);
    if (it == ids.end()) continue;
    ContainerState s = StateOf(it->second, j);
    if (s.labels["labelrun.job"] != it->second || !wanted(s.labels)) continue;
    if (!seen.insert(it->second).second) continue;
    out.push_back({it->second, j.name, s.status, s.labels});
  }
  return out;
}

Result<ExecOutput> SlurmRuntime::Exec(const std::string& id, const std::vector<std::string>& cmd) {
  Result<std::string> sid = SlurmId(id);
  if (!sid) return sid.error();
  // --export=PATH as for sbatch: labelrun's environment (its secrets) stays
  // here; the step finds its programs on labelrun's PATH.
  std::vector<std::string> argv = {"srun",       "--jobid=" + *sid, "--overlap",
                                   "--ntasks=1", "--export=PATH",   "--quiet"};
  if (!settings_.slurm_conf.empty()) {
    argv.insert(argv.begin(), {"env", "SLURM_CONF=" + settings_.slurm_conf});
  }
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  ProgramLimits limits;
  limits.timeout = settings_.call_timeout;
  Result<ProgramOutput> out = RunProgram(argv, limits);
  if (!out) return out.error();
  ExecOutput e;
  e.exit_code = out->exit_code;
  e.stdout_text = std::move(out->out);
  e.stderr_text = std::move(out->err);
  return e;
}

}  // namespace labelrun::runtime
