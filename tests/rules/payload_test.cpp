#include "labelrun/rules/payload.hpp"

#include <gtest/gtest.h>

#include "rules/test_util.hpp"

namespace labelrun::rules {
namespace {

nlohmann::json Payload(const std::string& name) {
  return nlohmann::json::parse(testing::ReadSourceFile("tests/rules/testdata/" + name));
}

TEST(PayloadTest, IssuesLabeled) {
  auto event = EventFromPayload("issues", Payload("issues.labeled.json"), Permission::kWrite);
  ASSERT_TRUE(event) << event.error().message();
  EXPECT_EQ(event->kind, EventKind::kLabeled);
  EXPECT_EQ(event->changed_label, "bug");
  EXPECT_EQ(event->labels, std::vector<std::string>{"bug"});
  EXPECT_EQ(event->permission, Permission::kWrite);
  EXPECT_FALSE(event->sender.empty());
}

TEST(PayloadTest, IssuesUnlabeledAndPullRequests) {
  auto unlabeled = EventFromPayload("issues", Payload("issues.unlabeled.json"), Permission::kRead);
  ASSERT_TRUE(unlabeled) << unlabeled.error().message();
  EXPECT_EQ(unlabeled->kind, EventKind::kUnlabeled);
  EXPECT_EQ(unlabeled->changed_label, "bug");
  auto pr =
      EventFromPayload("pull_request", Payload("pull_request.labeled.json"), Permission::kAdmin);
  ASSERT_TRUE(pr) << pr.error().message();
  EXPECT_EQ(pr->kind, EventKind::kLabeled);
  EXPECT_EQ(pr->labels, std::vector<std::string>{"bug"});
  auto closed =
      EventFromPayload("pull_request", Payload("pull_request.closed.json"), Permission::kAdmin);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->kind, EventKind::kClosed);
}

TEST(PayloadTest, IssueComments) {
  auto plain =
      EventFromPayload("issue_comment", Payload("issue_comment.created.json"), Permission::kWrite);
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(plain->kind, EventKind::kOther);
  auto retry =
      EventFromPayload("issue_comment", Payload("issue_comment.retry.json"), Permission::kWrite);
  ASSERT_TRUE(retry) << retry.error().message();
  EXPECT_EQ(retry->kind, EventKind::kCommand);
  EXPECT_EQ(retry->command, Command::kRetry);
  EXPECT_EQ(retry->labels,
            (std::vector<std::string>{"task:training", "gpu:required", "module:vit"}));
}

TEST(PayloadTest, SimulatedTrainingDeliveryDispatches) {
  auto event =
      EventFromPayload("issues", Payload("issues.labeled.training.json"), Permission::kWrite);
  ASSERT_TRUE(event);
  LoadedRules loaded = testing::LoadYaml(testing::ReadSourceFile("config/labelrun.example.yaml"));
  ASSERT_TRUE(loaded.ok()) << testing::ErrorsText(loaded);
  Decision d = Evaluate(loaded.rule_set, *event);
  EXPECT_EQ(d.kind, DecisionKind::kDispatch);
  EXPECT_EQ(d.rule, "train-on-gpu");
}

TEST(PayloadTest, MalformedPayloads) {
  using nlohmann::json;
  struct Case {
    const char* event;
    const char* payload;
    const char* message;
  };
  for (const Case& c : {
           Case{"issues", "[]", "not a JSON object"},
           Case{"push", R"({"action": "labeled"})", "carries no labels"},
           Case{"issues", R"({"issue": {}})", "'action' is missing"},
           Case{"issues", R"({"action": "labeled"})", "'issue' is missing"},
           Case{"issues", R"({"action": "labeled", "issue": {"labels": 3}})",
                "issue.labels is not"},
           Case{"issues", R"({"action": "labeled", "issue": {"labels": [{"name": 1}]}})",
                "issue.labels[0].name"},
           Case{"issues", R"({"action": "labeled", "issue": {"labels": []}})", "label.name"},
           Case{"issue_comment", R"({"action": "created", "issue": {}})", "comment.body"},
       }) {
    auto event = EventFromPayload(c.event, json::parse(c.payload), Permission::kWrite);
    ASSERT_FALSE(event) << c.payload;
    EXPECT_NE(event.error().message().find(c.message), std::string::npos)
        << event.error().message();
  }
}

}  // namespace
}  // namespace labelrun::rules
