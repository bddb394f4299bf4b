// The durable outbox and its paced worker, against the loopback GitHub.

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "github/github_env.hpp"
#include "labelrun/github/outbox_worker.hpp"
#include "labelrun/store/outbox.hpp"
#include "labelrun/store/sqlite.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::github {
namespace {

using labelrun::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;
using store::OutboxStore;
using store::OutboxWrite;
using store::WriteKind;
using testing::FakeFault;
using testing::GithubEnv;

constexpr int64_t kInst = 7;

OutboxWrite Comment(const std::string& job, const std::string& body, int64_t issue = 1,
                    int64_t installation = kInst) {
  OutboxWrite w;
  w.installation_id = installation;
  w.repository = "acme/vision";
  w.issue = issue;
  w.kind = WriteKind::kComment;
  w.job_key = job;
  w.payload = body;
  return w;
}

OutboxWrite Labels(WriteKind kind, const std::string& payload, int64_t installation = kInst) {
  OutboxWrite w;
  w.installation_id = installation;
  w.repository = "acme/vision";
  w.issue = 1;
  w.kind = kind;
  w.payload = payload;
  return w;
}

std::unique_ptr<OutboxStore> OpenStore(const TempDir& dir) {
  auto store = OutboxStore::Open(dir / "labelrun.db");
  EXPECT_TRUE(store) << store.error().message();
  return std::move(*store);
}

// GitHub as seen by one slow installation: every write to `held` (a URL part, such
// as "/issues/1/") waits until Release(), as a write stuck behind a slow or hanging
// answer would. Other requests pass at once.
class HoldingTransport final : public Transport {
 public:
  HoldingTransport(Transport& inner, std::string held) : inner_(inner), held_(std::move(held)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (request.method != "GET" && request.url.find(held_) != std::string::npos) {
      std::unique_lock lock(mu_);
      ++holding_;
      cv_.notify_all();
      cv_.wait_for(lock, seconds(20), [this] { return released_; });
    }
    return inner_.Send(request);
  }
  bool WaitHolding(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return holding_ > 0; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  Transport& inner_;
  const std::string held_;
  std::mutex mu_;
  std::condition_variable cv_;
  int holding_ = 0;
  bool released_ = false;
};

// Runs the worker on the ManualClock until the outbox is empty.
int Drain(OutboxWorker& worker, GithubEnv& env, int max_steps = 200) {
  int sends = 0;
  for (int i = 0; i < max_steps; ++i) {
    auto step = worker.RunOnce();
    EXPECT_TRUE(step) << step.error().message();
    if (!step || !step->next_due) break;
    sends += step->sent;
    if (*step->next_due > env.clock.Now()) {
      env.clock.Advance(
          std::chrono::duration_cast<milliseconds>(*step->next_due - env.clock.Now()));
    }
  }
  return sends;
}

TEST(GithubOutboxStore, CoalescesPendingEditsOfTheSameComment) {
  TempDir dir;
  auto store = OpenStore(dir);
  int64_t a = *store->Enqueue(Comment("42", "queued"), 1);
  int64_t l = *store->Enqueue(Labels(WriteKind::kAddLabels, "status:queued"), 2);
  int64_t b = *store->Enqueue(Comment("42", "running 10%"), 3);
  int64_t other = *store->Enqueue(Comment("43", "queued"), 4);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  EXPECT_LT(a, l);
  auto all = *store->All();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].payload, "running 10%");
  EXPECT_EQ(*store->Depth(), 3);

  // Once claimed (being sent), a new edit is a new row.
  auto claimed = *store->Claim(a);
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->attempts, 1);
  int64_t c = *store->Enqueue(Comment("42", "running 20%"), 5);
  EXPECT_NE(c, a);
  EXPECT_FALSE(store->Claim(a)->has_value());
}

