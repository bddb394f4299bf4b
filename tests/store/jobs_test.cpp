#include "labelrun/store/jobs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "support/temp_dir.hpp"

namespace labelrun::store {
namespace {

JobRecord NewJob(std::string id, std::string rule = "train", int64_t issue = 7) {
  JobRecord job;
  job.id = std::move(id);
  job.repository = "acme/models";
  job.issue = issue;
  job.installation = 42;
  job.sender = "alice";
  job.commit = "abc123";
  job.spec.rule = std::move(rule);
  job.spec.image = "pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime";
  job.spec.command = {"python", "train.py"};
  job.spec.env = {{"EPOCHS", "3"}};
  job.spec.gpus = 2;
  job.spec.memory_bytes = 16ULL << 30;
  job.spec.host_selector = {{"gpu-type", "a100"}};
  job.spec.priority = rules::JobPriority::kHigh;
  job.spec.cap_add = {"SYS_PTRACE"};
  return job;
}

TEST(JobStoreTest, InsertGetRoundTripsEveryField) {
  auto store = JobStore::Open(":memory:");
  ASSERT_TRUE(store) << store.error().message();
  JobRecord job = NewJob("j1");
  ASSERT_TRUE((*store)->Insert(job, 1000));
  EXPECT_GT(job.seq, 0);
  job.state = JobState::kRunning;
  job.host = "gpu-1";
  job.gpus = {"GPU-a", "GPU-b"};
  job.container_id = "c0ffee";
  job.image_digest = "pytorch/pytorch@sha256:1234";
  job.started_ms = 2000;
  ASSERT_TRUE((*store)->Update(job, 2000, "started"));
  auto got = (*store)->Get("j1");
  ASSERT_TRUE(got && *got);
  const JobRecord& g = **got;
  EXPECT_EQ(g.state, JobState::kRunning);
  EXPECT_EQ(g.gpus, (std::vector<std::string>{"GPU-a", "GPU-b"}));
  EXPECT_EQ(g.spec.command, (std::vector<std::string>{"python", "train.py"}));
  EXPECT_EQ(g.spec.env, job.spec.env);
  EXPECT_EQ(g.spec.host_selector, job.spec.host_selector);
  EXPECT_EQ(g.spec.priority, rules::JobPriority::kHigh);
  EXPECT_EQ(g.spec.memory_bytes, 16ULL << 30);
  EXPECT_EQ(g.spec.cap_add, job.spec.cap_add);
  EXPECT_EQ(g.started_ms, 2000);
  EXPECT_FALSE(g.exit_code.has_value());
  EXPECT_EQ(g.created_ms, 1000);
  auto events = (*store)->Events("j1");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].state, JobState::kRunning);
  EXPECT_EQ((*events)[1].detail, "started");
}

TEST(JobStoreTest, SpecKeepsItsMetricListAndReadsTheOlderSingleName) {
  JobRecord job = NewJob("j1");
  job.spec.metrics = {"loss", "val_loss"};
  auto two = SpecFromJson(SpecToJson(job.spec));
  ASSERT_TRUE(two) << two.error().message();
  EXPECT_EQ(two->metrics, (std::vector<std::string>{"loss", "val_loss"}));
  job.spec.metrics = {"val_loss"};
  auto one = SpecFromJson(SpecToJson(job.spec));
  ASSERT_TRUE(one) << one.error().message();
  EXPECT_EQ(one->metrics, (std::vector<std::string>{"val_loss"}));
  // Specs stored before metric lists name one metric as a string, or none (loss).
  auto older = SpecFromJson(R"({"rule": "train", "metric": "eval_loss"})");
  ASSERT_TRUE(older) << older.error().message();
  EXPECT_EQ(older->metrics, (std::vector<std::string>{"eval_loss"}));
  auto oldest = SpecFromJson(R"({"rule": "train"})");
  ASSERT_TRUE(oldest) << oldest.error().message();
  EXPECT_EQ(oldest->metrics, (std::vector<std::string>{"loss"}));
  EXPECT_FALSE(SpecFromJson(R"({"rule": "train", "metric": [1, 2]})"));
  EXPECT_FALSE(SpecFromJson(R"({"rule": "train", "metric": {"a": 1}})"));
}

TEST(JobStoreTest, OneOpenJobPerIssueAndRuleUntilItEnds) {
  auto store = JobStore::Open(":memory:");
  ASSERT_TRUE(store);
  JobRecord first = NewJob("j1");
  ASSERT_TRUE((*store)->Insert(first, 1));
  JobRecord racing = NewJob("j2");
  Status dup = (*store)->Insert(racing, 2);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  JobRecord other_rule = NewJob("j3", "bench");
  EXPECT_TRUE((*store)->Insert(other_rule, 3));
  first.state = JobState::kSucceeded;
  first.exit_code = 0;
  ASSERT_TRUE((*store)->Update(first, 4, "exited with code 0"));
  JobRecord again = NewJob("j4");
  EXPECT_TRUE((*store)->Insert(again, 5));
}

