#include "labelrun/store/inbox.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "labelrun/store/jobs.hpp"
#include "store/inbox_sql.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::store {
namespace {

using labelrun::testing::TempDir;

InboxRecord Record(const std::string& guid) {
  InboxRecord r;
  r.guid = guid;
  r.event = "issues";
  r.action = "labeled";
  r.repository = "acme/vision";
  r.received_at_ms = 1;
  r.body_bytes = 10;
  r.digest = "{}";
  return r;
}

Result<AppendOutcome> AppendSync(InboxWriter& w, InboxRecord r) {
  std::promise<Result<AppendOutcome>> p;
  w.Append(std::move(r), [&](Result<AppendOutcome> out) { p.set_value(std::move(out)); });
  return p.get_future().get();
}

int64_t CountRows(const std::filesystem::path& db, const std::string& where) {
  Result<Database> d = Database::Open(db);
  Result<Statement> st = d->Prepare("SELECT count(*) FROM inbox WHERE " + where);
  (void)st->Step();
  return st->ColumnInt(0);
}

// Whether SQLite's program for `sql` builds a temporary b-tree when it runs.
bool BuildsTemporaryTable(Database& db, std::string_view sql) {
  Result<Statement> st = db.Prepare("EXPLAIN " + std::string(sql));
  EXPECT_TRUE(st) << db.LastError();
  if (!st) return true;
  while (*st->Step()) {
    if (st->ColumnText(1) == "OpenEphemeral") return true;
  }
  return false;
}

TEST(InboxWriter, RowWritesBuildNoTemporaryTableOnTheCommitThreadsConnection) {
  TempDir dir;
  Result<Database> db = Database::Open(dir / "db");
  ASSERT_TRUE(db);
  ASSERT_TRUE(Migrate(*db));
  // The schema's CHECK on `state` costs a temporary b-tree per row by default...
  EXPECT_TRUE(BuildsTemporaryTable(*db, inbox_sql::kInsert));
  EXPECT_TRUE(BuildsTemporaryTable(*db, inbox_sql::kFinish));
  // ...and none with the commit thread's settings.
  for (std::string_view pragma : inbox_sql::kWriterPragmas) ASSERT_TRUE(db->Exec(pragma));
  for (std::string_view sql :
       {inbox_sql::kInsert, inbox_sql::kFinish, inbox_sql::kRetry, inbox_sql::kProbe}) {
    EXPECT_FALSE(BuildsTemporaryTable(*db, sql)) << sql;
  }
}

TEST(InboxWriter, OtherConnectionsStillCheckTheState) {
  TempDir dir;
  InboxStats stats;
  auto w = InboxWriter::Start(dir / "db", 64, stats, nullptr);
  ASSERT_TRUE(w);
  EXPECT_EQ(*AppendSync(**w, Record("a")), AppendOutcome::kStored);
  (*w)->Stop();
  Result<Database> db = Database::Open(dir / "db");
  ASSERT_TRUE(db);
  Status bad = db->Exec("UPDATE inbox SET state = 'lost'");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("CHECK"), std::string::npos) << bad.error().message();
  EXPECT_EQ(CountRows(dir / "db", "state = 'pending'"), 1);
}

TEST(InboxWriter, StoresOnceAndReportsDuplicates) {
  TempDir dir;
  InboxStats stats;
  auto w = InboxWriter::Start(dir / "db", 64, stats, nullptr);
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(*AppendSync(**w, Record("a")), AppendOutcome::kStored);
  EXPECT_EQ(*AppendSync(**w, Record("a")), AppendOutcome::kDuplicate);
  EXPECT_EQ(*AppendSync(**w, Record("b")), AppendOutcome::kStored);
  (*w)->Stop();
  EXPECT_EQ(CountRows(dir / "db", "state = 'pending'"), 2);
  EXPECT_EQ(stats.pending.load(), 2);
}