TEST(GithubOutboxStore, AnEditThatMustStandAloneNeverCoalesces) {
  TempDir dir;
  auto store = OpenStore(dir);
  int64_t queued = *store->Enqueue(Comment("42", "queued"), 1);
  int64_t label = *store->Enqueue(Labels(WriteKind::kAddLabels, "status:queued"), 2);
  OutboxWrite running = Comment("42", "running");
  running.coalesce = false;  // a new state: its own edit, after the queued one
  int64_t r = *store->Enqueue(running, 3);
  EXPECT_GT(r, label);
  // Progress merges into the newest pending edit only, never into an older one.
  EXPECT_EQ(*store->Enqueue(Comment("42", "running 10%"), 4), r);
  EXPECT_EQ(*store->Enqueue(Comment("42", "running 20%"), 5), r);
  std::vector<std::string> bodies;
  const std::vector<OutboxWrite> rows = *store->All();
  for (const OutboxWrite& w : rows) bodies.push_back(w.payload);
  EXPECT_EQ(bodies, (std::vector<std::string>{"queued", "status:queued", "running 20%"}));
  EXPECT_LT(queued, label);

  // The newest edit being sent: the next one is a new row, not merged into an
  // older pending one.
  ASSERT_TRUE(store->Claim(queued)->has_value());
  ASSERT_TRUE(store->MarkDone(queued, 6));
  ASSERT_TRUE(store->Claim(r)->has_value());
  int64_t after = *store->Enqueue(Comment("42", "running 30%"), 7);
  EXPECT_GT(after, r);
}

// A batch is Enqueue of each write in order, in one commit: edits inside it
// coalesce as they would one by one, and a failed batch leaves nothing behind.
TEST(GithubOutboxStore, EnqueueAllIsEnqueueOfEachInOneCommit) {
  TempDir dir;
  auto store = OpenStore(dir);
  int64_t pending = *store->Enqueue(Comment("42", "running"), 1);
  OutboxWrite final_edit = Comment("43", "succeeded");
  final_edit.coalesce = false;
  Result<std::vector<int64_t>> ids =
      store->EnqueueAll({Comment("42", "running 10%"), Comment("43", "running"), final_edit,
                         Labels(WriteKind::kAddLabels, "status:done")},
                        2);
  ASSERT_TRUE(ids) << ids.error().message();
  ASSERT_EQ(ids->size(), 4u);
  EXPECT_EQ((*ids)[0], pending);    // merged into the pending edit, as Enqueue does
  EXPECT_GT((*ids)[2], (*ids)[1]);  // a state of its own stays a row of its own
  EXPECT_GT((*ids)[3], (*ids)[2]);
  const std::vector<OutboxWrite> rows = *store->All();
  std::vector<std::string> bodies;
  for (const OutboxWrite& w : rows) bodies.push_back(w.payload);
  EXPECT_EQ(bodies,
            (std::vector<std::string>{"running 10%", "running", "succeeded", "status:done"}));

  // A batch the database refuses (another connection holds the write lock past
  // the busy timeout) is an error, and none of its writes is kept.
  auto blocker = store::Database::Open(dir / "labelrun.db");
  ASSERT_TRUE(blocker) << blocker.error().message();
  ASSERT_TRUE(blocker->Exec("BEGIN IMMEDIATE"));
  EXPECT_FALSE(store->EnqueueAll({Comment("44", "queued")}, 3));
  ASSERT_TRUE(blocker->Exec("ROLLBACK"));
  EXPECT_EQ(store->All()->size(), 4u);
  EXPECT_TRUE(store->EnqueueAll({}, 4));

  // Progress edits committed to be flushed with the next commit are stored and
  // merged alike, and the commits after them work as before.
  Result<std::vector<int64_t>> progress =
      store->EnqueueAll({Comment("43", "succeeded, 100%")}, 5, OutboxStore::Flush::kWithNext);
  ASSERT_TRUE(progress) << progress.error().message();
  EXPECT_EQ((*progress)[0], (*ids)[2]);
  EXPECT_GT(*store->Enqueue(Labels(WriteKind::kRemoveLabel, "status:in-progress"), 6), (*ids)[3]);
  EXPECT_EQ(store->All()->size(), 5u);
  // Committed to the database file, not held in this process: another connection
  // (as labelrun after a crash) reads them.
  auto other = OpenStore(dir);
  const std::vector<OutboxWrite> seen = *other->All();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[2].payload, "succeeded, 100%");
}

TEST(GithubOutboxStore, CancelDropsOnlyWritesNotYetSent) {
  TempDir dir;
  auto store = OpenStore(dir);
  int64_t sending = *store->Enqueue(Labels(WriteKind::kAddLabels, "status:queued"), 1);
  int64_t pending = *store->Enqueue(Labels(WriteKind::kRemoveLabel, "status:done"), 2);
  int64_t done = *store->Enqueue(Labels(WriteKind::kAddLabels, "gpu:required"), 3);
  ASSERT_TRUE(store->Claim(sending)->has_value());
  ASSERT_TRUE(store->Claim(done)->has_value());
  ASSERT_TRUE(store->MarkDone(done, 4));
  EXPECT_EQ(*store->Cancel(pending), true);
  EXPECT_EQ(*store->Cancel(pending), false);  // already gone
  EXPECT_EQ(*store->Cancel(sending), false);  // on its way: it counts as sent
  EXPECT_EQ(*store->Cancel(done), false);
  EXPECT_EQ(*store->Cancel(999), false);
  // Tried once and waiting for a retry: the first attempt may have landed.
  ASSERT_TRUE(store->MarkRetry(sending, 0, "connection reset"));
  EXPECT_EQ(*store->Cancel(sending), false);
  std::vector<int64_t> left;
  const std::vector<OutboxWrite> rows = *store->All();
  for (const OutboxWrite& w : rows) left.push_back(w.id);
  EXPECT_EQ(left, (std::vector<int64_t>{sending, done}));
  EXPECT_EQ(*store->Depth(), 1);
  EXPECT_FALSE(store->Claim(pending)->has_value());
}

