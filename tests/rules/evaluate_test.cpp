#include <gtest/gtest.h>

#include <algorithm>

#include "labelrun/rules/decision.hpp"
#include "labelrun/rules/explain.hpp"
#include "rules/test_util.hpp"

namespace labelrun::rules {
namespace {

using testing::Labeled;
using testing::Unlabeled;

constexpr const char* kRules = R"(
hold_labels: [status:blocked, status:on-hold]
rules:
  - name: train-on-gpu
    when: {all: [task:training, gpu:required]}
    job:
      image: "pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime"
      command: [python, train.py]
      gpus: 1
      env_from_labels: {"module:*": LABELRUN_MODULE}
  - name: train-on-cpu
    when: {all: [task:training, env:cpu], none: [gpu:required]}
    job: {image: "pytorch/pytorch:2.8.0", command: [python, train.py, --cpu]}
  - name: bench
    priority: 5
    min_permission: maintain
    when: {all: ["task:bench*"]}
    job: {image: "pytorch/pytorch:2.8.0", command: [python, bench.py]}
  - name: infer
    priority: 1
    allowed_users: [alice]
    when: {all: [task:inference], any: [env:gpu, gpu:required]}
    job: {image: "pytorch/pytorch:2.8.0", command: [python, infer.py]}
)";

class EvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LoadedRules loaded = testing::LoadYaml(kRules);
    ASSERT_TRUE(loaded.ok()) << testing::ErrorsText(loaded);
    set_ = std::move(loaded.rule_set);
  }
  RuleSet set_;
};

struct Case {
  const char* name;
  Event event;
  DecisionKind kind;
  const char* rule;
  const char* reason;  // substring of some reason
};

Event Command_(Command command, std::vector<std::string> labels,
               Permission permission = Permission::kWrite) {
  Event e = Labeled("", std::move(labels), permission);
  e.kind = EventKind::kCommand;
  e.command = command;
  return e;
}

Event Closed(std::vector<std::string> labels) {
  Event e = Labeled("", std::move(labels));
  e.kind = EventKind::kClosed;
  return e;
}

Event Reopened() {
  Event e;
  e.kind = EventKind::kReopened;
  return e;
}