TEST(InboxWriter, GroupsConcurrentAppendsIntoFewerCommits) {
  TempDir dir;
  InboxStats stats;
  auto w = InboxWriter::Start(dir / "db", 512, stats, nullptr);
  ASSERT_TRUE(w);
  constexpr int kRows = 2000;
  std::atomic<int> done{0};
  std::promise<void> all;
  for (int i = 0; i < kRows; ++i) {
    (*w)->Append(Record("g" + std::to_string(i)), [&](Result<AppendOutcome> r) {
      EXPECT_TRUE(r);
      if (++done == kRows) all.set_value();
    });
  }
  all.get_future().wait();
  EXPECT_EQ(stats.committed_rows.load(), static_cast<uint64_t>(kRows));
  EXPECT_LT(stats.commits.load(), static_cast<uint64_t>(kRows / 4));
  (*w)->Stop();
  EXPECT_EQ(CountRows(dir / "db", "1"), kRows);
}

TEST(InboxWriter, DuplicatesInsideOneBatch) {
  TempDir dir;
  InboxStats stats;
  auto w = InboxWriter::Start(dir / "db", 512, stats, nullptr);
  ASSERT_TRUE(w);
  std::vector<std::future<Result<AppendOutcome>>> results;
  std::vector<std::shared_ptr<std::promise<Result<AppendOutcome>>>> promises;
  for (int i = 0; i < 10; ++i) {
    auto p = std::make_shared<std::promise<Result<AppendOutcome>>>();
    results.push_back(p->get_future());
    (*w)->Append(Record("same"), [p](Result<AppendOutcome> r) { p->set_value(std::move(r)); });
  }
  int stored = 0;
  for (auto& f : results) stored += *f.get() == AppendOutcome::kStored ? 1 : 0;
  EXPECT_EQ(stored, 1);
}

TEST(InboxWriter, ProbeSucceedsOnAWritableDatabase) {
  TempDir dir;
  InboxStats stats;
  auto w = InboxWriter::Start(dir / "db", 8, stats, nullptr);
  ASSERT_TRUE(w);
  std::promise<Status> p;
  (*w)->Probe([&](Status s) { p.set_value(s); });
  EXPECT_TRUE(p.get_future().get());
  (*w)->Stop();
  std::promise<Status> after;
  (*w)->Probe([&](Status s) { after.set_value(s); });
  Status s = after.get_future().get();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kUnavailable);
}

TEST(InboxWriter, UnopenableDatabaseIsAnError) {
  InboxStats stats;
  auto w = InboxWriter::Start("/nonexistent-dir/x/db", 8, stats, nullptr);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message().find("cannot open"), std::string::npos);
}

struct Recorder {
  std::mutex mu;
  std::vector<std::string> seen;
  std::function<Status(const InboxRow&)> outcome = [](const InboxRow&) { return Ok(); };
  InboxProcessor::Handler Handler() {
    return [this](const InboxRow& row) {
      std::lock_guard lock(mu);
      seen.push_back(row.guid);
      return outcome(row);
    };
  }
  size_t size() {
    std::lock_guard lock(mu);
    return seen.size();
  }
};