TEST(JobStoreTest, ListFiltersAndOpenReturnsUnfinishedOldestFirst) {
  auto store = JobStore::Open(":memory:");
  ASSERT_TRUE(store);
  for (int i = 0; i < 4; ++i) {
    JobRecord job = NewJob("j" + std::to_string(i), "train", 10 + i);
    ASSERT_TRUE((*store)->Insert(job, i));
    if (i % 2) {
      job.state = JobState::kFailed;
      ASSERT_TRUE((*store)->Update(job, i, "exited with code 1"));
    }
  }
  auto open = (*store)->Open();
  ASSERT_TRUE(open);
  ASSERT_EQ(open->size(), 2u);
  EXPECT_EQ((*open)[0].id, "j0");
  EXPECT_EQ((*open)[1].id, "j2");
  JobFilter failed;
  failed.state = JobState::kFailed;
  auto list = (*store)->List(failed);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "j3");  // newest first
  JobFilter other_repo;
  other_repo.repository = "someone/else";
  EXPECT_TRUE((*store)->List(other_repo)->empty());
}

TEST(JobStoreTest, UpdateOfAnUnknownJobIsNotFound) {
  auto store = JobStore::Open(":memory:");
  ASSERT_TRUE(store);
  JobRecord ghost = NewJob("nope");
  Status s = (*store)->Update(ghost, 1, "x");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);
}

TEST(JobStoreTest, ADeliveryStartsARuleOnlyOnceWhateverItsJobBecame) {
  auto store = JobStore::Open(":memory:");
  ASSERT_TRUE(store);
  JobRecord first = NewJob("j1");
  first.delivery = "d-1";
  ASSERT_TRUE((*store)->Insert(first, 1));
  // The job ended, so the issue's key is free again; the delivery's is not.
  first.state = JobState::kFailed;
  ASSERT_TRUE((*store)->Update(first, 2, "exited with code 1"));
  JobRecord replay = NewJob("j2");
  replay.delivery = "d-1";
  Status again = (*store)->Insert(replay, 3);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message().find("delivery d-1 already started job j1"), std::string::npos)
      << again.error().message();
  EXPECT_FALSE((*store)->Get("j2").value());
  // Another rule of the same delivery, and the same rule from another delivery
  // (a `/labelrun retry` comment is one), are jobs of their own.
  JobRecord other_rule = NewJob("j3", "bench");
  other_rule.delivery = "d-1";
  EXPECT_TRUE((*store)->Insert(other_rule, 4));
  JobRecord retry = NewJob("j4");
  retry.delivery = "d-2";
  EXPECT_TRUE((*store)->Insert(retry, 5));
  retry.state = JobState::kCancelled;
  ASSERT_TRUE((*store)->Update(retry, 6, "cancelled"));
  // Jobs without a delivery (retries from the API, tools) are not keyed by one.
  for (const char* id : {"j5", "j6"}) {
    JobRecord tool = NewJob(id);
    ASSERT_TRUE((*store)->Insert(tool, 7)) << id;
    tool.state = JobState::kSucceeded;
    ASSERT_TRUE((*store)->Update(tool, 8, "exited with code 0"));
  }
}

int64_t QueryInt(Database& db, const std::string& sql) {
  Result<Statement> st = db.Prepare(sql);
  if (!st) {
    ADD_FAILURE() << sql << ": " << st.error().message();
    return -1;
  }
  Result<bool> row = st->Step();
  if (!row || !*row) {
    ADD_FAILURE() << sql << ": no row";
    return -1;
  }
  return st->ColumnInt(0);
}

TEST(JobStoreTest, TheJobCommitsWithItsDeliveryMarkedDone) {
  labelrun::testing::TempDir dir;
  const std::filesystem::path path = dir / "labelrun.db";
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store) << store.error().message();
  Result<Database> db = Database::Open(path);
  ASSERT_TRUE(db);
  ASSERT_TRUE(
      db->Exec("INSERT INTO inbox (guid, event, received_at, body_bytes, digest) VALUES "
               "('d-1', 'issues', 1, 10, '{}'), ('d-2', 'issues', 1, 10, '{}')"));
  JobRecord job = NewJob("j1");
  job.delivery = "d-1";
  ASSERT_TRUE((*store)->Insert(job, 1234));
  EXPECT_EQ(QueryInt(*db,
                     "SELECT count(*) FROM inbox WHERE guid = 'd-1' AND state = 'done' "
                     "AND processed_at = 1234"),
            1);
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM inbox WHERE guid = 'd-2' AND state = 'pending'"),
            1);
  // A refused insert leaves the delivery as it was.
  JobRecord racing = NewJob("j2");
  racing.delivery = "d-2";
  ASSERT_FALSE((*store)->Insert(racing, 1300));
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM inbox WHERE guid = 'd-2' AND state = 'pending'"),
            1);
}

