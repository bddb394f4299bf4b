// config/github-app-manifest.json: the App registered from it asks for no more
// than labelrun uses, and subscribes to exactly the events labelrun acts on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "labelrun/webhook/parse.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;

json Manifest() {
  return json::parse(
      ReadFile(std::string(LABELRUN_SOURCE_DIR) + "/config/github-app-manifest.json"));
}

// A delivery of `event` with an action labelrun acts on, shaped as GitHub sends it.
std::string PayloadOf(const std::string& event) {
  const std::string envelope =
      R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"alice","type":"User"},)"
      R"("installation":{"id":5})";
  const std::string issue =
      R"("issue":{"number":4,"state":"open","title":"t","body":null,"labels":[{"name":"task:training"}]})";
  if (event == "issues") {
    return R"({"action":"labeled","label":{"name":"task:training"},)" + issue + "," + envelope +
           "}";
  }
  if (event == "issue_comment") {
    return R"({"action":"created","comment":{"id":9,"body":"/labelrun retry",)"
           R"("author_association":"MEMBER"},)" +
           issue + "," + envelope + "}";
  }
  if (event == "pull_request") {
    return R"({"action":"labeled","label":{"name":"task:training"},"pull_request":{"number":7,)"
           R"("state":"open","labels":[{"name":"task:training"}],"head":{"sha":"0123abc","ref":"x"}},)" +
           envelope + "}";
  }
  if (event == "check_run") {
    return R"({"action":"requested_action","requested_action":{"identifier":"cancel"},)"
           R"("check_run":{"id":11,"external_id":"j0123456789","head_sha":"0123abc","name":"train",)"
           R"("pull_requests":[{"number":7}]},)" +
           envelope + "}";
  }
  return "";
}

TEST(GithubAppManifest, AsksForTheLeastPermissionsLabelrunNeeds) {
  json m = Manifest();
  using Permissions = std::map<std::string, std::string>;
  const Permissions expected = {{"issues", "write"},
                                {"pull_requests", "write"},
                                {"checks", "write"},
                                {"contents", "read"},
                                {"metadata", "read"}};
  EXPECT_EQ(m.at("default_permissions").get<Permissions>(), expected);
  EXPECT_FALSE(m.at("public").get<bool>());
  EXPECT_FALSE(m.at("name").get<std::string>().empty());
  EXPECT_EQ(m.at("hook_attributes").at("url"), "https://labelrun.example.com/webhook");
  EXPECT_TRUE(m.at("hook_attributes").at("active").get<bool>());
  for (const char* key : {"url", "redirect_url", "description"}) {
    EXPECT_TRUE(m.at(key).is_string()) << key;
  }
}

TEST(GithubAppManifest, SubscribesToExactlyTheEventsLabelrunActsOn) {
  json m = Manifest();
  const auto events = m.at("default_events").get<std::vector<std::string>>();
  EXPECT_THAT(events, ::testing::UnorderedElementsAre("issues", "issue_comment", "pull_request",
                                                      "check_run"));
  EXPECT_EQ(std::set<std::string>(events.begin(), events.end()).size(), events.size());
  for (const std::string& event : events) {
    const std::string payload = PayloadOf(event);
    ASSERT_FALSE(payload.empty()) << event << ": not an event labelrun's parser types";
    Result<webhook::Event> parsed = webhook::ParseEvent(event, payload);
    ASSERT_TRUE(parsed) << event << ": " << parsed.error().message();
    EXPECT_TRUE(webhook::IsActionable(*parsed)) << event << " parses to an ignored event";
  }
  // The check can fail: an event labelrun does not type parses as ignored.
  Result<webhook::Event> star = webhook::ParseEvent("star", R"({"action":"created"})");
  ASSERT_TRUE(star);
  EXPECT_FALSE(webhook::IsActionable(*star));
}

}  // namespace
}  // namespace labelrun::testing