bool WaitFor(const std::function<bool()>& cond) {
  for (int i = 0; i < 500; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

TEST(InboxProcessor, DrainsInOrderAndResumesAfterRestart) {
  TempDir dir;
  InboxStats stats;
  {
    auto w = InboxWriter::Start(dir / "db", 64, stats, nullptr);
    for (int i = 0; i < 5; ++i) (void)AppendSync(**w, Record("r" + std::to_string(i)));
  }
  // Rows written by an earlier run are processed at start, in arrival order.
  InboxStats fresh;
  auto w = InboxWriter::Start(dir / "db", 64, fresh, nullptr);
  Recorder rec;
  auto p =
      InboxProcessor::Start(dir / "db", {}, rec.Handler(), **w, fresh, SystemClock::Instance());
  ASSERT_TRUE(p);
  ASSERT_TRUE(WaitFor([&] { return rec.size() == 5; }));
  EXPECT_EQ(rec.seen, (std::vector<std::string>{"r0", "r1", "r2", "r3", "r4"}));
  ASSERT_TRUE(WaitFor([&] { return CountRows(dir / "db", "state = 'done'") == 5; }));
  ASSERT_TRUE(WaitFor([&] { return fresh.pending.load() == 0; }));
  EXPECT_EQ(fresh.processed.load(), 5u);
}

TEST(InboxProcessor, PausedProcessesNothingUntilResumed) {
  TempDir dir;
  InboxStats stats;
  Recorder rec;
  std::atomic<InboxProcessor*> wake{nullptr};
  auto w = InboxWriter::Start(dir / "db", 64, stats, [&] {
    if (auto* p = wake.load()) p->Notify();
  });
  auto p = InboxProcessor::Start(dir / "db", {.paused = true}, rec.Handler(), **w, stats,
                                 SystemClock::Instance());
  wake = p->get();
  (void)AppendSync(**w, Record("x"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(rec.size(), 0u);
  EXPECT_EQ(CountRows(dir / "db", "state = 'pending'"), 1);
  (*p)->SetPaused(false);
  EXPECT_TRUE(WaitFor([&] { return rec.size() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return CountRows(dir / "db", "state = 'done'") == 1; }));
  (*p)->Stop();
  wake = nullptr;
}

TEST(InboxProcessor, PermanentFailureIsRecordedTransientIsRetried) {
  TempDir dir;
  InboxStats stats;
  auto w = InboxWriter::Start(dir / "db", 64, stats, nullptr);
  (void)AppendSync(**w, Record("bad"));
  (void)AppendSync(**w, Record("flaky"));
  Recorder rec;
  std::atomic<int> flaky_calls{0};
  rec.outcome = [&](const InboxRow& row) -> Status {
    if (row.guid == "bad") return Unexpected(ErrorCode::kInvalidArgument, "cannot decode");
    if (flaky_calls++ == 0) return Unexpected(ErrorCode::kUnavailable, "GitHub is down");
    return Ok();
  };
  auto p =
      InboxProcessor::Start(dir / "db", {}, rec.Handler(), **w, stats, SystemClock::Instance());
  ASSERT_TRUE(WaitFor([&] { return CountRows(dir / "db", "state = 'done'") == 1; }));
  EXPECT_EQ(CountRows(dir / "db", "state = 'failed' AND error LIKE '%cannot decode%'"), 1);
  EXPECT_EQ(CountRows(dir / "db", "guid = 'flaky' AND attempts = 2"), 1);
  EXPECT_EQ(flaky_calls.load(), 2);
  EXPECT_EQ(stats.process_failures.load(), 1u);
}

TEST(InboxProcessor, ADeliveryWhoseJobIsStoredIsNotHandedOverAgain) {
  // labelrun dies after a delivery's job is stored and before the processor
  // records the outcomes of its batch. Here the handler's transient failure
  // leaves the batch unrecorded the same way; the next run must not start the
  // delivery's job a second time, nor even hand the delivery over.
  TempDir dir;
  InboxStats stats;
  auto w = InboxWriter::Start(dir / "db", 64, stats, nullptr);
  auto jobs = JobStore::Open(dir / "db");
  ASSERT_TRUE(jobs);
  (void)AppendSync(**w, Record("decides"));
  Recorder rec;
  std::atomic<int> stored{0};
  rec.outcome = [&](const InboxRow& row) -> Status {
    if (row.guid != "decides") return Ok();
    JobRecord job;
    job.id = "j" + std::to_string(stored.load() + 1);
    job.delivery = row.guid;
    job.repository = "acme/vision";
    job.issue = 7;
    job.spec.rule = "train";
    if (Status s = (*jobs)->Insert(job, 1); !s) return s;
    ++stored;
    job.state = JobState::kFailed;  // ends at once, so the issue's key is free again
    if (Status s = (*jobs)->Update(job, 2, "it can never run here"); !s) return s;
    return Unexpected(ErrorCode::kUnavailable, "labelrun died here");
  };
  {
    auto first =
        InboxProcessor::Start(dir / "db", {}, rec.Handler(), **w, stats, SystemClock::Instance());
    ASSERT_TRUE(first);
    ASSERT_TRUE(WaitFor([&] { return stored.load() == 1; }));
  }
  (void)AppendSync(**w, Record("later"));
  auto next =
      InboxProcessor::Start(dir / "db", {}, rec.Handler(), **w, stats, SystemClock::Instance());
  ASSERT_TRUE(next);
  ASSERT_TRUE(WaitFor([&] { return CountRows(dir / "db", "guid = 'later' AND state = 'done'"); }));
  EXPECT_EQ(rec.seen, (std::vector<std::string>{"decides", "later"}));
  EXPECT_EQ(stored.load(), 1);
  // (Its row is done, or already pruned: the test's deliveries are dated 1970.)
  EXPECT_EQ(CountRows(dir / "db", "guid = 'decides' AND state = 'pending'"), 0);
}

TEST(InboxProcessor, OutcomesAndAppendsShareTheCommitThread) {
  // One writing connection: a burst of appends while the processor records its
  // outcomes never waits on SQLite's lock (which would sleep in the busy handler).
  TempDir dir;
  InboxStats stats;
  std::atomic<InboxProcessor*> wake{nullptr};
  auto w = InboxWriter::Start(dir / "db", 512, stats, [&] {
    if (auto* p = wake.load()) p->Notify();
  });
  Recorder rec;
  auto p =
      InboxProcessor::Start(dir / "db", {}, rec.Handler(), **w, stats, SystemClock::Instance());
  wake = p->get();
  constexpr int kRows = 3000;
  std::atomic<int> stored{0};
  for (int i = 0; i < kRows; ++i) {
    (*w)->Append(Record("burst" + std::to_string(i)), [&](Result<AppendOutcome> r) {
      if (r && *r == AppendOutcome::kStored) ++stored;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return CountRows(dir / "db", "state = 'done'") == kRows; }));
  EXPECT_EQ(stored.load(), kRows);
  // The processor lowers the gauge once its outcomes are committed, just after
  // the rows read as done.
  EXPECT_TRUE(WaitFor([&] { return stats.pending.load() == 0; })) << stats.pending.load();
  EXPECT_EQ(stats.commit_failures.load(), 0u);
  (*p)->Stop();
  wake = nullptr;
}

// What the systemd watchdog asks: waiting for work is fine, one delivery held
// past the limit is stuck, and an ended thread is never responsive.
TEST(InboxProcessor, ResponsiveUnlessOneDeliveryTakesTooLong) {
  TempDir dir;
  InboxStats stats;
  ManualClock clock;
  std::atomic<InboxProcessor*> wake{nullptr};
  auto w = InboxWriter::Start(dir / "db", 64, stats, [&] {
    if (auto* p = wake.load()) p->Notify();
  });
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  Recorder rec;
  rec.outcome = [&](const InboxRow&) -> Status {
    entered.set_value();
    released.wait();
    return Ok();
  };
  auto p = InboxProcessor::Start(dir / "db", {}, rec.Handler(), **w, stats, clock);
  ASSERT_TRUE(p);
  wake = p->get();
  EXPECT_TRUE((*p)->Responsive(std::chrono::seconds(1)));  // idle
  clock.Advance(std::chrono::minutes(5));
  EXPECT_TRUE((*p)->Responsive(std::chrono::seconds(1)));  // idle however long

  (void)AppendSync(**w, Record("slow"));
  entered.get_future().wait();
  EXPECT_TRUE((*p)->Responsive(std::chrono::seconds(1)));
  clock.Advance(std::chrono::seconds(2));
  EXPECT_FALSE((*p)->Responsive(std::chrono::seconds(1)));
  EXPECT_TRUE((*p)->Responsive(std::chrono::seconds(3)));
  release.set_value();
  EXPECT_TRUE(WaitFor([&] { return (*p)->Responsive(std::chrono::seconds(1)); }));
  EXPECT_TRUE(WaitFor([&] { return CountRows(dir / "db", "state = 'done'") == 1; }));

  (*p)->Stop();
  wake = nullptr;
  EXPECT_FALSE((*p)->Responsive(std::chrono::hours(1)));
}

// A delivery that waits for its retry holds back the later deliveries with its
// order key, in order, and none of the others.
TEST(InboxProcessor, ARetryHoldsBackOnlyTheDeliveriesWithItsKey) {
  TempDir dir;
  InboxStats stats;
  std::atomic<InboxProcessor*> wake{nullptr};
  auto w = InboxWriter::Start(dir / "db", 64, stats, [&] {
    if (auto* p = wake.load()) p->Notify();
  });
  auto keyed = [](const std::string& guid, const std::string& key) {
    InboxRecord r = Record(guid);
    r.repository = key;
    return r;
  };
  (void)AppendSync(**w, keyed("a1", "acme/vision#1"));
  (void)AppendSync(**w, keyed("b1", "acme/vision#2"));
  (void)AppendSync(**w, keyed("a2", "acme/vision#1"));
  Recorder rec;
  std::atomic<int> a1_calls{0};
  rec.outcome = [&](const InboxRow& row) -> Status {
    if (row.guid == "a1" && a1_calls++ < 2) return Unexpected(ErrorCode::kUnavailable, "HTTP 500");
    return Ok();
  };
  InboxProcessor::Options options;
  options.order_key = [](const InboxRow& row) { return row.repository; };
  options.retry_initial = std::chrono::milliseconds(1000);
  auto p = InboxProcessor::Start(dir / "db", options, rec.Handler(), **w, stats,
                                 SystemClock::Instance());
  ASSERT_TRUE(p);
  wake = p->get();
  // b1 goes on while a1 waits; a delivery for issue 2 received meanwhile too.
  ASSERT_TRUE(WaitFor([&] { return rec.size() == 2; }));
  (void)AppendSync(**w, keyed("b2", "acme/vision#2"));
  ASSERT_TRUE(WaitFor([&] { return rec.size() == 3; }));
  {
    std::lock_guard lock(rec.mu);
    EXPECT_EQ(rec.seen, (std::vector<std::string>{"a1", "b1", "b2"}));
  }
  EXPECT_EQ(CountRows(dir / "db", "guid IN ('a1', 'a2') AND state = 'pending'"), 2);
  // a2 only after a1, which succeeds on its third attempt (waits of 1 and 2 s).
  ASSERT_TRUE(WaitFor([&] { return CountRows(dir / "db", "state = 'done'") == 4; }));
  {
    std::lock_guard lock(rec.mu);
    EXPECT_EQ(rec.seen, (std::vector<std::string>{"a1", "b1", "b2", "a1", "a1", "a2"}));
  }
  EXPECT_EQ(CountRows(dir / "db", "guid = 'a1' AND attempts = 3"), 1);
  (*p)->Stop();
  wake = nullptr;
}

// Without an order key every later delivery waits for the one being retried.
TEST(InboxProcessor, WithoutAnOrderKeyARetryHoldsBackEveryLaterDelivery) {
  TempDir dir;
  InboxStats stats;
  auto w = InboxWriter::Start(dir / "db", 64, stats, nullptr);
  (void)AppendSync(**w, Record("first"));
  (void)AppendSync(**w, Record("second"));
  Recorder rec;
  std::atomic<int> calls{0};
  rec.outcome = [&](const InboxRow& row) -> Status {
    if (row.guid == "first" && calls++ == 0) return Unexpected(ErrorCode::kUnavailable, "down");
    return Ok();
  };
  InboxProcessor::Options options;
  options.retry_initial = std::chrono::milliseconds(200);
  auto p = InboxProcessor::Start(dir / "db", options, rec.Handler(), **w, stats,
                                 SystemClock::Instance());
  ASSERT_TRUE(WaitFor([&] { return CountRows(dir / "db", "state = 'done'") == 2; }));
  std::lock_guard lock(rec.mu);
  EXPECT_EQ(rec.seen, (std::vector<std::string>{"first", "first", "second"}));
}

// Retries are bounded: waits of 20, 40, 40, 40 ms pass retry_for (100 ms) at the
// fourth, so the fourth attempt is the last; the handler is told so, and a
// transient error then fails the delivery with its message.
TEST(InboxProcessor, TransientFailuresEndAtTheLastAttempt) {
  TempDir dir;
  InboxStats stats;
  auto w = InboxWriter::Start(dir / "db", 64, stats, nullptr);
  (void)AppendSync(**w, Record("down"));
  Recorder rec;
  std::vector<bool> last;
  rec.outcome = [&](const InboxRow& row) -> Status {
    last.push_back(row.last_attempt);
    return Unexpected(ErrorCode::kUnavailable, "GitHub is down");
  };
  InboxProcessor::Options options;
  options.retry_initial = std::chrono::milliseconds(20);
  options.retry_max = std::chrono::milliseconds(40);
  options.retry_for = std::chrono::milliseconds(100);
  auto p = InboxProcessor::Start(dir / "db", options, rec.Handler(), **w, stats,
                                 SystemClock::Instance());
  ASSERT_TRUE(WaitFor([&] { return CountRows(dir / "db", "state = 'failed'") == 1; }));
  (*p)->Stop();
  EXPECT_EQ(last, (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(CountRows(dir / "db", "attempts = 4 AND error LIKE '%GitHub is down%'"), 1);
  EXPECT_EQ(stats.process_failures.load(), 1u);
}

}  // namespace
}  // namespace labelrun::store
