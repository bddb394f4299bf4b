#pragma once
// A Slurm cluster behind runtime::Runtime, through Slurm's own CLI on the
// machine labelrun runs on: sbatch --parsable, squeue --json, sacct, scancel,
// srun --overlap. Slurm owns queueing, GPU allocation (GRES), fair share and
// accounting; labelrun hands it one batch job per labelrun job.
//
// A "container" here is a job folder `shared_dir/<labelrun job id>/` that the
// cluster's nodes also see: the code is extracted to `workspace/`, the batch
// script runs `launcher` (the argv that starts the job's container on the
// node), and Slurm writes the job's output to `slurm.log`, which Logs follows.
// The runtime id is the labelrun job id; the Slurm job id is kept in the folder.
// Job name and --comment carry the instance and job id, so that List finds this
// instance's jobs in squeue and sacct as Docker's labels find containers.
//
// Thread safety: every method may be called from many threads at once. Every
// Slurm command runs with a timeout (Slurm's commands hang for minutes while
// slurmctld is down): it fails with kDeadlineExceeded.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/core/result.hpp"
#include "labelrun/runtime/runtime.hpp"

namespace labelrun::runtime {

struct SlurmSettings {
  std::string partition;             // required
  std::string account;               // empty: the submitting user's default
  std::string qos;                   // empty: the association's default
  std::filesystem::path shared_dir;  // required, absolute, seen by the nodes too
  // The argv that runs the job's container on the node. Placeholders, within or
  // as whole words: {image}, {workdir} (the job's code folder on shared storage),
  // {env_file} (KEY=value lines, mode 0600), {name}, {gpus} (the GPU indices
  // Slurm gave the job, read on the node); the word {command} becomes the
  // rule's command, one word per argument.
  std::vector<std::string> launcher;
  // SLURM_CONF for every Slurm command; empty: Slurm's default.
  std::string slurm_conf;
  std::chrono::milliseconds call_timeout{std::chrono::seconds(30)};
  // Added to a job's time limit, so that labelrun's own timeout (with its stop
  // grace) fires before Slurm's.
  std::chrono::seconds time_limit_margin{std::chrono::minutes(5)};
  size_t max_log_line_bytes = size_t{1} << 20;
};

// Checks settings: partition, an absolute shared_dir, a launcher with {image}.
// kInvalidArgument naming what is wrong.
Status CheckSlurmSettings(const SlurmSettings& settings);

// One job as squeue --json or sacct reports it.
struct SlurmJob {
  std::string slurm_id;
  std::string name;
  std::string comment;
  std::string state;   // PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
  std::string reason;  // squeue's state_reason: Resources, Priority, QOSMaxGRESPerUser, ...
  std::string partition;
  int64_t priority = 0;
  int64_t submit_time = 0;
  int64_t start_time = 0;  // Unix seconds it started; 0 while it is pending
  int64_t exit_code = 0;   // the job's exit code; 128 + signal when a signal ended it
  int signal = 0;
  std::string node;
  std::vector<std::string> gpus;  // allocated GPU indices
};

// squeue --json (Slurm 22.05, API v0.0.38). kInvalidArgument on JSON it cannot read.
Result<std::vector<SlurmJob>> ParseSqueueJson(std::string_view json);
// `sacct -X -P -n -o JobIDRaw,JobName,State,ExitCode,Comment,NodeList` lines.
// Accounting's ExitCode "code:signal" is used rather than sacct --json, whose
// exit code is 0 for every job in Slurm 22.05.
std::vector<SlurmJob> ParseSacctLines(std::string_view text);
// "gpu:1(IDX:0)", "gpu:a100:2(IDX:0-1)", "gpu:4(IDX:0,2-3)" -> indices.
std::vector<std::string> ParseGresIndices(std::string_view gres_detail);
// The labelrun fields of a job comment ("labelrun instance=I job=J"); empty when
// the comment is not labelrun's.
std::map<std::string, std::string> ParseJobComment(std::string_view comment);
// A final Slurm state in words a maintainer understands, e.g. TIMEOUT -> "Slurm
// stopped it at its time limit"; empty for COMPLETED and states that are not final.
std::string DescribeSlurmState(std::string_view state, int signal);
// Whether a Slurm job state is one the job no longer leaves the cluster in.
bool IsFinalSlurmState(std::string_view state);
// A pending reason in words: "Resources" -> "waiting for resources (GPUs, CPUs or
// memory) to free up"; unknown reasons are given as Slurm's own word.
std::string DescribePendingReason(std::string_view reason);
// The launcher argv as one line of sh: words quoted, {gpus} read from Slurm's
// environment on the node. kInvalidArgument for an unknown placeholder.
Result<std::string> RenderLauncher(const std::vector<std::string>& launcher,
                                   const std::map<std::string, std::string>& values,
                                   const std::vector<std::string>& command);

class SlurmRuntime final : public Runtime {
 public:
  static Result<std::unique_ptr<SlurmRuntime>> Create(SlurmSettings settings);
  ~SlurmRuntime() override;