// A write reserved ahead of its turn has its attempt committed, yet until its send
// begins it still takes newer bodies and can be cancelled, as a pending one can.
TEST(GithubOutboxStore, AReservedWriteStaysOpenUntilItsSendBegins) {
  TempDir dir;
  auto store = OpenStore(dir);
  int64_t queued = *store->Enqueue(Comment("42", "queued"), 1);
  int64_t label = *store->Enqueue(Labels(WriteKind::kAddLabels, "status:queued"), 2);
  EXPECT_EQ(*store->Reserve(queued), true);
  EXPECT_EQ(*store->Reserve(queued), false);  // reserved once only
  EXPECT_EQ((*store->All())[0].attempts, 1);
  EXPECT_EQ(*store->Enqueue(Comment("42", "queued (position 1)"), 3), queued);
  auto begun = store->Begin(queued);
  ASSERT_TRUE(begun.has_value());
  EXPECT_EQ(begun->payload, "queued (position 1)");
  EXPECT_EQ(begun->attempts, 1);
  EXPECT_TRUE(begun->comment_known);
  EXPECT_EQ(begun->report_comment_id, 0);
  EXPECT_FALSE(store->Begin(queued).has_value());
  // On its way now: the next body is a write of its own, and it cannot be cancelled.
  EXPECT_NE(*store->Enqueue(Comment("42", "queued (position 2)"), 4), queued);
  EXPECT_EQ(*store->Cancel(queued), false);

  // Cancelled while reserved: never begun, never sent.
  EXPECT_EQ(*store->Reserve(label), true);
  EXPECT_EQ(*store->Cancel(label), true);
  EXPECT_FALSE(store->Begin(label).has_value());

  // Released: pending again, the attempt uncounted, so still cancellable.
  int64_t remove = *store->Enqueue(Labels(WriteKind::kRemoveLabel, "status:done"), 5);
  EXPECT_EQ(*store->Reserve(remove), true);
  ASSERT_TRUE(store->Release(remove));
  const std::vector<OutboxWrite> rows = *store->All();
  for (const OutboxWrite& w : rows) {
    if (w.id == remove) {
      EXPECT_EQ(w.attempts, 0);
    }
  }
  EXPECT_EQ(*store->Cancel(remove), true);

  // A write tried before may have landed: reserved again, it is not cancellable.
  int64_t retried = *store->Enqueue(Labels(WriteKind::kAddLabels, "status:queued"), 6);
  ASSERT_TRUE(store->Claim(retried)->has_value());
  ASSERT_TRUE(store->MarkRetry(retried, 0, "connection reset"));
  EXPECT_EQ(*store->Reserve(retried), true);
  EXPECT_EQ(*store->Cancel(retried), false);
  auto again = store->Begin(retried);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->attempts, 2);
}

// A report comment sent: the row is done and the job's comment id known, in one
// commit (a later edit of the job edits that comment).
TEST(GithubOutboxStore, ACommentMarkedDoneRemembersItsComment) {
  TempDir dir;
  auto store = OpenStore(dir);
  int64_t first = *store->Enqueue(Comment("42", "queued"), 1);
  ASSERT_TRUE(store->Claim(first)->has_value());
  ASSERT_TRUE(store->MarkCommentDone(first, 2, 555));
  EXPECT_EQ(*store->CommentId("acme/vision", 1, "42"), std::optional<int64_t>(555));
  EXPECT_EQ(*store->Depth(), 0);
  int64_t again = *store->Enqueue(Comment("42", "posted again"), 3);
  ASSERT_TRUE(store->Claim(again)->has_value());
  ASSERT_TRUE(store->MarkCommentDone(again, 4, 556));
  EXPECT_EQ(*store->CommentId("acme/vision", 1, "42"), std::optional<int64_t>(556));
  EXPECT_EQ(*store->CommentId("acme/vision", 1, "43"), std::nullopt);
}

