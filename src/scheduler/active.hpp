#pragma once
// A placed job's runtime state, shared by the dispatcher's loop and the job's
// worker thread. Private to scheduler/.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "labelrun/runtime/runtime.hpp"
#include "labelrun/scheduler/dispatcher.hpp"

namespace labelrun::scheduler {

struct Dispatcher::Active {
  std::string job_id;
  std::string host;
  std::vector<std::string> gpus;  // as placed
  std::shared_ptr<runtime::Runtime> runtime;
  bool attach = false;  // recovery: the container exists; follow it
  // recovery: a cluster still queues it; wait for it to start before following
  bool attach_pending = false;

  std::atomic<bool> stop_following{false};  // labelrun is shutting down
  std::atomic<bool> stop_requested{false};  // cancel, timeout or idle GPU
  std::atomic<bool> daemon_lost{false};     // the Docker daemon went away while it ran

  std::mutex mu;  // guards the fields below
  EndCause cause = EndCause::kNone;
  std::string cause_detail;  // who cancelled, or the idle guard's words
  std::string container_id;
  bool running = false;
  // Set once the stop for `cause` has reached Docker: false when the container
  // had already exited by then (its own exit is the outcome), true when the
  // stop ended it.
  std::optional<bool> stop_found_running;
  bool ended = false;  // its final state is stored: a cancel now is too late
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::unique_ptr<runtime::PendingExit> pending;
  std::thread worker;
  std::thread stopper;
};

}  // namespace labelrun::scheduler
