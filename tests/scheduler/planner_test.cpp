#include "labelrun/scheduler/planner.hpp"

#include <gtest/gtest.h>

namespace labelrun::scheduler {
namespace {

using rules::JobPriority;

Demand Job(std::string id, int64_t seq, int gpus, JobPriority p = JobPriority::kNormal) {
  Demand d;
  d.job_id = std::move(id);
  d.seq = seq;
  d.gpus = gpus;
  d.priority = p;
  d.repository = "o/r";
  d.rule = "train";
  return d;
}

std::vector<HostSlots> TwoHosts() {
  return {{"gpu-box", {{"gpu-type", "a100"}}, {"GPU-a", "GPU-b"}, 0}, {"cpu-box", {}, {}, 0}};
}

TEST(PlannerTest, TwoGpuJobsGetDifferentGpusAndAThirdWaits) {
  Planner p(TwoHosts(), 0);
  p.Enqueue(Job("a", 1, 1));
  p.Enqueue(Job("b", 2, 1));
  p.Enqueue(Job("c", 3, 1));
  std::vector<Assignment> placed = p.Schedule();
  ASSERT_EQ(placed.size(), 2u);
  EXPECT_EQ(placed[0].host, "gpu-box");
  EXPECT_EQ(placed[0].gpus, std::vector<std::string>{"GPU-a"});
  EXPECT_EQ(placed[1].gpus, std::vector<std::string>{"GPU-b"});
  EXPECT_EQ(p.QueuePosition("c"), 1);
  EXPECT_TRUE(p.Schedule().empty());
  p.Release("a");
  placed = p.Schedule();
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].job_id, "c");
  EXPECT_EQ(placed[0].gpus, std::vector<std::string>{"GPU-a"});
}

TEST(PlannerTest, AClusterHostTakesAnyGpuCountAndHandsOutNoGpus) {
  std::vector<HostSlots> hosts = TwoHosts();
  HostSlots cluster{"slurm", {}, {}, 0};
  cluster.cluster = true;
  hosts.push_back(cluster);
  Planner p(hosts, 0);
  EXPECT_EQ(p.NeverFits(Job("big", 1, 16)), std::nullopt);
  p.Enqueue(Job("a", 1, 2));  // fits the GPU host: it goes there first
  p.Enqueue(Job("big", 2, 16));
  p.Enqueue(Job("b", 3, 1));
  std::vector<Assignment> placed = p.Schedule();
  ASSERT_EQ(placed.size(), 3u);
  EXPECT_EQ(placed[0].host, "gpu-box");
  EXPECT_EQ(placed[1].host, "slurm");
  EXPECT_TRUE(placed[1].gpus.empty());
  EXPECT_EQ(placed[2].host, "slurm");
  EXPECT_EQ(p.GpusInUse()["slurm"], 0);
}

TEST(PlannerTest, CpuJobsGoToCpuHostsFirstAndHoldNoGpus) {
  Planner p(TwoHosts(), 0);
  p.Enqueue(Job("cpu", 1, 0));
  std::vector<Assignment> placed = p.Schedule();
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].host, "cpu-box");
  EXPECT_TRUE(placed[0].gpus.empty());
  EXPECT_EQ(p.GpusInUse()["gpu-box"], 0);
}

TEST(PlannerTest, CpuJobsUseAGpuHostWhenThereIsNoCpuHost) {
  Planner p({{"gpu-box", {}, {"0"}, 0}}, 0);
  p.Enqueue(Job("cpu", 1, 0));
  p.Enqueue(Job("gpu", 2, 1));
  std::vector<Assignment> placed = p.Schedule();
  ASSERT_EQ(placed.size(), 2u);
  EXPECT_TRUE(placed[0].gpus.empty());
  EXPECT_EQ(placed[1].gpus, std::vector<std::string>{"0"});
}

TEST(PlannerTest, PriorityOrderThenFifo) {
  Planner p({{"one", {}, {"0"}, 0}}, 0);
  p.Enqueue(Job("low", 1, 1, JobPriority::kLow));
  p.Enqueue(Job("normal1", 2, 1));
  p.Enqueue(Job("high", 3, 1, JobPriority::kHigh));
  p.Enqueue(Job("normal2", 4, 1));
  EXPECT_EQ(p.Queue(), (std::vector<std::string>{"high", "normal1", "normal2", "low"}));
  EXPECT_EQ(p.QueuePosition("low"), 4);
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    std::vector<Assignment> placed = p.Schedule();
    ASSERT_EQ(placed.size(), 1u);
    order.push_back(placed[0].job_id);
    p.Release(placed[0].job_id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"high", "normal1", "normal2", "low"}));
}