TEST(GithubOutboxStore, RestartReturnsInFlightWritesToPending) {
  TempDir dir;
  int64_t id;
  {
    auto store = OpenStore(dir);
    id = *store->Enqueue(Comment("1", "x"), 1);
    ASSERT_TRUE(store->Claim(id)->has_value());
    ASSERT_TRUE(store->SetCommentId("acme/vision", 1, "9", 555));
  }
  auto store = OpenStore(dir);
  auto heads = *store->Heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0].id, id);
  EXPECT_EQ(heads[0].attempts, 1);
  auto again = *store->Claim(id);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->attempts, 2);
  EXPECT_EQ(*store->CommentId("acme/vision", 1, "9"), std::optional<int64_t>(555));
  EXPECT_FALSE(store->CommentId("acme/vision", 2, "9")->has_value());
}

TEST(GithubOutboxStore, PrunesOldDoneWritesOnly) {
  TempDir dir;
  auto store = OpenStore(dir);
  int64_t done_old = *store->Enqueue(Comment("1", "a"), 0);
  int64_t done_new = *store->Enqueue(Comment("2", "b"), 0);
  int64_t failed = *store->Enqueue(Comment("3", "c"), 0);
  int64_t open = *store->Enqueue(Comment("4", "d"), 0);
  ASSERT_TRUE(store->MarkDone(done_old, 100));
  ASSERT_TRUE(store->MarkDone(done_new, 900));
  ASSERT_TRUE(store->MarkFailed(failed, "422"));
  EXPECT_EQ(*store->PruneDone(500), 1);
  std::vector<int64_t> left;
  std::vector<OutboxWrite> all = *store->All();
  for (const OutboxWrite& w : all) left.push_back(w.id);
  EXPECT_EQ(left, (std::vector<int64_t>{done_new, failed, open}));
}

TEST(GithubOutbox, SendsInOrderAtMostOneWritePerSecondPerInstallation) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxWorker worker(*store, env.client, env.clock, stats);
  ASSERT_TRUE(store->Enqueue(Comment("42", "queued (position 1)"), 0));
  ASSERT_TRUE(store->Enqueue(Labels(WriteKind::kAddLabels, "status:queued\ngpu:required"), 0));
  ASSERT_TRUE(store->Enqueue(Labels(WriteKind::kRemoveLabel, "status:queued"), 0));
  ASSERT_TRUE(store->Enqueue(Labels(WriteKind::kIssueReaction, "rocket"), 0));

  auto first = worker.RunOnce();
  ASSERT_TRUE(first && first->sent);
  auto too_soon = worker.RunOnce();
  ASSERT_TRUE(too_soon);
  EXPECT_FALSE(too_soon->sent);
  ASSERT_TRUE(too_soon->next_due.has_value());
  EXPECT_EQ(*too_soon->next_due - env.clock.Now(), seconds(1));

  // Another installation is not held back by the first one's pacing.
  ASSERT_TRUE(store->Enqueue(Comment("50", "other", 2, kInst + 1), 0));
  auto other = worker.RunOnce();
  ASSERT_TRUE(other && other->sent);

  auto before = env.clock.Now();
  EXPECT_EQ(Drain(worker, env), 3);
  EXPECT_GE(env.clock.Now() - before, seconds(3));
  EXPECT_EQ(stats.sent.load(), 5);
  EXPECT_EQ(*store->Depth(), 0);
  ASSERT_EQ(env.fake.Comments("acme/vision", 1).size(), 1u);
  EXPECT_EQ(env.fake.Comments("acme/vision", 1)[0].body,
            "<!-- labelrun:job=42 -->\nqueued (position 1)");
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 1), std::vector<std::string>{"gpu:required"});
}

TEST(GithubOutbox, LaterReportsEditTheSameComment) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxWorker worker(*store, env.client, env.clock, stats);
  ASSERT_TRUE(store->Enqueue(Comment("42", "queued"), 0));
  Drain(worker, env);
  ASSERT_TRUE(store->Enqueue(Comment("42", "running"), 0));
  ASSERT_TRUE(store->Enqueue(Comment("42", "done"), 0));  // coalesces with "running"
  EXPECT_EQ(Drain(worker, env), 1);
  auto comments = env.fake.Comments("acme/vision", 1);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_EQ(comments[0].body, "<!-- labelrun:job=42 -->\ndone");
}

