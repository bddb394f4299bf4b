// The durable outbox and its paced worker, against the loopback GitHub.

#include <gtest/gtest.h>

#include "github/github_env.hpp"
#include "labelrun/github/outbox_worker.hpp"
#include "labelrun/store/outbox.hpp"
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

// Whatever part of labelrun writes a comment, its body passes the redactor on the way in:
// it is neither stored nor sent in clear. Label names are written as they are.
TEST(GithubOutbox, CommentBodiesPassTheRedactorAsTheyAreQueued) {
  GithubEnv env;
  TempDir dir;
  auto store = OpenStore(dir);
  OutboxStats stats;
  OutboxOptions options;
  options.redact_comment = [](std::string_view body) {
    std::string out(body);
    for (size_t at; (at = out.find("hunter2-secret")) != std::string::npos;) {
      out.replace(at, 14, "***");
    }
    return out;
  };
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