const std::vector<Case>& Cases() {
  using P = Permission;
  using D = DecisionKind;
  static const std::vector<Case> cases = {
      {"dispatch_on_completing_label", Labeled("gpu:required", {"task:training", "gpu:required"}),
       D::kDispatch, "train-on-gpu", "`gpu:required` was added and completes rule `train-on-gpu`"},
      {"dispatch_other_order", Labeled("task:training", {"gpu:required", "task:training"}),
       D::kDispatch, "train-on-gpu", "completes"},
      {"label_missing_from_payload_list", Labeled("gpu:required", {"task:training"}), D::kDispatch,
       "train-on-gpu", "completes"},
      {"non_completing_label",
       Labeled("module:vit", {"task:training", "gpu:required", "module:vit"}), D::kNone,
       "train-on-gpu", "is not one of its labels"},
      {"incomplete", Labeled("task:training", {"task:training"}), D::kNone, "", "no rule matches"},
      {"none_pattern_excludes", Labeled("env:cpu", {"task:training", "env:cpu", "gpu:required"}),
       D::kNone, "train-on-gpu", "not one of its labels"},
      {"cpu_rule", Labeled("env:cpu", {"task:training", "env:cpu"}), D::kDispatch, "train-on-cpu",
       ""},
      {"glob", Labeled("task:benchmarking", {"task:benchmarking"}, P::kAdmin), D::kDispatch,
       "bench", ""},
      {"any_list", Labeled("env:gpu", {"task:inference", "env:gpu"}), D::kDeny, "infer",
       "@octocat is not in rule `infer`'s allowed_users"},
      {"deny_permission", Labeled("gpu:required", {"task:training", "gpu:required"}, P::kTriage),
       D::kDeny, "train-on-gpu", "@octocat has triage permission; rule `train-on-gpu` needs write"},
      {"deny_glob_rule", Labeled("task:benchmarking", {"task:benchmarking"}, P::kWrite), D::kDeny,
       "bench", "needs maintain or above"},
      {"hold", Labeled("gpu:required", {"task:training", "gpu:required", "status:blocked"}),
       D::kHold, "train-on-gpu", "`status:blocked` holds every rule"},
      {"hold_label_added",
       Labeled("status:blocked", {"task:training", "gpu:required", "status:blocked"}), D::kNone,
       "train-on-gpu", ""},
      {"hold_removed_dispatches", Unlabeled("status:blocked", {"task:training", "gpu:required"}),
       D::kDispatch, "train-on-gpu", "hold label `status:blocked` was removed"},
      {"hold_removed_other_hold",
       Unlabeled("status:blocked", {"task:training", "gpu:required", "status:on-hold"}), D::kHold,
       "train-on-gpu", "`status:on-hold` still holds"},
      {"hold_removed_nothing_matches", Unlabeled("status:blocked", {"task:training"}), D::kNone, "",
       "no rule matches"},
      {"cancel_on_trigger_removed", Unlabeled("gpu:required", {"task:training"}), D::kCancel,
       "train-on-gpu", "`gpu:required` was removed, so rule `train-on-gpu` no longer holds"},
      {"cancel_denied", Unlabeled("gpu:required", {"task:training"}, P::kRead), D::kDeny,
       "train-on-gpu", "to cancel it"},
      {"remove_unrelated", Unlabeled("module:vit", {"task:training", "gpu:required"}), D::kNone, "",
       "breaks no rule"},
      {"closed", Closed({"task:training"}), D::kCancel, "", "closed"},
      {"unknown_with_suggestion", Labeled("gpu-required", {"task:training", "gpu-required"}),
       D::kUnknownLabels, "", "`gpu-required` is not in LABELS.md; did you mean `gpu:required`?"},
      {"unknown_case", Labeled("GPU:Required", {"task:training", "GPU:Required"}),
       D::kUnknownLabels, "", "did you mean `gpu:required`"},
      {"unknown_without_suggestion", Labeled("bug", {"bug"}), D::kNone, "", "no rule matches"},
      {"retry", Command_(Command::kRetry, {"task:training", "gpu:required"}), D::kDispatch,
       "train-on-gpu", "`/labelrun retry` runs rule `train-on-gpu`"},
      {"retry_nothing", Command_(Command::kRetry, {"task:training"}), D::kNone, "",
       "no rule matches"},
      {"retry_held", Command_(Command::kRetry, {"task:training", "gpu:required", "status:blocked"}),
       D::kHold, "train-on-gpu", ""},
      {"cancel_command", Command_(Command::kCancel, {"task:training", "gpu:required"}), D::kCancel,
       "train-on-gpu", "`/labelrun cancel` by @octocat"},
      {"cancel_command_no_rule", Command_(Command::kCancel, {}), D::kCancel, "", "cancelled"},
      {"cancel_command_denied", Command_(Command::kCancel, {}, P::kTriage), D::kDeny, "",
       "cancelling needs write"},
      {"explain_command", Command_(Command::kExplain, {"task:training", "gpu:required"}),
       D::kDispatch, "train-on-gpu", "`/labelrun explain`"},
      {"reopened", Reopened(), D::kNone, "", "reopened"},
  };
  return cases;
}

TEST_F(EvaluateTest, DecisionTable) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    Decision d = Evaluate(set_, c.event);
    std::string reasons;
    for (const std::string& r : d.reasons) reasons += r + "\n";
    EXPECT_EQ(DecisionKindName(d.kind), DecisionKindName(c.kind)) << reasons;
    EXPECT_EQ(d.rule, c.rule) << reasons;
    EXPECT_NE(reasons.find(c.reason), std::string::npos) << reasons;
    EXPECT_FALSE(d.reasons.empty());
    EXPECT_EQ(d.job.has_value(), c.kind == DecisionKind::kDispatch);
    EXPECT_EQ(d.hold_label.empty(), c.kind != DecisionKind::kHold);
    EXPECT_EQ(d.suggestions.empty(), c.kind != DecisionKind::kUnknownLabels);
  }
}

