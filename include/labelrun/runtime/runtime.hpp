#pragma once
// The container runtime seam: what the scheduler needs from a Docker Engine.
// DockerRuntime (docker.hpp) is the real one; the scheduler's unit tests use a
// hand-written fake. Every call blocks and runs on a worker thread, never on
// an I/O thread. Failures are values carrying the daemon's own message.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/core/result.hpp"

namespace labelrun::runtime {

// Everything a created container is made of. Security defaults are not fields:
// the runtime always sets no-new-privileges, drops every capability (then adds
// `cap_add`), never runs privileged, mounts nothing but `binds`, and runs an
// init process as PID 1 so that the stop signal reaches the command.
struct ContainerSpec {
  std::string name;  // unique; Docker's name grammar [a-zA-Z0-9][a-zA-Z0-9_.-]+
  std::string image;
  std::vector<std::string> cmd;  // argv; empty: the image's default
  std::vector<std::string> env;  // "KEY=value"
  std::string working_dir;       // empty: the image's default
  std::map<std::string, std::string> labels;
  std::vector<std::string> gpu_ids;  // DeviceRequests[0].DeviceIDs; empty: no GPUs
  uint64_t memory_bytes = 0;         // 0: no limit
  uint64_t shm_bytes = 0;            // 0: Docker's default (64 MB)
  int64_t nano_cpus = 0;             // 0: no limit
  int64_t pids_limit = 0;            // 0: no limit
  std::vector<std::string> cap_add;  // added after CapDrop ALL
  std::vector<std::string> binds;    // "host:container[:ro]"; only what a rule names
  std::string network_mode;          // empty: Docker's default; "none": no network
  std::string user;                  // Config.User ("uid[:gid]" or a name); empty: the image's
  // Cluster runtimes (Slurm), which allocate GPUs themselves: how many to ask for
  // (gpu_ids stays empty), and the job's own time limit (0: none).
  int gpu_count = 0;
  std::chrono::seconds time_limit{0};
};

// GET /containers/{id}/json, the parts labelrun reads.
struct ContainerState {
  std::string id;
  std::string status;  // created, running, exited, dead, ...
  bool running = false;
  bool oom_killed = false;
  int64_t exit_code = 0;
  std::string error;       // State.Error
  std::string started_at;  // RFC 3339, as Docker gives it
  std::string finished_at;
  std::string image_id;  // sha256:... of the image the container runs
  std::map<std::string, std::string> labels;
  // Cluster runtimes (Slurm): a job waiting in the cluster's own queue is
  // `pending` (and `running`, as it has not ended); the cluster's reason and the
  // job's 1-based place in that queue (0: unknown) say why. Once it runs, the
  // node and the GPUs the cluster allocated.
  bool pending = false;
  std::string pending_reason;
  int queue_position = 0;
  std::string node;
  std::vector<std::string> gpus;
  int64_t started_unix = 0;  // when the cluster started it (Unix seconds); 0: not yet or unknown
};

// GET /containers/json?all=1, one entry.
struct ContainerSummary {
  std::string id;
  std::string name;   // without the leading '/'
  std::string state;  // created, running, exited, ...
  std::map<std::string, std::string> labels;
};

struct ExitStatus {
  int64_t status_code = 0;
  std::string error;  // the wait response's Error.Message, usually empty
};

struct CopiedOut {
  uint64_t bytes = 0;      // the archive's size on disk
  std::string truncation;  // empty when all of it was kept; else what was left out, for people
  // Entries not collected for what they are, not for the cap (a cluster job's
  // symlinks, which are never followed), for people; empty when none.
  std::string left_out;
};

struct ExecOutput {
  int64_t exit_code = 0;
  std::string stdout_text;
  std::string stderr_text;
  bool truncated = false;  // output past the runtime's bound was dropped
};

enum class LogStream { kStdout, kStderr };

// One line of a container's log, split on '\n' and '\r'. `timestamp` is Docker's
// RFC 3339 nano timestamp of the message the line started in. `text` has no line
// terminator; a line longer than the runtime's cap is cut there and `truncated` set.
// `redraw`: the line ended in a lone '\r' (not "\r\n"): a progress bar redrawn in
// place, which a terminal shows the next line over.
struct LogLine {
  LogStream stream = LogStream::kStdout;
  std::string_view timestamp;
  std::string_view text;
  bool truncated = false;
  bool redraw = false;
};

// Receives log lines in order. Returning false stops following.
using LogCallback = std::function<bool(const LogLine&)>;

// An exit registered before start (condition=next-exit). Get() blocks until the
// container exits, or the connection to the daemon breaks (kUnavailable).
class PendingExit {
 public:
  virtual ~PendingExit() = default;
  virtual Result<ExitStatus> Get() = 0;
  // Unblocks Get() with kCancelled; safe from any thread.
  virtual void Abandon() = 0;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  // The negotiated Docker API version, e.g. "1.41".
  virtual Result<std::string> ApiVersion() = 0;
  // The image id (sha256:...) when the image is present; kNotFound when it is not.
  virtual Result<std::string> ImageId(const std::string& image) = 0;
  // The repo digest the image was pulled by (repo@sha256:...), or its id when it has none.
  virtual Result<std::string> ImageDigest(const std::string& image) = 0;
  // Pulls `image` (name:tag or name@digest). Errors inside the progress stream are
  // failures. `cancelled` is polled while the stream is read.
  virtual Status Pull(const std::string& image, const std::atomic<bool>* cancelled) = 0;