// Options whose redactor masks "hunter2-secret" in comment bodies.
OutboxOptions MaskingHunter2() {
  OutboxOptions options;
  options.redact_comment = [](std::string_view body) {
    std::string out(body);
    for (size_t at; (at = out.find("hunter2-secret")) != std::string::npos;) {
      out.replace(at, 14, "***");
    }
    return out;
  };
  return options;
}

// Whatever part of labelrun writes a comment, its body passes the redactor on the way in:
// it is neither stored nor sent in clear. Label names are written as they are.
TEST(GithubOutbox, CommentBodiesPassTheRedactorAsTheyAreQueued) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxOptions options = MaskingHunter2();
  OutboxWorker worker(*store, env.client, env.clock, stats, options);
  ASSERT_TRUE(worker.Enqueue(Comment("explain", "HF_TOKEN=hunter2-secret in the rule")));
  ASSERT_TRUE(worker.Enqueue(Labels(WriteKind::kAddLabels, "hunter2-secret")));
  Result<std::vector<OutboxWrite>> stored = store->All();
  ASSERT_TRUE(stored) << stored.error().message();
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0].payload, "HF_TOKEN=*** in the rule");
  EXPECT_EQ((*stored)[1].payload, "hunter2-secret");
  Drain(worker, env);
  auto comments = env.fake.Comments("acme/vision", 1);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_EQ(comments[0].body, "<!-- labelrun:job=explain -->\nHF_TOKEN=*** in the rule");
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 1), std::vector<std::string>{"hunter2-secret"});
}

TEST(GithubOutbox, ABatchPassesTheRedactorAsEachWriteWould) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxOptions options = MaskingHunter2();
  OutboxWorker worker(*store, env.client, env.clock, stats, options);
  ASSERT_TRUE(
      worker.EnqueueAll({Comment("j1", "log: hunter2-secret"), Comment("j2", "fine", /*issue=*/2),
                         Labels(WriteKind::kAddLabels, "hunter2-secret")}));
  const std::vector<OutboxWrite> rows = *store->All();
  std::vector<std::string> bodies;
  for (const OutboxWrite& w : rows) bodies.push_back(w.payload);
  EXPECT_EQ(bodies, (std::vector<std::string>{"log: ***", "fine", "hunter2-secret"}));
  EXPECT_EQ(stats.depth.load(), 3);
}

OutboxWrite CheckRun(const std::string& job, const std::string& status,
                     const std::string& text = "", bool coalesce = true) {
  OutboxWrite w;
  w.installation_id = kInst;
  w.repository = "acme/vision";
  w.issue = 7;
  w.kind = WriteKind::kCheckRun;
  w.job_key = "check-run:" + job;
  nlohmann::json body = {{"name", "train"},
                         {"head_sha", "2222222222222222222222222222222222222222"},
                         {"external_id", job},
                         {"status", status},
                         {"output", {{"title", status}, {"summary", "s"}, {"text", text}}}};
  if (status == "completed") body["conclusion"] = "success";
  w.payload = body.dump();
  w.coalesce = coalesce;
  return w;
}

// A check run is created once and then updated, like a report comment; a new status is
// its own write, a body of the same status takes the place of one still pending, and its
// output passes the redactor and GitHub's 65,535-character limit.
TEST(GithubOutbox, ACheckRunIsCreatedOnceThenUpdatedRedactedAndWithinLimits) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxOptions options = MaskingHunter2();
  OutboxWorker worker(*store, env.client, env.clock, stats, options);
  ASSERT_TRUE(worker.Enqueue(CheckRun("j1", "queued", "", false)));
  ASSERT_TRUE(worker.Enqueue(CheckRun("j1", "in_progress", "a", false)));
  ASSERT_TRUE(worker.Enqueue(CheckRun("j1", "in_progress", "hunter2-secret b")));  // merges
  // A comment of the same job never merges with its check run.
  ASSERT_TRUE(worker.Enqueue(Comment("check-run:j1", "comment")));
  const std::string huge = std::string(70000, 'x') + "the end";
  ASSERT_TRUE(worker.Enqueue(CheckRun("j1", "completed", huge, false)));
  Result<std::vector<OutboxWrite>> stored = store->All();
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 4u);
  EXPECT_NE((*stored)[1].payload.find("*** b"), std::string::npos) << (*stored)[1].payload;
  EXPECT_EQ((*stored)[1].payload.find("hunter2"), std::string::npos);
  Drain(worker, env);
  const std::vector<labelrun::testing::FakeCheckRun> runs = env.fake.CheckRuns("acme/vision");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "completed");
  EXPECT_EQ(runs[0].conclusion, "success");
  EXPECT_EQ(runs[0].updates, 2);  // in_progress, completed: nothing refused
  EXPECT_EQ(runs[0].text.size(), 65535u);
  EXPECT_TRUE(runs[0].text.ends_with("the end"));
  EXPECT_EQ(stats.failed.load(), 0);
  std::vector<std::string> sent;
  for (const labelrun::testing::FakeRequest& r : env.fake.Requests()) {
    if (r.target.find("check-runs") != std::string::npos) sent.push_back(r.method);
  }
  EXPECT_EQ(sent, (std::vector<std::string>{"POST", "PATCH", "PATCH"}));
}