TEST_F(EvaluateTest, RacingLabelsStartOneJob) {
  // gpu:required then task:training, then a late delivery for another label that sees the
  // whole set: exactly one dispatch.
  std::vector<Event> deliveries = {
      Labeled("gpu:required", {"gpu:required"}),
      Labeled("task:training", {"gpu:required", "task:training"}),
      Labeled("framework:pytorch", {"gpu:required", "task:training", "framework:pytorch"}),
  };
  int dispatches = 0;
  for (const Event& e : deliveries) dispatches += Evaluate(set_, e).kind == DecisionKind::kDispatch;
  EXPECT_EQ(dispatches, 1);
}

TEST_F(EvaluateTest, EveryAddOrderStartsExactlyOneJob) {
  std::vector<std::string> labels = {"framework:pytorch", "gpu:required", "module:vit",
                                     "task:training"};
  do {
    std::vector<std::string> current;
    int dispatches = 0;
    for (const std::string& label : labels) {
      current.push_back(label);
      dispatches += Evaluate(set_, Labeled(label, current)).kind == DecisionKind::kDispatch;
    }
    EXPECT_EQ(dispatches, 1);
  } while (std::next_permutation(labels.begin(), labels.end()));
}

TEST_F(EvaluateTest, LabelOrderDoesNotChangeTheDecision) {
  std::vector<std::string> labels = {"gpu:required", "module:vit", "priority:high", "task:training",
                                     "module:resnet"};
  std::sort(labels.begin(), labels.end());
  const std::string expected =
      DecisionToJson(Evaluate(set_, Labeled("gpu:required", labels), {.explain_other_rules = true}))
          .dump();
  do {
    EXPECT_EQ(DecisionToJson(
                  Evaluate(set_, Labeled("gpu:required", labels), {.explain_other_rules = true}))
                  .dump(),
              expected);
  } while (std::next_permutation(labels.begin(), labels.end()));
}

TEST_F(EvaluateTest, JobSpecFromLabels) {
  Decision d =
      Evaluate(set_, Labeled("task:training", {"module:vit", "module:resnet", "task:training",
                                               "gpu:required", "priority:high"}));
  ASSERT_EQ(d.kind, DecisionKind::kDispatch);
  ASSERT_TRUE(d.job);
  EXPECT_EQ(d.job->rule, "train-on-gpu");
  EXPECT_EQ(d.job->image, "pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime");
  EXPECT_EQ(d.job->gpus, 1);
  EXPECT_EQ(d.job->priority, JobPriority::kHigh);
  EXPECT_EQ(d.job->env, (KeyValues{{"LABELRUN_MODULE", "resnet,vit"}}));
  EXPECT_EQ(d.job->metrics, (std::vector<std::string>{"loss"}));
  Decision low = Evaluate(set_, Labeled("env:cpu", {"task:training", "env:cpu", "priority:low"}));
  ASSERT_TRUE(low.job);
  EXPECT_EQ(low.job->priority, JobPriority::kLow);
  EXPECT_TRUE(low.job->env.empty());
}

TEST_F(EvaluateTest, HigherPriorityRuleOwnsTheLabelSet) {
  // bench (priority 5) holds; adding gpu:required completes train-on-gpu too, but the
  // label set belongs to bench, which gpu:required does not trigger.
  Decision d =
      Evaluate(set_,
               Labeled("gpu:required", {"task:benchmarking", "task:training", "gpu:required"},
                       Permission::kAdmin),
               {.explain_other_rules = true});
  EXPECT_EQ(d.kind, DecisionKind::kNone);
  EXPECT_EQ(d.rule, "bench");
  auto note = std::find_if(d.other_rules.begin(), d.other_rules.end(),
                           [](const RuleNote& n) { return n.rule == "train-on-gpu"; });
  ASSERT_NE(note, d.other_rules.end());
  EXPECT_NE(note->why.find("rule `bench` comes first"), std::string::npos) << note->why;
}

