#include "labelrun/labels/sync.hpp"

#include <gtest/gtest.h>

namespace labelrun::labels {
namespace {

LabelInfo Info(std::string name, std::string colour, std::string meaning = "m") {
  LabelInfo info;
  info.name = std::move(name);
  info.colour = std::move(colour);
  info.meaning = std::move(meaning);
  return info;
}

TEST(SyncTest, PlansEveryKindOfChange) {
  Dictionary dictionary({Info("task:training", "1d76db"), Info("gpu:required", "b60205"),
                         Info("env:cpu", "c2e0c6"), Info("status:done", "0e8a16")});
  std::vector<RepoLabel> repo = {
      {"task:training", "1D76DB", "m"},  // same (colour case ignored)
      {"gpu-required", "ffffff", ""},    // misspelt twin -> rename
      {"env:cpu", "000000", "m"},        // colour differs -> update
      {"bug", "d73a4a", "Something isn't working"},
      {"task:retired", "000000", ""},  // a dictionary category, no longer defined
  };
  std::vector<SyncAction> plan = PlanSync(dictionary, repo, /*prune=*/false);
  ASSERT_EQ(plan.size(), 5u);
  EXPECT_EQ(plan[0].kind, SyncActionKind::kRename);
  EXPECT_EQ(plan[0].name, "gpu-required");
  EXPECT_EQ(plan[0].new_name, "gpu:required");
  EXPECT_EQ(plan[1].kind, SyncActionKind::kUpdate);
  EXPECT_EQ(plan[1].name, "env:cpu");
  EXPECT_EQ(plan[2].kind, SyncActionKind::kCreate);
  EXPECT_EQ(plan[2].name, "status:done");
  EXPECT_EQ(plan[3].kind, SyncActionKind::kKeep);
  EXPECT_EQ(plan[3].name, "bug");
  EXPECT_EQ(plan[4].kind, SyncActionKind::kKeep);
  std::vector<SyncAction> pruned = PlanSync(dictionary, repo, /*prune=*/true);
  EXPECT_EQ(pruned[3].kind, SyncActionKind::kKeep);  // `bug` is not ours to delete
  EXPECT_EQ(pruned[4].kind, SyncActionKind::kDelete);
  EXPECT_EQ(pruned[4].name, "task:retired");
}

TEST(SyncTest, InSyncMeansEmptyPlan) {
  Dictionary dictionary({Info("a:b", "000000")});
  std::vector<RepoLabel> repo = {{"a:b", "000000", "m"}};
  EXPECT_TRUE(PlanSync(dictionary, repo, true).empty());
}

TEST(SyncTest, DescriptionIsCutForGitHub) {
  std::string meaning(60, 'a');
  meaning += " then a long tail of words that goes past the limit of one hundred bytes ok";
  std::string description = LabelDescription(Info("a:b", "000000", meaning));
  EXPECT_LE(description.size(), kMaxDescriptionLength);
  EXPECT_TRUE(description.ends_with("...")) << description;
  std::string utf8;
  for (int i = 0; i < 60; ++i) utf8 += "\xC3\xA9";  // é, 2 bytes each, no spaces
  std::string cut = LabelDescription(Info("a:b", "000000", utf8));
  EXPECT_LE(cut.size(), kMaxDescriptionLength);
  EXPECT_EQ((cut.size() - 3) % 2, 0u) << "split a UTF-8 character";
}

TEST(SyncTest, NearMissTwinIsRenamedNeverDeleted) {
  Dictionary dictionary({Info("task:training", "1d76db"), Info("gpu:required", "b60205")});
  std::vector<RepoLabel> repo = {
      {"task:trainig", "1d76db", "m"},  // one letter short: a twin, not a stray `task:` label
      {"gpu:requried", "b60205", "m"},  // two letters swapped
  };
  for (bool prune : {false, true}) {
    std::vector<SyncAction> plan = PlanSync(dictionary, repo, prune);
    ASSERT_EQ(plan.size(), 2u) << "prune=" << prune;
    EXPECT_EQ(plan[0].kind, SyncActionKind::kRename);
    EXPECT_EQ(plan[0].name, "task:trainig");
    EXPECT_EQ(plan[0].new_name, "task:training");
    EXPECT_EQ(plan[1].kind, SyncActionKind::kRename);
    EXPECT_EQ(plan[1].name, "gpu:requried");
    EXPECT_EQ(plan[1].new_name, "gpu:required");
  }
}

TEST(SyncTest, TwinBesideItsRealLabelIsKeptAndReportedEvenWithPrune) {
  Dictionary dictionary({Info("task:training", "1d76db"), Info("gpu:required", "b60205")});
  std::vector<RepoLabel> repo = {
      {"task:training", "1d76db", "m"}, {"task:trainig", "1d76db", "m"},
      {"gpu:required", "b60205", "m"},  {"gpu-required", "b60205", "m"},
      {"task:retired", "000000", ""},
  };
  std::vector<SyncAction> plan = PlanSync(dictionary, repo, /*prune=*/true);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].kind, SyncActionKind::kKeep);
  EXPECT_EQ(plan[0].name, "task:trainig");
  EXPECT_NE(plan[0].reason.find("misspelling of `task:training`"), std::string::npos)
      << plan[0].reason;
  EXPECT_EQ(plan[1].kind, SyncActionKind::kKeep);
  EXPECT_EQ(plan[1].name, "gpu-required");
  EXPECT_EQ(plan[2].kind, SyncActionKind::kDelete);  // not a twin of anything: pruned
  EXPECT_EQ(plan[2].name, "task:retired");
}

TEST(SyncTest, OneTwinPerDictionaryLabel) {
  Dictionary dictionary({Info("task:training", "1d76db")});
  std::vector<RepoLabel> repo = {{"task:trainig", "1d76db", "m"}, {"task:trainin", "1d76db", "m"}};
  std::vector<SyncAction> plan = PlanSync(dictionary, repo, /*prune=*/true);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].kind, SyncActionKind::kRename);
  EXPECT_EQ(plan[0].name, "task:trainig");
  EXPECT_EQ(plan[1].kind, SyncActionKind::kKeep);  // its spelling is taken by the first
  EXPECT_EQ(plan[1].name, "task:trainin");
}

}  // namespace
}  // namespace labelrun::labels