TEST(GithubOutbox, ACheckRunCreateThatMayHaveLandedIsFoundByItsJobId) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  int64_t id = *store->Enqueue(CheckRun("j2", "queued", "", false), 0);
  ASSERT_TRUE(store->Claim(id)->has_value());
  // The POST reached GitHub, and the answer was lost.
  ASSERT_TRUE(
      env.client.CreateCheckRun(kInst, Repo{"acme", "vision"}, CheckRun("j2", "queued").payload));
  ASSERT_TRUE(store->MarkRetry(id, 0, "connection reset"));
  OutboxStats stats;
  OutboxWorker worker(*store, env.client, env.clock, stats);
  Drain(worker, env);
  ASSERT_TRUE(worker.Enqueue(CheckRun("j2", "in_progress", "", false)));
  Drain(worker, env);
  const std::vector<labelrun::testing::FakeCheckRun> runs = env.fake.CheckRuns("acme/vision");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "in_progress");
}

TEST(GithubOutbox, OutageDelaysWritesThenAllArriveInOrder) {
  GithubEnv env(testing::DefaultFakeOptions(), {}, 1);  // one attempt per call
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxWorker worker(*store, env.client, env.clock, stats);
  ASSERT_TRUE(env.tokens.Token(kInst));
  env.fake.PushFault(FakeFault::kServerError, 8);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->Enqueue(Comment(std::to_string(i), "report " + std::to_string(i)), 0));
  }
  auto start = env.clock.Now();
  Drain(worker, env);
  EXPECT_GE(env.clock.Now() - start, seconds(8));
  EXPECT_EQ(stats.retried.load(), 8);
  EXPECT_EQ(stats.failed.load(), 0);
  auto comments = env.fake.Comments("acme/vision", 1);
  ASSERT_EQ(comments.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_NE(comments[i].body.find("report " + std::to_string(i)), std::string::npos);
  }
}

TEST(GithubOutbox, RateLimitHoldsOnlyThatInstallation) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxWorker worker(*store, env.client, env.clock, stats);
  ASSERT_TRUE(env.tokens.Token(kInst));
  env.fake.PushFault(FakeFault::kRateLimitReset, 1, 3600);
  ASSERT_TRUE(store->Enqueue(Comment("1", "held"), 0));
  ASSERT_TRUE(store->Enqueue(Comment("2", "free", 2, kInst + 1), 0));
  auto held = worker.RunOnce();
  ASSERT_TRUE(held && held->sent);
  EXPECT_EQ(stats.rate_limit_waits.load(), 1);
  auto free = worker.RunOnce();
  ASSERT_TRUE(free && free->sent);
  EXPECT_EQ(env.fake.Comments("acme/vision", 2).size(), 1u);
  EXPECT_TRUE(env.fake.Comments("acme/vision", 1).empty());
  auto idle = worker.RunOnce();
  ASSERT_TRUE(idle && !idle->sent);
  EXPECT_GE(*idle->next_due - env.clock.Now(), seconds(3590));
  Drain(worker, env);
  EXPECT_EQ(env.fake.Comments("acme/vision", 1).size(), 1u);
}

TEST(GithubOutbox, CreateThatMayHaveLandedBeforeACrashIsFoundByMarker) {
  GithubEnv env;
  TempDir dir;
  {
    auto store = OpenStore(dir);
    int64_t id = *store->Enqueue(Comment("42", "queued"), 0);
    ASSERT_TRUE(store->Claim(id)->has_value());
    // The POST reached GitHub, then labelrun died before marking the row done.
    env.fake.AddComment("acme/vision", 1, "<!-- labelrun:job=42 -->\nqueued");
  }
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxWorker worker(*store, env.client, env.clock, stats);
  ASSERT_TRUE(store->Enqueue(Comment("42", "running"), 0));  // coalesces into the row
  Drain(worker, env);
  auto comments = env.fake.Comments("acme/vision", 1);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_EQ(comments[0].body, "<!-- labelrun:job=42 -->\nrunning");

  // A claimed create that never reached GitHub is posted once.
  int64_t id = *store->Enqueue(Comment("43", "queued"), 0);
  ASSERT_TRUE(store->Claim(id)->has_value());
  ASSERT_TRUE(store->MarkRetry(id, 0, "connection reset"));
  Drain(worker, env);
  EXPECT_EQ(env.fake.Comments("acme/vision", 1).size(), 2u);
}