TEST_F(EvaluateTest, AllowedUsersIgnoreCase) {
  Event e = Labeled("env:gpu", {"task:inference", "env:gpu"});
  e.sender = "Alice";
  EXPECT_EQ(Evaluate(set_, e).kind, DecisionKind::kDispatch);
}

TEST_F(EvaluateTest, AForkPullRequestRunsOnlyWhereTheRuleAllowsForks) {
  Event e = Labeled("env:cpu", {"task:training", "env:cpu"});
  e.pull_request = true;
  e.from_fork = true;
  Decision d = Evaluate(set_, e);
  EXPECT_EQ(d.kind, DecisionKind::kDeny);
  EXPECT_EQ(d.rule, "train-on-cpu");
  ASSERT_FALSE(d.reasons.empty());
  EXPECT_NE(d.reasons.back().find("comes from a fork"), std::string::npos) << d.reasons.back();
  // The same pull request from this repository runs.
  e.from_fork = false;
  EXPECT_EQ(Evaluate(set_, e).kind, DecisionKind::kDispatch);
  // The permission is checked first: a triage sender is told about permission.
  e.from_fork = true;
  e.permission = Permission::kTriage;
  d = Evaluate(set_, e);
  EXPECT_EQ(d.kind, DecisionKind::kDeny);
  EXPECT_NE(d.reasons.back().find("has triage permission"), std::string::npos);

  LoadedRules loaded = testing::LoadYaml(R"(
rules:
  - name: forks-ok
    when: {all: [task:training]}
    allow_forks: true
    on_new_commits: keep
    job: {image: "pytorch/pytorch:2.8.0", command: [python, train.py]}
)");
  ASSERT_TRUE(loaded.ok()) << testing::ErrorsText(loaded);
  EXPECT_TRUE(loaded.rule_set.rules()[0].allow_forks);
  EXPECT_EQ(loaded.rule_set.rules()[0].on_new_commits, OnNewCommits::kKeep);
  e = Labeled("task:training", {"task:training"});
  e.pull_request = true;
  e.from_fork = true;
  EXPECT_EQ(Evaluate(loaded.rule_set, e).kind, DecisionKind::kDispatch);
}

TEST(RuleLoaderTest, PullRequestKeysAreChecked) {
  LoadedRules loaded = testing::LoadYaml(R"(
rules:
  - name: bad
    when: {all: [task:training]}
    allow_forks: maybe
    on_new_commits: restart
    job: {image: "pytorch/pytorch:2.8.0", command: [python, train.py]}
)");
  EXPECT_FALSE(loaded.ok());
  const std::string errors = testing::ErrorsText(loaded);
  EXPECT_NE(errors.find("allow_forks"), std::string::npos) << errors;
  EXPECT_NE(errors.find("'restart' is not one of cancel, keep"), std::string::npos) << errors;
}

TEST(ParseCommandTest, Table) {
  EXPECT_EQ(ParseCommand("/labelrun retry"), Command::kRetry);
  EXPECT_EQ(ParseCommand("Thanks!\n  /labelrun Cancel please\n"), Command::kCancel);
  EXPECT_EQ(ParseCommand("/labelrun explain"), Command::kExplain);
  EXPECT_EQ(ParseCommand("/labelrun"), std::nullopt);
  EXPECT_EQ(ParseCommand("/labelrun deploy"), std::nullopt);
  EXPECT_EQ(ParseCommand("/labelrunner retry"), std::nullopt);
  EXPECT_EQ(ParseCommand("please /labelrun retry"), std::nullopt);
  EXPECT_EQ(ParseCommand(""), std::nullopt);
}

}  // namespace
}  // namespace labelrun::rules