  // The new container's id.
  virtual Result<std::string> Create(const ContainerSpec& spec) = 0;
  // Extracts a gzip tar into `dir` of a created container (the folder must exist
  // in the image, e.g. "/").
  virtual Status CopyIn(const std::string& id, const std::string& dir, std::string_view tar_gz) = 0;
  // Writes the tar archive of `path` in the container to `tar_file`, at most
  // `max_bytes` of it: the entry that would pass the cap and all after it are
  // left out (the archive stays valid, and the result says what was dropped).
  // kNotFound when the path does not exist.
  virtual Result<CopiedOut> CopyOut(const std::string& id, const std::string& path,
                                    const std::filesystem::path& tar_file, uint64_t max_bytes) = 0;
  // Registers the wait for the next exit; returns once the daemon has registered it.
  virtual Result<std::unique_ptr<PendingExit>> WaitNextExit(const std::string& id) = 0;
  virtual Status Start(const std::string& id) = 0;
  // SIGTERM (or the image's stop signal), then SIGKILL after `grace`. True when
  // this call stopped a running container; false when it had already stopped
  // (Docker's 304), which is Ok too.
  virtual Result<bool> Stop(const std::string& id, std::chrono::seconds grace) = 0;
  // Removes the container, killing it when it runs. Removing a missing one is Ok.
  virtual Status Remove(const std::string& id) = 0;
  virtual Result<ContainerState> Inspect(const std::string& id) = 0;
  // Containers carrying every label in `labels` (key=value), running or not.
  virtual Result<std::vector<ContainerSummary>> List(
      const std::map<std::string, std::string>& labels) = 0;

  // Streams stdout and stderr lines from `since_unix` (seconds; 0: from the start)
  // until the container stops, `on_line` returns false, or `stop` becomes true.
  // With `follow` false, returns the log so far. Memory stays bounded whatever the
  // container prints.
  virtual Status Logs(const std::string& id, int64_t since_unix, bool follow,
                      const LogCallback& on_line, const std::atomic<bool>* stop) = 0;

  // Runs `cmd` in the running container and collects its output (bounded).
  virtual Result<ExecOutput> Exec(const std::string& id, const std::vector<std::string>& cmd) = 0;
};

}  // namespace labelrun::runtime
