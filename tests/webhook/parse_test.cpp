#include "labelrun/webhook/parse.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "labelrun/webhook/digest.hpp"

namespace labelrun::webhook {
namespace {

using nlohmann::json;

json LabeledPayload() {
  return json::parse(R"({
    "action": "labeled",
    "label": {"id": 1, "name": "gpu:required", "color": "d73a4a", "description": null},
    "issue": {
      "number": 42, "title": "Train ViT — 🚀 on GPUs", "body": null, "state": "open",
      "labels": [{"name": "task:training"}, {"name": "gpu:required"}],
      "user": {"login": "alice", "id": 7, "type": "User"}
    },
    "repository": {"id": 9, "full_name": "acme/vision", "default_branch": "main",
                   "private": true, "owner": {"login": "acme"}},
    "sender": {"login": "alice", "id": 7, "type": "User"},
    "installation": {"id": 1234, "node_id": "X"}
  })");
}

TEST(ParseEvent, IssuesLabeled) {
  Result<Event> e = ParseEvent("issues", LabeledPayload().dump());
  ASSERT_TRUE(e) << e.error().message();
  const auto& ev = std::get<IssuesEvent>(*e);
  EXPECT_EQ(ev.action, "labeled");
  EXPECT_EQ(ev.number, 42);
  EXPECT_EQ(ev.title, "Train ViT — 🚀 on GPUs");
  EXPECT_EQ(ev.state, "open");
  EXPECT_EQ(ev.labels, (std::vector<std::string>{"task:training", "gpu:required"}));
  EXPECT_EQ(ev.label, "gpu:required");
  EXPECT_FALSE(ev.is_pull_request);
  EXPECT_EQ(ev.repository.full_name, "acme/vision");
  EXPECT_TRUE(ev.repository.is_private);
  EXPECT_EQ(ev.sender.login, "alice");
  EXPECT_EQ(ev.installation_id, 1234);
}

TEST(ParseEvent, LabelAbsentAndEscapedUnicode) {
  json p = LabeledPayload();
  p.erase("label");
  p["issue"]["title"] = "\u00e9t\u00e9 \U0001F600 \"quoted\" \\ back";
  std::string text = p.dump(-1, ' ', /*ensure_ascii=*/true);  // \uXXXX escapes, surrogates
  Result<Event> e = ParseEvent("issues", text);
  ASSERT_TRUE(e) << e.error().message();
  const auto& ev = std::get<IssuesEvent>(*e);
  EXPECT_FALSE(ev.label.has_value());
  EXPECT_EQ(ev.title, "\u00e9t\u00e9 \U0001F600 \"quoted\" \\ back");
}

TEST(ParseEvent, IssueThatIsAPullRequest) {
  json p = LabeledPayload();
  p["issue"]["pull_request"] = {{"url", "x"}};
  Result<Event> e = ParseEvent("issues", p.dump());
  ASSERT_TRUE(e);
  EXPECT_TRUE(std::get<IssuesEvent>(*e).is_pull_request);
}

TEST(ParseEvent, ActionsNotActedOnAreIgnored) {
  json p = LabeledPayload();
  p["action"] = "edited";
  Result<Event> e = ParseEvent("issues", p.dump());
  ASSERT_TRUE(e);
  EXPECT_EQ(std::get<IgnoredEvent>(*e).action, "edited");
  Result<Event> star = ParseEvent("star", R"({"action":"created","starred_at":null})");
  ASSERT_TRUE(star);
  EXPECT_EQ(std::get<IgnoredEvent>(*star).action, "created");
}

TEST(ParseEvent, CommentCreated) {
  json p = LabeledPayload();
  p["action"] = "created";
  p.erase("label");
  p["comment"] = {{"id", 77},
                  {"body", "/labelrun retry\r\nplease"},
                  {"author_association", "MEMBER"},
                  {"user", {{"login", "bob"}}}};
  Result<Event> e = ParseEvent("issue_comment", p.dump());
  ASSERT_TRUE(e) << e.error().message();
  const auto& ev = std::get<IssueCommentEvent>(*e);
  EXPECT_EQ(ev.comment_id, 77);
  EXPECT_EQ(ev.comment_body, "/labelrun retry\r\nplease");
  EXPECT_EQ(ev.author_association, "MEMBER");
  EXPECT_EQ(ev.number, 42);
}

TEST(ParseEvent, PullRequestLabeled) {
  json p = {{"action", "labeled"},
            {"number", 5},
            {"label", {{"name", "task:benchmarking"}}},
            {"pull_request",
             {{"state", "open"},
              {"labels", json::array({{{"name", "task:benchmarking"}}})},
              {"head", {{"sha", "abc123"}, {"ref", "feature"}}}}},
            {"repository", {{"id", 1}, {"full_name", "a/b"}}},
            {"sender", {{"login", "c"}}}};
  Result<Event> e = ParseEvent("pull_request", p.dump());
  ASSERT_TRUE(e) << e.error().message();
  const auto& ev = std::get<PullRequestEvent>(*e);
  EXPECT_EQ(ev.number, 5);
  EXPECT_EQ(ev.head_sha, "abc123");
  EXPECT_EQ(ev.label, "task:benchmarking");
}

TEST(ParseEvent, PullRequestSynchronizeFromAFork) {
  json p = {{"action", "synchronize"},
            {"number", 5},
            {"before", "abc123"},
            {"after", "def456"},
            {"pull_request",
             {{"state", "open"},
              {"merged", nullptr},
              {"labels", json::array({{{"name", "task:training"}}})},
              {"head", {{"sha", "def456"}, {"ref", "feature"}, {"repo", {{"full_name", "m/b"}}}}},
              {"base", {{"ref", "main"}, {"repo", {{"full_name", "a/b"}}}}}}},
            {"repository", {{"id", 1}, {"full_name", "a/b"}}},
            {"sender", {{"login", "m"}}}};
  Result<Event> e = ParseEvent("pull_request", p.dump());
  ASSERT_TRUE(e) << e.error().message();
  const auto& ev = std::get<PullRequestEvent>(*e);
  EXPECT_EQ(ev.action, "synchronize");
  EXPECT_EQ(ev.head_sha, "def456");
  EXPECT_EQ(ev.head_repo, "m/b");
  EXPECT_TRUE(ev.from_fork());
  // The same head in the base repository is not a fork; a deleted fork (null) is.
  p["pull_request"]["head"]["repo"]["full_name"] = "a/b";
  e = ParseEvent("pull_request", p.dump());
  ASSERT_TRUE(e);
  EXPECT_FALSE(std::get<PullRequestEvent>(*e).from_fork());
  p["pull_request"]["head"]["repo"] = nullptr;
  e = ParseEvent("pull_request", p.dump());
  ASSERT_TRUE(e);
  EXPECT_TRUE(std::get<PullRequestEvent>(*e).from_fork());
  // Other pull request actions are acknowledged and not stored.
  p["action"] = "opened";
  e = ParseEvent("pull_request", p.dump());
  ASSERT_TRUE(e);
  EXPECT_FALSE(IsActionable(*e));
}

TEST(ParseEvent, CheckRunActions) {
  json p = {{"action", "requested_action"},
            {"requested_action", {{"identifier", "cancel"}}},
            {"check_run",
             {{"id", 99},
              {"name", "train"},
              {"head_sha", "abc123"},
              {"external_id", "j0011223344"},
              {"status", "in_progress"},
              {"pull_requests", json::array({{{"number", 7}, {"head", {{"sha", "abc123"}}}}})}}},
            {"repository", {{"id", 1}, {"full_name", "a/b"}}},
            {"sender", {{"login", "bob"}}},
            {"installation", {{"id", 5}}}};
  Result<Event> e = ParseEvent("check_run", p.dump());
  ASSERT_TRUE(e) << e.error().message();
  const auto& ev = std::get<CheckRunEvent>(*e);
  EXPECT_EQ(ev.check_run_id, 99);
  EXPECT_EQ(ev.external_id, "j0011223344");
  EXPECT_EQ(ev.requested_action, "cancel");
  EXPECT_EQ(ev.pull_request, 7);
  EXPECT_EQ(ev.installation_id, 5);
  p["action"] = "rerequested";
  p.erase("requested_action");
  e = ParseEvent("check_run", p.dump());
  ASSERT_TRUE(e);
  EXPECT_EQ(std::get<CheckRunEvent>(*e).action, "rerequested");
  // Created and completed check runs (labelrun's own) are not stored.
  p["action"] = "completed";
  e = ParseEvent("check_run", p.dump());
  ASSERT_TRUE(e);
  EXPECT_FALSE(IsActionable(*e));
  p["action"] = "rerequested";
  p.erase("check_run");
  EXPECT_FALSE(ParseEvent("check_run", p.dump()));
}

TEST(ParseEvent, InstallationRepositories) {
  json p = {{"action", "added"},
            {"installation", {{"id", 99}, {"account", {{"login", "acme"}}}}},
            {"repositories_added", json::array({{{"full_name", "acme/x"}}})},
            {"repositories_removed", json::array()},
            {"repository_selection", "selected"},
            {"sender", {{"login", "admin"}}}};
  Result<Event> e = ParseEvent("installation_repositories", p.dump());
  ASSERT_TRUE(e) << e.error().message();
  const auto& ev = std::get<InstallationEvent>(*e);
  EXPECT_EQ(ev.installation_id, 99);
  EXPECT_EQ(ev.account, "acme");
  EXPECT_EQ(ev.repositories_added, std::vector<std::string>{"acme/x"});
}

TEST(ParseEvent, Ping) {
  Result<Event> e =
      ParseEvent("ping", R"({"zen":"Design for failure.","hook_id":3,"hook":{"app_id":17}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(std::get<PingEvent>(*e), (PingEvent{"Design for failure.", 3, 17}));
  EXPECT_FALSE(IsActionable(*e));
}

TEST(ParseEvent, MalformedJsonIsAnErrorWithAReason) {
  for (const char* bad :
       {"", "{", "[]", "nul", R"({"action": "labeled")", R"({"action": "labeled"} trailing)",
        R"({"action": "labeled"}{"action": "x"})", "{\"action\": \"\xff\xfe\"}",
        R"({"action": "labeled", "issue": {"number": "forty-two"}})"}) {
    Result<Event> e = ParseEvent("issues", bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(e.error().message().find("issues"), std::string::npos) << e.error().message();
  }
}

TEST(ParseEvent, MissingRequiredFieldsAreNamed) {
  Result<Event> e = ParseEvent("issues", R"({"action":"labeled","sender":{"login":"x"}})");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("repository"), std::string::npos);
  EXPECT_NE(e.error().message().find("issue"), std::string::npos);
}

TEST(ParseEvent, InPlaceParsingMatchesCopy) {
  std::string text = LabeledPayload().dump();
  std::string padded = text;
  padded.reserve(text.size() + 128);
  Result<Event> in_place = ParseEvent("issues", padded, padded.capacity());
  Result<Event> copied = ParseEvent("issues", text, 0);
  ASSERT_TRUE(in_place && copied);
  EXPECT_EQ(std::get<IssuesEvent>(*in_place), std::get<IssuesEvent>(*copied));
}

TEST(ContentType, JsonAndForm) {
  EXPECT_EQ(*ClassifyContentType("application/json"), BodyFormat::kJson);
  EXPECT_EQ(*ClassifyContentType("Application/JSON; charset=utf-8"), BodyFormat::kJson);
  EXPECT_EQ(*ClassifyContentType("application/x-www-form-urlencoded"), BodyFormat::kForm);
  EXPECT_FALSE(ClassifyContentType("text/plain"));
  EXPECT_FALSE(ClassifyContentType(""));
}

TEST(ExtractJson, FormPayloadIsDecoded) {
  std::string scratch;
  Result<std::string_view> j =
      ExtractJson(BodyFormat::kForm, "payload=%7B%22zen%22%3A%22a+b%22%7D", scratch);
  ASSERT_TRUE(j);
  EXPECT_EQ(*j, R"({"zen":"a b"})");
  EXPECT_FALSE(ExtractJson(BodyFormat::kForm, "other=1", scratch));
}

TEST(Digest, RoundTripsEveryActionableKind) {
  std::vector<std::pair<std::string, Event>> events;
  Result<Event> issues = ParseEvent("issues", LabeledPayload().dump());
  ASSERT_TRUE(issues);
  events.emplace_back("issues", *issues);
  IssueCommentEvent c;
  c.action = "created";
  c.comment_body = "line1\nline2 \"q\" \t \x01 ✓";
  c.labels = {"a:b"};
  events.emplace_back("issue_comment", c);
  PullRequestEvent pr;
  pr.action = "closed";
  pr.head_sha = "deadbeef";
  pr.head_repo = "mallory/b";
  pr.merged = true;
  events.emplace_back("pull_request", pr);
  CheckRunEvent check;
  check.action = "requested_action";
  check.check_run_id = 42;
  check.external_id = "j0011223344";
  check.head_sha = "deadbeef";
  check.name = "train";
  check.pull_request = 7;
  check.requested_action = "cancel";
  events.emplace_back("check_run", check);
  InstallationEvent inst;
  inst.action = "created";
  inst.account = "acme";
  inst.repositories_added = {"acme/a", "acme/b"};
  events.emplace_back("installation", inst);
  for (const auto& [name, event] : events) {
    std::string digest = EncodeDigest(event);
    ASSERT_TRUE(json::accept(digest)) << digest;
    Result<Event> back = DecodeDigest(name, digest);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, event) << name;
  }
  EXPECT_FALSE(DecodeDigest("issues", "{\"action\":1}"));
}

TEST(Digest, LargeDigestsAndNullLabelsRoundTrip) {
  IssueCommentEvent c;
  c.action = "created";
  c.comment_body = std::string(200 * 1024, 'x') + "\"\\\n";  // past the reused parser's size
  c.labels = {"gpu:required", "task:training"};
  Result<Event> back = DecodeDigest("issue_comment", EncodeDigest(c));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, Event(c));
  IssuesEvent i;
  i.action = "labeled";
  i.label = std::nullopt;  // encoded as null
  back = DecodeDigest("issues", EncodeDigest(i));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, Event(i));
  // A small digest after the large one still decodes (the reused parser).
  i.label = "gpu:required";
  back = DecodeDigest("issues", EncodeDigest(i));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, Event(i));
}

