// Local mode (no GitHub App): the comments labelrun writes for deliveries that
// start no job (a refusal, a "did you mean" suggestion, a `/labelrun explain`
// answer) are kept and shown where job comments are (the jobs API and the log),
// each marked as not sent to GitHub.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kToken[] = "local-comments-api-token-7";

std::string Labeled(int64_t issue, const std::string& label) {
  return R"({"action":"labeled","label":{"name":")" + label + R"("},"issue":{"number":)" +
         std::to_string(issue) + R"(,"state":"open","title":"t","body":null,"labels":[{"name":")" +
         label +
         R"("}]},"repository":{"id":1,"full_name":"acme/vision"},)"
         R"("sender":{"login":"carol","type":"User"}})";
}

std::string Commented(int64_t issue, const std::string& text) {
  return R"({"action":"created","issue":{"number":)" + std::to_string(issue) +
         R"(,"state":"open","title":"t","body":null,"labels":[],"locked":false,"assignee":null},)"
         R"("comment":{"id":9,"body":")" +
         text +
         R"(","author_association":"OWNER"},)"
         R"("repository":{"id":1,"full_name":"acme/vision"},)"
         R"("sender":{"login":"carol","type":"User"}})";
}

TEST(LocalCommentsTest, RefusalSuggestionAndExplainAreListedAndLogged) {
  TempDir dir;
  dir.Write("api-token", std::string(kToken) + "\n");
  LabelrunProcess::Options options;
  // Local mode trusts a signed delivery as write access; this rule wants admin.
  options.extra_yaml = "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
                       "/LABELS.md\n"
                       "rules:\n"
                       "  - name: train\n"
                       "    when: {all: [task:training]}\n"
                       "    min_permission: admin\n"
                       "    job: {image: \"labelrun-test/busybox:1\", command: [true]}\n"
                       "api: {token_file: " +
                       (dir / "api-token").string() + "}\n";
  LabelrunProcess server(dir, options);
  ASSERT_TRUE(server.WaitReady()) << server.Log();

  ASSERT_EQ(server.Deliver("issues", "deny-1", Labeled(3, "task:training")).status, 202);
  ASSERT_EQ(server.Deliver("issues", "typo-1", Labeled(4, "task:trainig")).status, 202);
  ASSERT_EQ(server.Deliver("issue_comment", "explain-1", Commented(5, "/labelrun explain")).status,
            202);
  ASSERT_TRUE(
      WaitUntil([&] { return server.CountInLog("(local mode: not sent to GitHub)") >= 3; }, 30s))
      << server.Log();
  const std::string log = server.Log();
  EXPECT_THAT(log,
              HasSubstr("acme/vision#3: deny-train comment (local mode: not sent to GitHub): "));
  EXPECT_THAT(log, HasSubstr("did you mean"));

  const std::string auth = std::string("Authorization: Bearer ") + kToken;
  HttpResponse all = HttpRequest("GET", server.Url("/api/comments"), {auth}, "");
  ASSERT_EQ(all.status, 200) << all.body;
  json body = json::parse(all.body);
  EXPECT_EQ(body["local_mode"], true);
  ASSERT_EQ(body["comments"].size(), 3u) << all.body;
  std::map<int64_t, json> by_issue;
  for (const json& c : body["comments"]) {
    EXPECT_EQ(c["sent_to_github"], false);
    EXPECT_EQ(c["repository"], "acme/vision");
    EXPECT_TRUE(c["at"].is_string());
    by_issue[c["issue"].get<int64_t>()] = c;
  }
  EXPECT_EQ(by_issue[3]["cause"], "deny-train");
  EXPECT_THAT(by_issue[3]["body"].get<std::string>(), HasSubstr("admin"));
  EXPECT_THAT(by_issue[4]["body"].get<std::string>(), HasSubstr("task:training"));
  EXPECT_EQ(by_issue[5]["cause"], "explain");

  HttpResponse one =
      HttpRequest("GET", server.Url("/api/comments?repo=acme/vision&issue=4"), {auth}, "");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["comments"].size(), 1u);
  EXPECT_EQ(HttpRequest("GET", server.Url("/api/comments?issue=x"), {auth}, "").status, 400);
  EXPECT_EQ(HttpRequest("GET", server.Url("/api/comments"), {}, "").status, 401);

  // A second refusal on the same issue edits the first, as on GitHub.
  ASSERT_EQ(server.Deliver("issues", "deny-2", Labeled(3, "task:training")).status, 202);
  ASSERT_TRUE(
      WaitUntil([&] { return server.CountInLog("(local mode: not sent to GitHub)") >= 4; }, 30s));
  HttpResponse again = HttpRequest("GET", server.Url("/api/comments?issue=3"), {auth}, "");
  EXPECT_EQ(json::parse(again.body)["comments"].size(), 1u) << again.body;
}

}  // namespace
}  // namespace labelrun::testing
