#pragma once
// What the report side is told about a job: the facts a maintainer sees in the
// comment and on the job page. Filled by the scheduler side; rendered by report/.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "labelrun/core/job.hpp"

namespace labelrun::report {

struct JobView {
  std::string id;    // e.g. "j-1f3a9c"
  std::string repo;  // owner/name
  int64_t issue = 0;
  std::string rule;
  JobState state = JobState::kQueued;
  // Why the job is in its state, in words a maintainer understands, e.g.
  // "killed: out of memory (limit 16 GiB)", "cancelled by @alice",
  // "stopped: GPU idle below 5% for 10 min". Empty when there is nothing to add.
  std::string reason;
  int queue_position = 0;  // 1-based while queued; 0 otherwise
  std::string image;       // as the rule names it
  std::string image_digest;
  std::string host;
  std::vector<std::string> gpus;  // device ids handed to the job
  std::string commit;             // the commit the code was taken from
  // `issue` is a pull request and `commit` its head as labelled; from a fork or not.
  bool pull_request = false;
  bool from_fork = false;
  std::vector<std::string> metrics = {"loss"};  // the metrics drawn as curves, in order
  int64_t created_unix_ms = 0;
  std::optional<int64_t> started_unix_ms;
  std::optional<int64_t> finished_unix_ms;
  std::optional<int64_t> exit_code;
};

// Absolute links for the comment; empty strings are left out of it.
struct Links {
  std::string job_page;
  std::string log;
  std::string outputs;
};

}  // namespace labelrun::report
