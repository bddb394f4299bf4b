#pragma once
// Where queued jobs go: hosts, their GPUs, and the order jobs wait in. No I/O;
// the dispatcher owns one Planner and calls it under its lock.
//
// - A job gets specific GPUs (device ids); two jobs never share one.
// - CPU-only jobs go to hosts without GPUs first and never hold GPUs.
// - Jobs wait in priority order (high, normal, low), FIFO within a priority. A
//   job that has to wait for GPUs keeps later GPU jobs waiting too (no
//   backfilling past it, so a big job is not starved by small ones); CPU jobs
//   and jobs held only by a concurrency cap do not block others.
// - A job that can never fit (more GPUs than any matching host has) is refused
//   with the reason.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "labelrun/rules/rule.hpp"

namespace labelrun::scheduler {

struct HostSlots {
  std::string name;
  std::map<std::string, std::string> labels;
  std::vector<std::string> gpus;  // device ids, in the order they are handed out
  int max_jobs = 0;               // jobs at once on this host; 0: no limit
  // A cluster (Slurm) that queues jobs and allocates GPUs itself: any GPU count
  // fits, and no device ids are handed out here.
  bool cluster = false;
};

struct Demand {
  std::string job_id;
  int64_t seq = 0;
  rules::JobPriority priority = rules::JobPriority::kNormal;
  std::string repository;
  std::string rule;
  int gpus = 0;
  rules::KeyValues host_selector;
  int rule_max_concurrent = 0;  // 0: no cap
};

struct Assignment {
  std::string job_id;
  std::string host;
  std::vector<std::string> gpus;
};

class Planner {
 public:
  // `max_per_repository`: jobs of one repository at once; 0: no cap.
  Planner(std::vector<HostSlots> hosts, int max_per_repository);

  // Why `d` can never run here, or nullopt when some host could take it.
  std::optional<std::string> NeverFits(const Demand& d) const;

  // Adds a job to the queue.
  void Enqueue(const Demand& d);
  // Removes a queued job (cancelled). False if it was not queued.
  bool Dequeue(const std::string& job_id);
  // Marks resources of an already placed job as held (restart recovery). GPUs
  // not on the host are ignored.
  void Restore(const Demand& d, const Assignment& a);
  // Frees what a job held (it ended).
  void Release(const std::string& job_id);

  // Places every queued job that fits now, in queue order, and returns the
  // assignments (the jobs leave the queue and hold their resources).
  std::vector<Assignment> Schedule();

  // 1-based position of a queued job; 0 when it is not queued.
  int QueuePosition(const std::string& job_id) const;
  // Queued job ids in queue order.
  std::vector<std::string> Queue() const;
  size_t QueueSize() const { return queue_.size(); }
  // GPUs held per host (for metrics).
  std::map<std::string, int> GpusInUse() const;
  const std::vector<HostSlots>& hosts() const { return hosts_; }

 private:
  struct Held {
    Demand demand;
    size_t host = 0;
    std::vector<std::string> gpus;
  };
  bool Matches(const HostSlots& host, const Demand& d) const;
  bool CapReached(const Demand& d) const;
  // The best host for `d` now (fewest free GPUs that still fit; CPU hosts first
  // for CPU jobs) and the GPUs it would get.
  std::optional<std::pair<size_t, std::vector<std::string>>> Fit(const Demand& d) const;
  static bool Before(const Demand& a, const Demand& b);

  std::vector<HostSlots> hosts_;
  int max_per_repository_;
  std::vector<Demand> queue_;  // kept sorted by Before
  std::map<std::string, Held> held_;
  std::vector<std::set<std::string>> busy_gpus_;  // per host
  std::vector<int> jobs_on_host_;
};

}  // namespace labelrun::scheduler