  const SlurmSettings& settings() const { return settings_; }

  // "slurm 22.05.8": sbatch --version.
  Result<std::string> ApiVersion() override;
  // The nodes fetch images themselves: the image name is its own id, there is no
  // pull, and the digest is not known here (kNotFound).
  Result<std::string> ImageId(const std::string& image) override;
  Result<std::string> ImageDigest(const std::string& image) override;
  Status Pull(const std::string& image, const std::atomic<bool>* cancelled) override;

  // Makes the job folder and writes its batch script and env file; the id is
  // the labelrun job id (spec.labels["labelrun.job"]).
  Result<std::string> Create(const ContainerSpec& spec) override;
  // Extracts the code into the job folder's workspace/ (`dir` is where the
  // launcher mounts it).
  Status CopyIn(const std::string& id, const std::string& dir, std::string_view tar_gz) override;
  // Archives the folder `path` of the container, which must lie under the
  // job's working_dir (where the launcher mounts workspace/), from the job
  // folder, as Docker's archive of the container's folder is made: a plain tar
  // whose entries lie in the folder's own name, cut at `max_bytes` in the same
  // way. The job's code controls that folder: each step down is opened without
  // following symlinks, so that nothing outside workspace/ is read; symlinks
  // are left out (named in left_out), as are sockets, fifos and devices.
  // kNotFound when the folder does not exist; kFailedPrecondition when `path`
  // is outside the working_dir or it, or a folder above it, is a symlink.
  Result<CopiedOut> CopyOut(const std::string& id, const std::string& path,
                            const std::filesystem::path& tar_file, uint64_t max_bytes) override;
  // Polls the job's state until Slurm reports it ended.
  Result<std::unique_ptr<PendingExit>> WaitNextExit(const std::string& id) override;
  // sbatch --parsable.
  Status Start(const std::string& id) override;
  // A pending job is cancelled (scancel); a running one gets SIGTERM (scancel
  // --full --signal=TERM), then SIGKILL after `grace`.
  Result<bool> Stop(const std::string& id, std::chrono::seconds grace) override;
  // Cancels the job when it has not ended, then removes its folder.
  Status Remove(const std::string& id) override;
  // squeue for a job Slurm still holds, sacct (accounting) once it ended.
  Result<ContainerState> Inspect(const std::string& id) override;
  // This instance's jobs (labels must hold labelrun.instance): the active ones
  // from squeue, and ended ones whose folder is still there from sacct.
  Result<std::vector<ContainerSummary>> List(
      const std::map<std::string, std::string>& labels) override;
  // Follows slurm.log from the line stamped `since_unix` on. Lines are split on
  // '\n', '\r' and "\r\n" as Docker's are; their stamps come from a small index
  // beside the log (log.index), so that a resumed follow repeats the same stamps.
  Status Logs(const std::string& id, int64_t since_unix, bool follow, const LogCallback& on_line,
              const std::atomic<bool>* stop) override;
  // srun --jobid --overlap: runs `cmd` inside the job's allocation on its node.
  Result<ExecOutput> Exec(const std::string& id, const std::vector<std::string>& cmd) override;

 private:
  explicit SlurmRuntime(SlurmSettings settings);
  std::filesystem::path JobDir(const std::string& id) const;
  Result<std::string> SlurmId(const std::string& id);
  // Runs a Slurm command with SLURM_CONF and the call timeout; a non-zero exit
  // is an error carrying its stderr.
  Result<std::string> Slurm(std::vector<std::string> argv, std::string_view what);
  Result<std::optional<SlurmJob>> Squeue(const std::string& slurm_id);
  Result<std::optional<SlurmJob>> Sacct(const std::string& slurm_id);
  Result<int> QueuePosition(const SlurmJob& job);

  SlurmSettings settings_;
  std::mutex mu_;
  std::map<std::string, std::string> slurm_ids_;  // guarded by mu_
  // Created, not yet submitted: the sbatch argv.
  std::map<std::string, std::vector<std::string>> submissions_;  // guarded by mu_
  // Jobs slurmctld says have ended that accounting does not list as ended yet,
  // since when (see Inspect). Guarded by mu_.
  std::map<std::string, std::chrono::steady_clock::time_point> unaccounted_;
};

}  // namespace labelrun::runtime
