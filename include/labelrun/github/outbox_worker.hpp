#pragma once
// The paced sender of the outbox: one write in flight per installation, at
// least `min_interval` between the answer to one write of an installation and
// the next write of it, rows of an installation in id order. Installations are
// independent: each has its own pace, and the writes of several installations
// are in flight at once (up to `max_senders`), so that one installation's
// backlog, slow answer or rate-limit wait never holds another's. When more
// installations are due than can be sent, the write that has been due longest
// goes first. Outages and rate limits delay a write (it stays at the head of
// its installation's queue); they never drop it. Writes GitHub refuses for good
// (422, 403 permission, 404) are marked failed.
//
// A job's report comment is created once and then edited. If a create may have
// reached GitHub before a crash (the row was claimed before), the worker first
// looks for the job's marker on the issue and edits what it finds instead of
// posting a second comment.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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
  // suggestions) and to a check run's output title, summary and text, so that what is
  // stored and sent has passed it: serve sets labelrun's redactor here. Labels and
  // reactions are left as they are. Empty: bodies are kept. Check run outputs are also
  // cut to GitHub's 65,535 characters each (a log's head goes first).
  std::function<std::string(std::string_view)> redact_comment;
  // Writes in flight at once, each for a different installation (Start() only;
  // threads are started as they are needed, up to this many).
  int max_senders = 16;
  // A write is reserved (see OutboxStore::Reserve) this long before it is due, so
  // that the database commit is done when the pacing allows the write (Start() only).
  std::chrono::milliseconds claim_ahead{500};
};

class OutboxWorker {
 public:
  // REQUIRES: store, client, clock and stats outlive the worker.
  OutboxWorker(store::OutboxStore& store, Client& client, const Clock& clock, OutboxStats& stats,
               OutboxOptions options = {});
  ~OutboxWorker();  // stops the threads

  // Stores the write (stamped with the clock's time; a comment body redacted by
  // options.redact_comment) and wakes the worker. The one way writes enter the outbox.
  // Thread-safe; never waits on the network.
  Result<int64_t> Enqueue(const store::OutboxWrite& write);
  // Enqueue of each write, in order, in one commit (all or none): their ids in the
  // same order. `flush`: see OutboxStore::EnqueueAll (kWithNext for progress edits
  // only). Thread-safe; never waits on the network.
  Result<std::vector<int64_t>> EnqueueAll(
      const std::vector<store::OutboxWrite>& writes,
      store::OutboxStore::Flush flush = store::OutboxStore::Flush::kNow);
  // Drops a write not yet tried (see OutboxStore::Cancel): true when it will
  // never reach GitHub. Thread-safe; never waits on the network.
  Result<bool> Cancel(int64_t id);

  struct Step {
    bool sent = false;  // a write was attempted
    // When the next write may be due; nullopt: the outbox is empty.
    std::optional<std::chrono::system_clock::time_point> next_due;
  };
  // Sends at most one due write (the one due longest), blocking on the network.
  // Not thread-safe against itself or Start(): call it from one thread (tests).
  Result<Step> RunOnce();

  // A scheduling thread that hands due writes to sender threads until Stop(),
  // sleeping until the next due time, a Wake() or a sender's answer.
  void Start();
  // Waits for the writes in flight to be answered; writes not yet started stay
  // queued for the next start.
  void Stop();
  // Call after Enqueue so a sleeping worker looks again.
  void Wake();

 private:
  // A head write due now, and since when.
  struct Due {
    store::OutboxWrite write;
    std::chrono::system_clock::time_point since;
  };
  struct Plan {
    std::vector<Due> due;  // longest due first (with `ahead`: due by then)
    // When the earliest head not yet due will be; nullopt: none waiting.
    std::optional<std::chrono::system_clock::time_point> next;
  };
  // REQUIRES: mu_ held. Of `heads` (OutboxStore::Heads, read before mu_ was taken),
  // those of installations with no write in flight. A head read before its
  // installation's last send finished is no longer pending: its Reserve says so.
  Result<Plan> PlanLocked(Result<std::vector<store::OutboxWrite>> heads,
                          std::chrono::system_clock::time_point now,
                          std::chrono::milliseconds ahead = std::chrono::milliseconds(0));
  // Reserves one head write, waits until `due` (if set), then sends and marks
  // it; returns whether it was attempted. The reservation's commit comes before
  // the wait, so that it does not delay the write.
  // REQUIRES: its installation is in in_flight_ (so no other thread sends it).
  Result<bool> Process(const store::OutboxWrite& head,
                       std::optional<std::chrono::system_clock::time_point> due = std::nullopt);
  // Sleeps until `due` and any rate limit of the installation have passed; false
  // when stopping.
  bool WaitForTurn(std::chrono::system_clock::time_point due, int64_t installation);
  // `answered`: when GitHub's last answer came, the start of the next write's
  // interval (unset: when Send returned). Returns the report comment's id for
  // kComment, else 0.
  Result<int64_t> Send(const store::OutboxWrite& write,
                       std::chrono::system_clock::time_point& answered);
  Result<int64_t> SendComment(const store::OutboxWrite& write, const Repo& repo,
                              std::chrono::system_clock::time_point& answered);
  // Creates the job's check run once, then updates it; returns its id.
  Result<int64_t> SendCheckRun(const store::OutboxWrite& write, const Repo& repo,
                               std::chrono::system_clock::time_point& answered);
  // The write as it is stored: options.redact_comment applied to a comment body,
  // and to a check run's output (cut to GitHub's limits).
  store::OutboxWrite Redacted(const store::OutboxWrite& write) const;
  void Schedule();
  void SenderLoop();
  void UpdateDepth();

  store::OutboxStore& store_;
  Client& client_;
  const Clock& clock_;
  OutboxStats& stats_;
  OutboxOptions options_;

  std::mutex mu_;
  // Guarded by mu_.
  std::map<int64_t, std::chrono::system_clock::time_point> next_allowed_;
  std::set<int64_t> in_flight_;  // installations with a write handed out
  // Handed out, not yet picked up by a sender, with when each is due (it is handed
  // out up to claim_ahead before).
  std::deque<std::pair<store::OutboxWrite, std::chrono::system_clock::time_point>> work_;
  std::condition_variable cv_;       // the scheduler: woken_, stop_
  std::condition_variable work_cv_;  // the senders: work_, stop_
  bool stop_ = false;
  bool woken_ = false;
  std::thread scheduler_;
  std::vector<std::thread> senders_;
};

}  // namespace labelrun::github