TEST(GithubOutbox, RestartWithAPendingOutboxSendsEverythingOnce) {
  GithubEnv env;
  TempDir dir;
  {
    auto store = OpenStore(dir);
    OutboxStats stats;
    OutboxWorker worker(*store, env.client, env.clock, stats);
    ASSERT_TRUE(worker.Enqueue(Comment("42", "queued")));
    ASSERT_TRUE(worker.Enqueue(Labels(WriteKind::kAddLabels, "status:queued")));
    ASSERT_TRUE(worker.Enqueue(Labels(WriteKind::kRemoveLabel, "status:queued")));
    ASSERT_TRUE(worker.Enqueue(Labels(WriteKind::kAddLabels, "status:in-progress")));
    auto first = worker.RunOnce();  // one write out, then labelrun stops
    ASSERT_TRUE(first && first->sent);
  }
  auto store = OpenStore(dir);
  EXPECT_EQ(*store->Depth(), 3);
  OutboxStats stats;
  OutboxWorker worker(*store, env.client, env.clock, stats);
  ASSERT_TRUE(worker.Enqueue(Comment("42", "running")));
  EXPECT_EQ(Drain(worker, env), 4);
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 1), std::vector<std::string>{"status:in-progress"});
  auto comments = env.fake.Comments("acme/vision", 1);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_EQ(comments[0].body, "<!-- labelrun:job=42 -->\nrunning");
}

TEST(GithubOutbox, RefusedWritesFailAndTheQueueMovesOn) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxWorker worker(*store, env.client, env.clock, stats);
  ASSERT_TRUE(store->Enqueue(Comment("1", std::string(70000, 'x')), 0));
  ASSERT_TRUE(store->Enqueue(Comment("2", "fits"), 0));
  Drain(worker, env);
  EXPECT_EQ(stats.failed.load(), 1);
  EXPECT_EQ(stats.sent.load(), 1);
  EXPECT_EQ(env.fake.Comments("acme/vision", 1).size(), 1u);
  EXPECT_EQ(*store->Depth(), 0);
}

// When several installations are due at once (the sender was busy), the one whose
// write has waited longest goes first, not the one with the oldest backlog.
TEST(GithubOutbox, TheInstallationThatWaitedLongestGoesFirst) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxWorker worker(*store, env.client, env.clock, stats);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(worker.Enqueue(Labels(WriteKind::kAddLabels, "a" + std::to_string(i))));
  }
  auto first = worker.RunOnce();  // a0; a1 may follow one second later
  ASSERT_TRUE(first && first->sent);
  env.clock.Advance(milliseconds(400));
  OutboxWrite b = Labels(WriteKind::kAddLabels, "b0", kInst + 1);
  b.issue = 2;
  ASSERT_TRUE(worker.Enqueue(b));  // due now, but nothing runs the worker for a while
  env.clock.Advance(milliseconds(600));
  auto second = worker.RunOnce();  // a1 has just become due; b0 has waited 600 ms
  ASSERT_TRUE(second && second->sent);
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 2), std::vector<std::string>{"b0"});
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 1), std::vector<std::string>{"a0"});
  Drain(worker, env);
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 1), (std::vector<std::string>{"a0", "a1", "a2"}));
}

