// Golden tests for `labelrun explain` output, run through the real LABELS.md and the example
// rules config. Set LABELRUN_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate
// change, and review the diff.
#include "labelrun/rules/explain.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

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

}  // namespace
}  // namespace labelrun::rules