TEST(Digest, CorruptDigestsAreErrorsThatNameTheEvent) {
  IssuesEvent i;
  i.action = "labeled";
  std::string good = EncodeDigest(i);
  ASSERT_TRUE(DecodeDigest("issues", good));
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string d = good;
    size_t at = d.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return d.replace(at, from.size(), to);
  };
  for (const std::string& digest :
       {std::string(), std::string("["), std::string("[1]"), std::string("null"),
        good.substr(0, good.size() - 1), replace("\"number\":0", "\"number\":\"0\""),
        replace("\"number\":0,", ""), replace("\"labels\":[]", "\"labels\":[1]"),
        replace("\"private\":false", "\"private\":0"), replace("\"label\":null", "\"label\":7"),
        replace("\"sender\":{", "\"sendr\":{"), std::string("{\"action\":\"\xff\"}")}) {
    Result<Event> r = DecodeDigest("issues", digest);
    ASSERT_FALSE(r) << digest;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << digest;
    EXPECT_NE(r.error().message().find("corrupt inbox digest for issues"), std::string::npos)
        << r.error().message();
  }
  // Events labelrun does not act on keep their action, or none.
  Result<Event> other = DecodeDigest("star", R"({"action":"created"})");
  ASSERT_TRUE(other);
  EXPECT_EQ(std::get<IgnoredEvent>(*other).action, "created");
  other = DecodeDigest("star", "{}");
  ASSERT_TRUE(other);
  EXPECT_EQ(std::get<IgnoredEvent>(*other).action, "");
  EXPECT_FALSE(DecodeDigest("star", R"({"action":1})"));
}

}  // namespace
}  // namespace labelrun::webhook
