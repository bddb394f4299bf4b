#pragma once
// Rules as loaded from config: which label sets mean which job.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "labelrun/core/permission.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/rules/pattern.hpp"

namespace labelrun::rules {

// Repository permissions are labelrun's shared type (core/permission.hpp).
using labelrun::ParsePermission;
using labelrun::Permission;
using labelrun::PermissionName;

// Queue priority of a job, set by `priority:high` / `priority:low` labels.
enum class JobPriority { kLow, kNormal, kHigh };
std::string_view JobPriorityName(JobPriority p);  // "low", "normal", "high"

using KeyValues = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::chrono::milliseconds kDefaultJobTimeout = std::chrono::hours(6);

// Labels of a category passed to the job as an environment variable: for `module:*` ->
// LABELRUN_MODULE, an issue labelled `module:vit` runs with LABELRUN_MODULE=vit. Several
// matching labels give their keys sorted and joined with ','.
struct EnvFromLabel {
  Pattern pattern;
  std::string variable;
};

// The `job` of a rule: what to run. Only labels (never issue text) reach it.
// What a job's collected outputs may take on labelrun's disk, unless its rule says.
inline constexpr uint64_t kDefaultOutputsMaxBytes = 1ULL << 30;
// At most this many metrics in a job's `metric` list (one chart line colour each).
inline constexpr size_t kMaxJobMetrics = 6;

struct JobTemplate {
  std::string image;                 // pinned: a tag other than `latest`, or a digest
  std::vector<std::string> command;  // argv; never passed through a shell by labelrun
  KeyValues env;                     // sorted by name
  int gpus = 0;                      // 0: CPU-only
  double cpus = 0;                   // 0: no limit
  uint64_t memory_bytes = 0;         // 0: no limit
  uint64_t shm_bytes = 0;            // 0: the runtime's default
  std::chrono::milliseconds timeout = kDefaultJobTimeout;
  KeyValues host_selector;  // labels a host must carry, sorted by name
  std::string outputs;      // absolute folder in the container to collect; may be empty
  uint64_t outputs_max_bytes = kDefaultOutputsMaxBytes;  // collected beyond this: truncated
  // The metric keys drawn as curves, in order (`metric: loss` or `metric: [loss, val_loss]`).
  std::vector<std::string> metrics = {"loss"};
  std::vector<EnvFromLabel> env_from_labels;
  std::string working_dir = "/workspace";  // where the code is copied and the command runs
  std::vector<std::string> cap_add;        // capabilities added back; all others are dropped
  std::vector<std::string> mounts;         // "host:container[:ro]"; nothing is mounted otherwise
  std::string user;     // "uid[:gid]" or a name in the image; empty: the image's user
  std::string network;  // "none", "bridge", "host" or a network name; empty: Docker's default
};

// `when`: every `all` pattern matches some label, at least one `any` pattern matches (when
// `any` is not empty), and no label matches a `none` pattern.
struct When {
  std::vector<Pattern> all;
  std::vector<Pattern> any;
  std::vector<Pattern> none;
};

// What a pull request's open job becomes when new commits are pushed to it.
enum class OnNewCommits {
  kCancel,  // cancelled: its commit is no longer the PR's head
  kKeep,    // runs on for the commit that was labelled
};
std::string_view OnNewCommitsName(OnNewCommits v);  // "cancel", "keep"

struct Rule {
  std::string name;
  When when;
  JobTemplate job;
  int priority = 0;                                // higher is evaluated first
  Permission min_permission = Permission::kWrite;  // the sender needs at least this
  std::vector<std::string> allowed_users;          // empty: anyone with min_permission
  int max_concurrent = 0;                          // jobs of this rule at once; 0: no limit
  size_t position = 0;                             // index in the config's `rules` list
  // The job may mount the Docker socket or the host's root, add capabilities or
  // share the host's network: what gives it the host. Refused at load otherwise.
  bool unsafe = false;
  // Pull requests whose head is in a fork run only when the rule allows them.
  bool allow_forks = false;
  OnNewCommits on_new_commits = OnNewCommits::kCancel;
};

// A concrete job, ready for the scheduler: the template with label-derived values applied.
struct JobSpec {
  std::string rule;
  std::string image;
  std::vector<std::string> command;
  KeyValues env;  // sorted by name; template env plus env_from_labels
  int gpus = 0;
  double cpus = 0;
  uint64_t memory_bytes = 0;
  uint64_t shm_bytes = 0;
  std::chrono::milliseconds timeout = kDefaultJobTimeout;
  KeyValues host_selector;
  std::string outputs;
  uint64_t outputs_max_bytes = kDefaultOutputsMaxBytes;
  std::vector<std::string> metrics;
  JobPriority priority = JobPriority::kNormal;
  int max_concurrent = 0;
  std::string working_dir = "/workspace";
  std::vector<std::string> cap_add;
  std::vector<std::string> mounts;
  std::string user;
  std::string network;
};

// OK when `image` names a tag other than `latest` or a sha256 digest; otherwise an
// kInvalidArgument error such as "image 'pytorch' has no tag; pin a tag or digest".
Status CheckImagePinned(std::string_view image);

}  // namespace labelrun::rules
