// Golden tests for `labelrun explain` output, run through the real LABELS.md and the example
// rules config. Set LABELRUN_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate
// change, and review the diff.
#include "labelrun/rules/explain.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "labelrun/app/rules_cli.hpp"
#include "rules/test_util.hpp"

namespace labelrun::rules {
namespace {

const std::string kConfig = std::string(LABELRUN_SOURCE_DIR) + "/config/labelrun.example.yaml";

void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(LABELRUN_SOURCE_DIR) + "/tests/rules/golden/" + name;
  if (const char* update = std::getenv("LABELRUN_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path << " is missing; run with LABELRUN_UPDATE_GOLDEN=1";
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden " << name;
}

struct GoldenCase {
  const char* golden;
  app::ExplainArgs args;
};

TEST(ExplainGoldenTest, Cases) {
  auto args = [](std::vector<std::string> labels, std::optional<std::string> added,
                 std::optional<std::string> removed, std::string permission, bool json) {
    app::ExplainArgs a;
    a.config_file = kConfig;
    a.labels = std::move(labels);
    a.added = std::move(added);
    a.removed = std::move(removed);
    a.permission = std::move(permission);
    a.json = json;
    return a;
  };
  const std::vector<GoldenCase> cases = {
      {"explain_dispatch.txt", args({"task:training,gpu:required", "module:vit", "priority:high"},
                                    "gpu:required", std::nullopt, "write", false)},
      {"explain_dispatch.json", args({"task:training,gpu:required,module:vit"}, "task:training",
                                     std::nullopt, "write", true)},
      {"explain_none.txt", args({"task:training", "framework:pytorch"}, "framework:pytorch",
                                std::nullopt, "write", false)},
      {"explain_hold.txt",
       args({"task:inference,env:gpu,status:blocked"}, "env:gpu", std::nullopt, "admin", false)},
      {"explain_deny.json",
       args({"task:training,env:cpu"}, "env:cpu", std::nullopt, "triage", true)},
      {"explain_cancel.txt", args({"task:training"}, std::nullopt, "gpu:required", "write", false)},
      {"explain_unknown.json",
       args({"task:training,gpu-required"}, "gpu-required", std::nullopt, "write", true)},
      {"explain_retry.txt",
       args({"task:benchmarking,gpu:required"}, std::nullopt, std::nullopt, "maintain", false)},
  };
  for (const GoldenCase& c : cases) {
    SCOPED_TRACE(c.golden);
    std::ostringstream out, err;
    EXPECT_EQ(app::RunExplain(c.args, out, err), 0) << err.str();
    EXPECT_EQ(err.str(), "");
    ExpectGolden(c.golden, out.str());
  }
}

TEST(ExplainTest, JsonShape) {
  Decision d;
  d.kind = DecisionKind::kUnknownLabels;
  d.suggestions.push_back({"gpurequired", "gpu:required"});
  d.reasons.push_back("r");
  nlohmann::json j = DecisionToJson(d);
  EXPECT_EQ(j["decision"], "unknown_labels");
  EXPECT_EQ(j["suggestions"][0]["suggestion"], "gpu:required");
  EXPECT_FALSE(j.contains("rule"));
  EXPECT_FALSE(j.contains("job"));
  for (DecisionKind kind :
       {DecisionKind::kDispatch, DecisionKind::kHold, DecisionKind::kCancel, DecisionKind::kDeny,
        DecisionKind::kUnknownLabels, DecisionKind::kNone}) {
    d.kind = kind;
    EXPECT_EQ(DecisionToJson(d)["decision"], DecisionKindName(kind));
  }
}

TEST(ExplainTest, MetricsAreShownAsTheConfigNamesThem) {
  JobSpec job;
  job.image = "x:1";
  job.command = {"python"};
  job.metrics = {"loss", "val_loss"};
  Decision d;
  d.kind = DecisionKind::kDispatch;
  d.job = job;
  EXPECT_NE(RenderExplainText(d).find("  metric: loss, val_loss\n"), std::string::npos)
      << RenderExplainText(d);
  EXPECT_EQ(DecisionToJson(d)["job"]["metric"], nlohmann::json::array({"loss", "val_loss"}));
  d.job->metrics = {"loss"};
  EXPECT_EQ(DecisionToJson(d)["job"]["metric"], "loss");
}

TEST(ExplainTest, CommandIsShownShellQuotedButStaysArgv) {
  JobSpec job;
  job.image = "x:1";
  job.command = {"python", "-c", "print('hi')"};
  Decision d;
  d.kind = DecisionKind::kDispatch;
  d.job = job;
  EXPECT_NE(RenderExplainText(d).find("command: python -c 'print('\\''hi'\\'')'"),
            std::string::npos)
      << RenderExplainText(d);
  EXPECT_EQ(DecisionToJson(d)["job"]["command"][2], "print('hi')");
}

// What `/labelrun explain` and the refusal, hold and did-you-mean comments post.
TEST(ExplainCommentTest, EnvValuesAreNeverShown) {
  JobSpec job;
  job.image = "x:1";
  job.command = {"python", "train.py"};
  job.env = {{"HF_TOKEN", "hf_live_value_that_must_stay_inside"}, {"WANDB_MODE", "offline"}};
  Decision d;
  d.kind = DecisionKind::kDispatch;
  d.explain_only = true;
  d.job = job;
  for (const std::string& shown : {RenderExplainText(d), RenderExplainComment(d)}) {
    EXPECT_NE(shown.find("env: HF_TOKEN (value not shown)"), std::string::npos) << shown;
    EXPECT_NE(shown.find("env: WANDB_MODE (value not shown)"), std::string::npos) << shown;
    EXPECT_EQ(shown.find("hf_live_value"), std::string::npos) << shown;
    EXPECT_EQ(shown.find("offline"), std::string::npos) << shown;
  }
}

// Every line of the comment after the heading is inside one fenced code block that no line
// of the text can close: what is in it renders as text, with no mention, HTML or image.
void ExpectInert(const std::string& comment) {
  ASSERT_EQ(comment.rfind("**labelrun**\n\n", 0), 0u) << comment;
  std::vector<std::string> lines;
  std::istringstream in(comment);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 4u) << comment;
  const std::string& open = lines[2];
  const size_t fence = open.find_first_not_of('`');
  ASSERT_GE(fence, 3u) << comment;
  EXPECT_EQ(open.substr(fence), "text");
  EXPECT_EQ(lines.back(), std::string(fence, '`')) << comment;
  for (size_t i = 3; i + 1 < lines.size(); ++i) {
    size_t run = 0, longest = 0;
    for (char c : lines[i]) {
      run = c == '`' ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    EXPECT_LT(longest, fence) << "line " << i << " could close the block: " << comment;
  }
}

TEST(ExplainCommentTest, HostileLabelNamesAndReasonsAreInert) {
  const std::vector<std::string> hostile = {
      "<img src=x onerror=alert(1)>", "@acme/security-team", "a```b````c",
      "[x](https://e.vil)",           "<!-- x -->",          "`"};
  Decision d;
  d.kind = DecisionKind::kUnknownLabels;
  for (const std::string& label : hostile) {
    d.suggestions.push_back({label, "gpu:required"});
    d.reasons.push_back("label `" + label + "` is not in LABELS.md; did you mean `gpu:required`?");
    d.other_rules.push_back({"train", "needs all of [" + label + "]; missing " + label});
  }
  const std::string comment = RenderExplainComment(d);
  ExpectInert(comment);
  for (const std::string& label : hostile) {
    EXPECT_NE(comment.find(label), std::string::npos) << "shown as written: " << label;
  }
  // The longest backtick run in a label is 4: the fence is 5.
  EXPECT_NE(comment.find("\n`````text\n"), std::string::npos) << comment;
}

// The same through the evaluator: a refusal whose reasons name the sender and the labels.
TEST(ExplainCommentTest, RefusalFromTheEvaluatorIsInert) {
  Result<app::ConfigRules> rules = app::LoadConfigRules(kConfig);
  ASSERT_TRUE(rules) << rules.error().message();
  Event e;
  e.kind = EventKind::kLabeled;
  e.changed_label = "env:cpu";
  e.labels = {"task:training", "env:cpu", "@acme/security-team", "<img src=x onerror=alert(1)>"};
  e.permission = Permission::kTriage;
  e.sender = "mallory";
  const Decision d = Evaluate(rules->rule_set, e, {.explain_other_rules = true});
  ASSERT_EQ(d.kind, DecisionKind::kDeny) << RenderExplainText(d);
  const std::string comment = RenderExplainComment(d);
  ExpectInert(comment);
  EXPECT_NE(comment.find("@mallory has triage permission"), std::string::npos) << comment;
}

}  // namespace
}  // namespace labelrun::rules
