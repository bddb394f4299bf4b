#include "labelrun/scheduler/planner.hpp"

#include <algorithm>

namespace labelrun::scheduler {
namespace {

// A cluster host's GPUs as the planner sees them: more than any job asks for.
constexpr int kClusterGpus = 1 << 20;

}  // namespace

Planner::Planner(std::vector<HostSlots> hosts, int max_per_repository)
    : hosts_(std::move(hosts)),
      max_per_repository_(max_per_repository),
      busy_gpus_(hosts_.size()),
      jobs_on_host_(hosts_.size(), 0) {}

bool Planner::Before(const Demand& a, const Demand& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  return a.seq < b.seq;
}

bool Planner::Matches(const HostSlots& host, const Demand& d) const {
  for (const auto& [key, value] : d.host_selector) {
    auto it = host.labels.find(key);
    if (it == host.labels.end() || it->second != value) return false;
  }
  return true;
}

std::optional<std::string> Planner::NeverFits(const Demand& d) const {
  int most = -1;
  bool any_match = false;
  for (const HostSlots& host : hosts_) {
    if (!Matches(host, d)) continue;
    any_match = true;
    if (host.cluster) return std::nullopt;
    most = std::max(most, static_cast<int>(host.gpus.size()));
  }
  if (!any_match) {
    std::string selector;
    for (const auto& [k, v] : d.host_selector)
      selector += (selector.empty() ? "" : ", ") + k + "=" + v;
    return "no host matches its host selector (" + selector + ")";
  }
  if (d.gpus > most) {
    return "it needs " + std::to_string(d.gpus) + " GPU" + (d.gpus == 1 ? "" : "s") +
           " and the largest matching host has " + std::to_string(most);
  }
  return std::nullopt;
}

void Planner::Enqueue(const Demand& d) {
  auto at = std::upper_bound(queue_.begin(), queue_.end(), d, Before);
  queue_.insert(at, d);
}

bool Planner::Dequeue(const std::string& job_id) {
  auto it = std::find_if(queue_.begin(), queue_.end(),
                         [&](const Demand& d) { return d.job_id == job_id; });
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

void Planner::Restore(const Demand& d, const Assignment& a) {
  Dequeue(d.job_id);
  for (size_t h = 0; h < hosts_.size(); ++h) {
    if (hosts_[h].name != a.host) continue;
    Held held{d, h, {}};
    for (const std::string& gpu : a.gpus) {
      if (std::find(hosts_[h].gpus.begin(), hosts_[h].gpus.end(), gpu) != hosts_[h].gpus.end()) {
        busy_gpus_[h].insert(gpu);
        held.gpus.push_back(gpu);
      }
    }
    ++jobs_on_host_[h];
    held_[d.job_id] = std::move(held);
    return;
  }
}

void Planner::Release(const std::string& job_id) {
  Dequeue(job_id);
  auto it = held_.find(job_id);
  if (it == held_.end()) return;
  for (const std::string& gpu : it->second.gpus) busy_gpus_[it->second.host].erase(gpu);
  --jobs_on_host_[it->second.host];
  held_.erase(it);
}

bool Planner::CapReached(const Demand& d) const {
  int same_rule = 0, same_repo = 0;
  for (const auto& [id, held] : held_) {
    same_rule += held.demand.rule == d.rule;
    same_repo += held.demand.repository == d.repository;
  }
  if (d.rule_max_concurrent > 0 && same_rule >= d.rule_max_concurrent) return true;
  return max_per_repository_ > 0 && same_repo >= max_per_repository_;
}

std::optional<std::pair<size_t, std::vector<std::string>>> Planner::Fit(const Demand& d) const {
  std::optional<size_t> best;
  auto rank = [&](size_t h) {
    // CPU jobs: hosts without GPUs first, then the host with the fewest free GPUs.
    // GPU jobs: the host with the fewest free GPUs that still fits (best fit).
    const int free_gpus = hosts_[h].cluster
                              ? kClusterGpus
                              : static_cast<int>(hosts_[h].gpus.size() - busy_gpus_[h].size());
    const bool gpu_host = !hosts_[h].gpus.empty() || hosts_[h].cluster;
    return std::make_pair(d.gpus == 0 ? gpu_host : false, free_gpus);
  };
  for (size_t h = 0; h < hosts_.size(); ++h) {
    const HostSlots& host = hosts_[h];
    if (!Matches(host, d)) continue;
    if (host.max_jobs > 0 && jobs_on_host_[h] >= host.max_jobs) continue;
    const int free_gpus =
        host.cluster ? kClusterGpus : static_cast<int>(host.gpus.size() - busy_gpus_[h].size());
    if (free_gpus < d.gpus) continue;
    if (!best || rank(h) < rank(*best)) best = h;
  }
  if (!best) return std::nullopt;
  std::vector<std::string> gpus;
  if (hosts_[*best].cluster) return std::make_pair(*best, std::move(gpus));
  for (const std::string& gpu : hosts_[*best].gpus) {
    if (static_cast<int>(gpus.size()) == d.gpus) break;
    if (!busy_gpus_[*best].count(gpu)) gpus.push_back(gpu);
  }
  return std::make_pair(*best, std::move(gpus));
}

std::vector<Assignment> Planner::Schedule() {
  std::vector<Assignment> out;
  bool gpu_blocked = false;
  for (auto it = queue_.begin(); it != queue_.end();) {
    const Demand& d = *it;
    if ((d.gpus > 0 && gpu_blocked) || CapReached(d)) {
      ++it;
      continue;
    }
    auto fit = Fit(d);
    if (!fit) {
      gpu_blocked |= d.gpus > 0;
      ++it;
      continue;
    }
    auto [host, gpus] = std::move(*fit);
    for (const std::string& gpu : gpus) busy_gpus_[host].insert(gpu);
    ++jobs_on_host_[host];
    out.push_back({d.job_id, hosts_[host].name, gpus});
    held_[d.job_id] = Held{d, host, std::move(gpus)};
    it = queue_.erase(it);
  }
  return out;
}

int Planner::QueuePosition(const std::string& job_id) const {
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (queue_[i].job_id == job_id) return static_cast<int>(i + 1);
  }
  return 0;
}

std::vector<std::string> Planner::Queue() const {
  std::vector<std::string> out;
  for (const Demand& d : queue_) out.push_back(d.job_id);
  return out;
}

std::map<std::string, int> Planner::GpusInUse() const {
  std::map<std::string, int> out;
  for (size_t h = 0; h < hosts_.size(); ++h) {
    out[hosts_[h].name] = static_cast<int>(busy_gpus_[h].size());
  }
  return out;
}

}  // namespace labelrun::scheduler
