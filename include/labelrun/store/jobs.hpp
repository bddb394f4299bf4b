#pragma once
// Jobs and their history in SQLite. Every state change is a row in `jobs`
// (current state) and one in `job_events` (history), committed before the
// scheduler acts on it. Thread-safe: one connection guarded by a mutex.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "labelrun/core/job.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/rules/rule.hpp"
#include "labelrun/store/sqlite.hpp"

namespace labelrun::store {

struct JobRecord {
  int64_t seq = 0;  // submission order (FIFO within a priority)
  std::string id;
  std::string delivery;  // the delivery that decided it; empty for API retries and tools
  std::string repository;
  int64_t issue = 0;
  int64_t installation = 0;
  rules::JobSpec spec;  // spec.rule, spec.priority, ... as decided
  std::string commit;   // the commit whose code the job runs
  std::string sender;   // who added the label / asked for it
  JobState state = JobState::kQueued;
  std::string reason;
  std::string host;
  std::vector<std::string> gpus;
  std::string container_id;
  std::string image_digest;
  std::optional<int64_t> exit_code;
  std::string cancel_by;  // set when cancellation was asked for, before the stop
  // A pull request's job: `issue` is the PR's number and `commit` its head as of
  // the label that approved it; `from_fork` when that head lives in a fork.
  bool pull_request = false;
  bool from_fork = false;
  std::string trigger_label;  // the label whose addition started it; may be empty
  int64_t created_ms = 0;
  std::optional<int64_t> started_ms;
  std::optional<int64_t> finished_ms;
};

struct JobEvent {
  int64_t at_ms = 0;
  JobState state = JobState::kQueued;
  std::string detail;
};

struct JobFilter {
  std::string repository;         // empty: any
  std::optional<JobState> state;  // nullopt: any
  bool open_only = false;         // only jobs not in a final state
  int64_t limit = 100;
  // > 0: only jobs stored before the one with this seq (the next page of a list
  // that ended there); jobs are listed newest (highest seq) first.
  int64_t before_seq = 0;
};

class JobStore {
 public:
  // Opens (and migrates) the database at `path` (or ":memory:").
  static Result<std::unique_ptr<JobStore>> Open(const std::filesystem::path& path);

  // Inserts a new job (state queued) with its first event. Fails with
  // kAlreadyExists when a job of the same rule is still open on the issue, or
  // when `job.delivery` already started a job of the rule (in any state): a
  // delivery starts a rule's job at most once. The same transaction marks that
  // delivery's inbox row done, so a restart does not process it again.
  // Fills `job.seq`.
  Status Insert(JobRecord& job, int64_t now_ms);
  // Writes every mutable field of `job` and appends an event with `detail`.
  // When the state becomes final the dedupe key is released.
  Status Update(const JobRecord& job, int64_t now_ms, std::string_view detail);
  // Marks a delivery's inbox row done now, in its own transaction: for a delivery
  // whose effect must be durable before the next delivery is handed over (a
  // cancel, which replayed after a crash would cancel jobs that later deliveries
  // started). No-op when the row is not pending.
  Status MarkDeliveryDone(const std::string& delivery, int64_t now_ms);
  // Appends an event to a job's history without touching the job (who asked
  // for what, e.g. "retried by alice as j0123456789"); `state` is the job's state now.
  Status AddEvent(const std::string& id, int64_t now_ms, JobState state, std::string_view detail);
  // Records that cancellation was asked for (no state change yet).
  Status SetCancelBy(const std::string& id, const std::string& by);

  Result<std::optional<JobRecord>> Get(const std::string& id);
  // Newest first.
  Result<std::vector<JobRecord>> List(const JobFilter& filter);
  // Jobs not in a final state, oldest first.
  Result<std::vector<JobRecord>> Open();
  Result<std::vector<JobEvent>> Events(const std::string& id);

 private:
  explicit JobStore(Database db) : db_(std::move(db)) {}
  Result<std::vector<JobRecord>> Query(std::string_view where_order_limit,
                                       const std::vector<std::string>& binds);

  std::mutex mu_;
  Database db_;
};

// JobSpec <-> JSON, as stored in `jobs.spec`.
std::string SpecToJson(const rules::JobSpec& spec);
Result<rules::JobSpec> SpecFromJson(std::string_view json);

}  // namespace labelrun::store