// One installation's slow write (a hanging answer, a long inline retry) holds only
// that installation: another's first write goes out while it is in flight.
TEST(GithubOutbox, ASlowInstallationDoesNotHoldTheOthers) {
  GithubEnv env;
  HoldingTransport holding(env.transport, "/issues/1/");
  Client client(env.MakeOptions(4), holding, env.tokens, env.clock);
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxWorker worker(*store, client, env.clock, stats);
  worker.Start();
  ASSERT_TRUE(worker.Enqueue(Labels(WriteKind::kAddLabels, "a0")));  // issue 1: held
  ASSERT_TRUE(holding.WaitHolding(seconds(10)));
  OutboxWrite b = Labels(WriteKind::kAddLabels, "b0", kInst + 1);
  b.issue = 2;
  ASSERT_TRUE(worker.Enqueue(b));
  auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (env.fake.IssueLabels("acme/vision", 2).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  const std::vector<std::string> b_labels = env.fake.IssueLabels("acme/vision", 2);
  const std::vector<std::string> a_labels = env.fake.IssueLabels("acme/vision", 1);
  holding.Release();
  EXPECT_EQ(b_labels, std::vector<std::string>{"b0"});
  EXPECT_TRUE(a_labels.empty());
  deadline = std::chrono::steady_clock::now() + seconds(10);
  while (*store->Depth() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  worker.Stop();
  EXPECT_EQ(env.fake.IssueLabels("acme/vision", 1), std::vector<std::string>{"a0"});
}

// Several installations at once on the real clock: each keeps its own order and
// its own pacing (measured where GitHub receives the writes), all in parallel.
TEST(GithubOutbox, InstallationsProceedInParallelEachAtItsOwnPace) {
  const Clock& clock = SystemClock::Instance();
  testing::FakeGithub fake(testing::DefaultFakeOptions(), clock);
  CurlTransport transport({});
  AppTokenSource tokens(
      AppAuth{"12345", *RsaPrivateKey::FromPem(labelrun::testing::AppTestKey().pkcs8_pem),
              fake.url(), UserAgent()},
      transport, clock);
  ClientOptions client_options;
  client_options.api_url = fake.url();
  Client client(client_options, transport, tokens, clock);
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxOptions options;
  options.min_interval = milliseconds(300);
  OutboxWorker worker(*store, client, clock, stats, options);
  constexpr int kInstallations = 4, kWrites = 4;
  for (int i = 0; i < kInstallations; ++i) ASSERT_TRUE(tokens.Token(100 + i));
  const int64_t start_ms = clock.NowUnixMillis();
  worker.Start();
  // Installation by installation: the last one's first write is queued behind
  // every other installation's whole backlog.
  for (int i = 0; i < kInstallations; ++i) {
    for (int k = 0; k < kWrites; ++k) {
      OutboxWrite w = Labels(WriteKind::kAddLabels, "w" + std::to_string(k), 100 + i);
      w.issue = 10 + i;
      ASSERT_TRUE(worker.Enqueue(w));
    }
  }
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (*store->Depth() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  worker.Stop();
  std::map<std::string, std::vector<int64_t>> arrivals;  // target -> arrival times
  for (const testing::FakeRequest& r : fake.Requests()) {
    if (r.method == "POST" && r.target.find("/labels") != std::string::npos) {
      arrivals[r.target].push_back(r.at_unix_ms);
    }
  }
  ASSERT_EQ(arrivals.size(), static_cast<size_t>(kInstallations));
  for (int i = 0; i < kInstallations; ++i) {
    const std::string target = "/repos/acme/vision/issues/" + std::to_string(10 + i) + "/labels";
    EXPECT_EQ(fake.IssueLabels("acme/vision", 10 + i),
              (std::vector<std::string>{"w0", "w1", "w2", "w3"}));
    const std::vector<int64_t>& at = arrivals[target];
    ASSERT_EQ(at.size(), static_cast<size_t>(kWrites)) << target;
    // The first write of every installation goes out at once, whatever is queued
    // before it; the later ones each wait their installation's interval, and not
    // another installation's turn. (Generous bounds: the machine may be loaded.)
    EXPECT_LT(at[0] - start_ms, 1000) << target;
    for (size_t k = 1; k < at.size(); ++k) {
      EXPECT_GE(at[k] - at[k - 1], 300) << target << " write " << k;
      EXPECT_LT(at[k] - at[k - 1], 1000) << target << " write " << k;
    }
  }
}

TEST(GithubOutbox, WorkerThreadDeliversOnTheRealClock) {
  const Clock& clock = SystemClock::Instance();
  testing::FakeGithub fake(testing::DefaultFakeOptions(), clock);
  CurlTransport transport({});
  AppTokenSource tokens(
      AppAuth{"12345", *RsaPrivateKey::FromPem(labelrun::testing::AppTestKey().pkcs8_pem),
              fake.url(), UserAgent()},
      transport, clock);
  ClientOptions options;
  options.api_url = fake.url();
  Client client(options, transport, tokens, clock);
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxWorker worker(*store, client, clock, stats, OutboxOptions{milliseconds(20), {}});
  worker.Start();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(worker.Enqueue(Labels(WriteKind::kAddLabels, "l" + std::to_string(i))));
  }
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (*store->Depth() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  worker.Stop();
  EXPECT_EQ(fake.IssueLabels("acme/vision", 1), (std::vector<std::string>{"l0", "l1", "l2"}));
}

}  // namespace
}  // namespace labelrun::github