TEST(JobStoreTest, MigrationKeysTheFirstJobOfEachDeliveryOfAnOlderDatabase) {
  labelrun::testing::TempDir dir;
  const std::filesystem::path path = dir / "labelrun.db";
  {
    // A database of schema 3, with a delivery that started its rule twice.
    Result<Database> db = Database::Open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(Migrate(*db));
    ASSERT_TRUE(
        db->Exec("DROP TABLE installation_repos; DROP TABLE installations_gone; "
                 "DROP INDEX jobs_once; ALTER TABLE jobs DROP COLUMN once; "
                 "ALTER TABLE jobs DROP COLUMN pull_request; "
                 "ALTER TABLE jobs DROP COLUMN from_fork; "
                 "ALTER TABLE jobs DROP COLUMN trigger_label; PRAGMA user_version = 3"));
    ASSERT_TRUE(
        db->Exec("INSERT INTO jobs (id, delivery, repository, issue, rule, priority, spec, state, "
                 "created_at) VALUES "
                 "('j1', 'd-1', 'acme/models', 7, 'train', 0, '{}', 'failed', 1), "
                 "('j2', 'd-1', 'acme/models', 7, 'train', 0, '{}', 'succeeded', 2), "
                 "('j3', '', 'acme/models', 7, 'train', 0, '{}', 'succeeded', 3), "
                 "('j4', '', 'acme/models', 7, 'train', 0, '{}', 'succeeded', 4)"));
  }
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store) << store.error().message();
  Result<Database> db = Database::Open(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(QueryInt(*db, "PRAGMA user_version"), 7);
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM jobs"), 4);
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM jobs WHERE once = 1 AND id = 'j1'"), 1);
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM jobs WHERE once = 1"), 1);
  JobRecord replay = NewJob("j5");
  replay.delivery = "d-1";
  Status s = (*store)->Insert(replay, 5);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kAlreadyExists);
  JobRecord fresh = NewJob("j6");
  fresh.delivery = "d-2";
  EXPECT_TRUE((*store)->Insert(fresh, 6));
}

TEST(JobStoreTest, PagesWalkEveryJobOnceNewestFirst) {
  auto store = JobStore::Open(":memory:");
  ASSERT_TRUE(store);
  for (int i = 0; i < 250; ++i) {
    JobRecord job = NewJob("j" + std::to_string(i), "train", 1000 + i);
    ASSERT_TRUE((*store)->Insert(job, i));
    if (i % 5 == 0) {
      job.state = JobState::kFailed;
      ASSERT_TRUE((*store)->Update(job, i, "exited with code 1"));
    }
  }
  for (std::optional<JobState> state :
       {std::optional<JobState>(), std::optional(JobState::kFailed)}) {
    JobFilter filter;
    filter.state = state;
    filter.limit = 40;
    std::vector<std::string> seen;
    int64_t last_seq = 0;
    for (int page = 0; page < 20; ++page) {
      auto list = (*store)->List(filter);
      ASSERT_TRUE(list);
      for (const JobRecord& job : *list) {
        if (last_seq) {
          EXPECT_LT(job.seq, last_seq) << "newest first, no repeats";
        }
        last_seq = job.seq;
        seen.push_back(job.id);
      }
      if (list->size() < 40) break;
      filter.before_seq = list->back().seq;
    }
    const size_t want = state ? 50 : 250;
    ASSERT_EQ(seen.size(), want);
    EXPECT_EQ(seen.front(), state ? "j245" : "j249");
    EXPECT_EQ(seen.back(), "j0");
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), want);
  }
}

// The query plans of the lists and of recovery: index searches, not scans of every
// job that ever ran (10,000 finished jobs made a state list or a restart scan them all).
TEST(JobStoreTest, ListsByStateAndRecoveryUseAnIndex) {
  labelrun::testing::TempDir dir;
  auto store = JobStore::Open(dir / "labelrun.db");
  ASSERT_TRUE(store);
  Result<Database> db = Database::Open(dir / "labelrun.db");
  ASSERT_TRUE(db);
  auto plan = [&](const std::string& sql) {
    Result<Statement> st = db->Prepare("EXPLAIN QUERY PLAN " + sql);
    EXPECT_TRUE(st) << st.error().message();
    std::string out;
    while (st) {
      Result<bool> row = st->Step();
      if (!row || !*row) break;
      out += st->ColumnText(3) + "; ";
    }
    return out;
  };
  EXPECT_THAT(plan("SELECT id FROM jobs WHERE 1 AND state = 'running' ORDER BY seq DESC LIMIT 101"),
              ::testing::HasSubstr("USING INDEX jobs_state"));
  EXPECT_THAT(plan("SELECT id FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled', "
                   "'timed_out') ORDER BY seq"),
              ::testing::HasSubstr("USING INDEX jobs_open_seq"));
  EXPECT_THAT(plan("SELECT id FROM jobs WHERE 1 AND repository = 'a/b' AND seq < 9 ORDER BY seq "
                   "DESC LIMIT 101"),
              ::testing::HasSubstr("USING INDEX jobs_repo"));
}

}  // namespace
}  // namespace labelrun::store