TEST(PlannerTest, AWaitingBigGpuJobIsNotOvertakenBySmallOnes) {
  Planner p({{"box", {}, {"0", "1"}, 0}, {"cpu", {}, {}, 0}}, 0);
  p.Enqueue(Job("small", 1, 1));
  ASSERT_EQ(p.Schedule().size(), 1u);
  p.Enqueue(Job("big", 2, 2));
  p.Enqueue(Job("small2", 3, 1));
  p.Enqueue(Job("cpu", 4, 0));
  std::vector<Assignment> placed = p.Schedule();
  ASSERT_EQ(placed.size(), 1u);  // only the CPU job; small2 waits behind big
  EXPECT_EQ(placed[0].job_id, "cpu");
  p.Release("small");
  placed = p.Schedule();
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].job_id, "big");
  EXPECT_EQ(placed[0].gpus, (std::vector<std::string>{"0", "1"}));
}

TEST(PlannerTest, NeverFitsSaysWhy) {
  Planner p(TwoHosts(), 0);
  std::optional<std::string> why = p.NeverFits(Job("huge", 1, 8));
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, "it needs 8 GPUs and the largest matching host has 2");
  Demand picky = Job("picky", 2, 1);
  picky.host_selector = {{"gpu-type", "h100"}};
  why = p.NeverFits(picky);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("gpu-type=h100"), std::string::npos);
  picky.host_selector = {{"gpu-type", "a100"}};
  EXPECT_FALSE(p.NeverFits(picky).has_value());
}

TEST(PlannerTest, HostSelectorPicksTheHost) {
  Planner p({{"a", {{"zone", "x"}}, {"0"}, 0}, {"b", {{"zone", "y"}}, {"0"}, 0}}, 0);
  Demand d = Job("j", 1, 1);
  d.host_selector = {{"zone", "y"}};
  p.Enqueue(d);
  std::vector<Assignment> placed = p.Schedule();
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].host, "b");
}

TEST(PlannerTest, CapsPerRuleAndPerRepositoryHoldOnlyTheirOwnJobs) {
  Planner p({{"cpu", {}, {}, 0}}, 2);
  Demand r1 = Job("r1", 1, 0);
  r1.rule_max_concurrent = 1;
  Demand r2 = Job("r2", 2, 0);
  r2.rule_max_concurrent = 1;
  Demand other = Job("other", 3, 0);
  other.rule = "bench";
  Demand third = Job("third", 4, 0);
  third.rule = "bench";
  for (const Demand& d : {r1, r2, other, third}) p.Enqueue(d);
  std::vector<Assignment> placed = p.Schedule();
  ASSERT_EQ(placed.size(), 2u);  // r1 and other; r2 capped by its rule, third by the repo cap
  EXPECT_EQ(placed[0].job_id, "r1");
  EXPECT_EQ(placed[1].job_id, "other");
  EXPECT_EQ(p.QueuePosition("r2"), 1);
  p.Release("r1");
  placed = p.Schedule();
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].job_id, "r2");
}

TEST(PlannerTest, RestoreKeepsGpusOfRecoveredJobsAllocated) {
  Planner p(TwoHosts(), 0);
  Demand running = Job("running", 1, 1);
  p.Restore(running, {"running", "gpu-box", {"GPU-b"}});
  p.Enqueue(Job("new", 2, 1));
  std::vector<Assignment> placed = p.Schedule();
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].gpus, std::vector<std::string>{"GPU-a"});
  EXPECT_EQ(p.GpusInUse()["gpu-box"], 2);
}

TEST(PlannerTest, DequeueRemovesAQueuedJob) {
  Planner p(TwoHosts(), 0);
  p.Enqueue(Job("a", 1, 4));
  EXPECT_TRUE(p.Dequeue("a"));
  EXPECT_FALSE(p.Dequeue("a"));
  EXPECT_EQ(p.QueueSize(), 0u);
}

}  // namespace
}  // namespace labelrun::scheduler
