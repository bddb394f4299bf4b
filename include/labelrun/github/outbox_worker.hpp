#pragma once
// The paced sender of the outbox: one write in flight per installation, at
// least `min_interval` between writes of an installation, rows of an
// installation in id order. Outages and rate limits delay a write (it stays at
// the head of its installation's queue); they never drop it. Writes GitHub
// refuses for good (422, 403 permission, 404) are marked failed.
//
// A job's report comment is created once and then edited. If a create may have
// reached GitHub before a crash (the row was claimed before), the worker first
// looks for the job's marker on the issue and edits what it finds instead of
// posting a second comment.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "labelrun/core/clock.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/github/client.hpp"
#include "labelrun/store/outbox.hpp"

namespace labelrun::github {

struct OutboxStats {
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> retried{0};
  std::atomic<int64_t> rate_limit_waits{0};
  std::atomic<int64_t> depth{0};  // writes not yet done or failed, as last seen
};

struct OutboxOptions {
  std::chrono::milliseconds min_interval{std::chrono::seconds(1)};
  // Applied by Enqueue to every comment body (job reports, explanations, refusals,
  // suggestions), so that what is stored and sent has passed it: serve sets labelrun's
  // redactor here. Labels and reactions are left as they are. Empty: bodies are kept.
  std::function<std::string(std::string_view)> redact_comment;
};

class OutboxWorker {
 public:
  // REQUIRES: store, client, clock and stats outlive the worker.
  OutboxWorker(store::OutboxStore& store, Client& client, const Clock& clock, OutboxStats& stats,
               OutboxOptions options = {});
  ~OutboxWorker();  // stops the thread

  // Stores the write (stamped with the clock's time; a comment body redacted by
  // options.redact_comment) and wakes the worker. The one way writes enter the outbox.
  // Thread-safe; never waits on the network.
  Result<int64_t> Enqueue(const store::OutboxWrite& write);
  // Drops a write not yet tried (see OutboxStore::Cancel): true when it will
  // never reach GitHub. Thread-safe; never waits on the network.
  Result<bool> Cancel(int64_t id);

  struct Step {
    bool sent = false;  // a write was attempted
    // When the next write may be due; nullopt: the outbox is empty.
    std::optional<std::chrono::system_clock::time_point> next_due;
  };
  // Sends at most one due write, blocking on the network. Not thread-safe
  // against itself: either call it from one thread (tests) or Start().
  Result<Step> RunOnce();

  // A thread that runs RunOnce until Stop(), sleeping until the next due time
  // or a Wake().
  void Start();
  void Stop();
  // Call after Enqueue so a sleeping worker looks again.
  void Wake();

 private:
  Status Send(const store::OutboxWrite& write);
  Status SendComment(const store::OutboxWrite& write, const Repo& repo);

  store::OutboxStore& store_;
  Client& client_;
  const Clock& clock_;
  OutboxStats& stats_;
  OutboxOptions options_;
  std::map<int64_t, std::chrono::system_clock::time_point> next_allowed_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace labelrun::github
