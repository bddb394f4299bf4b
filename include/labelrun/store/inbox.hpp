#pragma once
// The durable delivery inbox. InboxWriter owns one thread and the only writing
// connection: it group-commits appends (one fsync for every delivery that
// arrived while the previous commit was on its way to disk) together with the
// processor's outcomes, so the two never wait on each other's locks.
// InboxProcessor owns one thread that drains stored deliveries in order.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "labelrun/core/clock.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/store/sqlite.hpp"

namespace labelrun::store {

struct InboxRecord {
  std::string guid;
  std::string event;
  std::string action;
  std::string repository;
  int64_t installation_id = 0;
  std::string sender;
  int64_t received_at_ms = 0;
  int64_t body_bytes = 0;
  std::string digest;
  std::optional<std::string> body;  // only with inbox.keep_bodies
};

enum class AppendOutcome { kStored, kDuplicate };

// What processing made of a stored delivery.
struct ProcessedMark {
  enum class State { kDone, kFailed, kRetry };  // kRetry: stays pending, attempts + 1
  int64_t seq = 0;
  State state = State::kDone;
  std::string error;  // kFailed / kRetry
  int64_t at_ms = 0;
};

// Counters shared by writer, processor and /metrics. All relaxed atomics.
struct InboxStats {
  std::atomic<int64_t> pending{0};  // stored, not yet processed
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> committed_rows{0};
  std::atomic<uint64_t> commit_failures{0};
  std::atomic<uint64_t> processed{0};
  std::atomic<uint64_t> process_failures{0};
};

class InboxWriter {
 public:
  using AppendCallback = std::function<void(Result<AppendOutcome>)>;
  using ProbeCallback = std::function<void(Status)>;

  // Opens the database (migrating it) and starts the commit thread.
  // `on_commit` runs on that thread after each commit that stored rows.
  static Result<std::unique_ptr<InboxWriter>> Start(const std::filesystem::path& db_path,
                                                    uint32_t max_batch, InboxStats& stats,
                                                    std::function<void()> on_commit);
  ~InboxWriter();  // Stop()s

  // Queues a record. `done` runs on the commit thread once the record is durable
  // (kStored), already there (kDuplicate), or could not be written. Thread-safe.
  void Append(InboxRecord record, AppendCallback done);
  // Checks the database takes writes; `done` runs on the commit thread.
  void Probe(ProbeCallback done);
  // Records processing outcomes in the next commit; `done` runs on the commit
  // thread once they are durable (or failed). Thread-safe.
  void Record(std::vector<ProcessedMark> marks, ProbeCallback done);
  // Commits what is queued, then stops the thread. Later appends fail.
  void Stop();

 private:
  struct Pending {
    InboxRecord record;
    AppendCallback done;
  };
  InboxWriter(InboxStats& stats, uint32_t max_batch, std::function<void()> on_commit);
  void Run(Database db);

  InboxStats& stats_;
  const uint32_t max_batch_;
  std::function<void()> on_commit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::vector<ProbeCallback> probes_;
  std::vector<std::pair<std::vector<ProcessedMark>, ProbeCallback>> marks_;
  bool stopping_ = false;
  std::thread thread_;
};

// A stored delivery, as the processor hands it over.
struct InboxRow {
  int64_t seq = 0;
  std::string guid;
  std::string event;
  std::string action;
  std::string repository;
  std::string digest;
  int64_t received_at_ms = 0;
  int64_t attempts = 0;  // earlier attempts that ended in a transient error
  // Set by the processor: a transient error now fails the row for good (its
  // retries have used InboxProcessor::Options::retry_for), so the handler should
  // say so where people see it.
  bool last_attempt = false;
};

class InboxProcessor {
 public:
  // Returns Ok to mark the row done; a transient error leaves it pending to be
  // retried after a backoff (on its last attempt it marks it failed); any other
  // error marks it failed with the message.
  using Handler = std::function<Status(const InboxRow&)>;
  // Rows with the same key are handed over in the order they were stored: while
  // one waits for its retry, later rows with its key wait too, and rows with
  // other keys go on. Typically "owner/repo#issue".
  using OrderKey = std::function<std::string(const InboxRow&)>;

  struct Options {
    bool paused = false;
    std::chrono::milliseconds retention{30LL * 24 * 3600 * 1000};
    // Null: one key for every row (a retry holds back everything after it).
    OrderKey order_key = nullptr;
    // The wait before the retry after attempt n (0-based) is retry_initial * 2^n,
    // at most retry_max. The attempt after which the waits would add up to more
    // than retry_for is the last. Attempts are stored, so a restart does not
    // start the count again (it only retries at once).
    std::chrono::milliseconds retry_initial{1000};
    std::chrono::milliseconds retry_max{60'000};
    std::chrono::milliseconds retry_for{std::chrono::minutes(10)};
  };

  // Outcomes are written through `writer`, which must outlive the processor.
  static Result<std::unique_ptr<InboxProcessor>> Start(const std::filesystem::path& db_path,
                                                       Options options, Handler handler,
                                                       InboxWriter& writer, InboxStats& stats,
                                                       const Clock& clock);
  ~InboxProcessor();  // Stop()s

  // Wakes the thread: new rows were committed. Cheap; thread-safe.
  void Notify();
  void SetPaused(bool paused);
  // Finishes the row in hand, then stops.
  void Stop();
  // Whether the thread still runs and is not stuck: it waits for work, or the
  // delivery (or commit) in hand began less than `max_busy` ago. False once the
  // thread has ended. Thread-safe; for the systemd watchdog.
  bool Responsive(std::chrono::milliseconds max_busy) const;

 private:
  static constexpr int64_t kWaiting = 0;
  static constexpr int64_t kEnded = -1;
  InboxProcessor(Options options, Handler handler, InboxWriter& writer, InboxStats& stats,
                 const Clock& clock);
  Status RecordAndWait(std::vector<ProcessedMark> marks);
  void Run(Database db);
  // The wait before the retry that follows attempt `attempt` (0-based).
  std::chrono::milliseconds RetryDelay(int64_t attempt) const;
  // Whether a transient failure of attempt `attempt` ends the row's retries.
  bool IsLastAttempt(int64_t attempt) const;

  Options options_;
  Handler handler_;
  InboxWriter& writer_;
  InboxStats& stats_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool paused_ = false;
  bool notified_ = false;
  // kWaiting, kEnded, or the steady time (ns) the work in hand began.
  std::atomic<int64_t> busy_since_ns_{kWaiting};
  std::thread thread_;
};

}  // namespace labelrun::store
