#include "server/webhook_handler.hpp"

#include <gtest/gtest.h>

namespace labelrun::server {
namespace {

constexpr const char* kSecret = "s3cret";
constexpr const char* kLabeled =
    R"({"action":"labeled","label":{"name":"gpu:required"},"issue":{"number":1,"state":"open",)"
    R"("labels":[{"name":"gpu:required"}]},"repository":{"id":1,"full_name":"a/b"},)"
    R"("sender":{"login":"alice","type":"User"},"installation":{"id":5}})";

struct Case {
  const char* name;
  std::string content_type, event, guid, signature, body;
  Outcome expected;
};

TEST(DecideWebhook, OutcomesTable) {
  webhook::SignatureVerifier verifier({kSecret});
  auto sign = [](const std::string& body) { return webhook::SignBody(kSecret, body); };
  std::string form = "payload=" + std::string("%7B%22zen%22%3A%22z%22%7D");
  std::vector<Case> cases = {
      {"accepted", "application/json", "issues", "g1", sign(kLabeled), kLabeled,
       Outcome::kAccepted},
      {"no signature", "application/json", "issues", "g1", "", kLabeled, Outcome::kBadSignature},
      {"wrong secret", "application/json", "issues", "g1", webhook::SignBody("other", kLabeled),
       kLabeled, Outcome::kBadSignature},
      {"no event", "application/json", "", "g1", sign(kLabeled), kLabeled, Outcome::kBadRequest},
      {"no guid", "application/json", "issues", "", sign(kLabeled), kLabeled, Outcome::kBadRequest},
      {"bad json", "application/json", "issues", "g1", sign("{oops"), "{oops",
       Outcome::kBadRequest},
      {"text/plain", "text/plain", "issues", "g1", sign(kLabeled), kLabeled,
       Outcome::kUnsupportedMedia},
      {"form ping", "application/x-www-form-urlencoded", "ping", "g2", sign(form), form,
       Outcome::kPing},
      {"ignored", "application/json", "star", "g3", sign("{\"action\":\"created\"}"),
       "{\"action\":\"created\"}", Outcome::kIgnored},
      {"control chars in guid", "application/json", "issues", "g\x01", sign(kLabeled), kLabeled,
       Outcome::kBadRequest},
  };
  for (const Case& c : cases) {
    WebhookRequest req{c.content_type, c.event, c.guid, c.signature, c.body, 0};
    WebhookDecision d = DecideWebhook(req, verifier, 1000, false);
    EXPECT_EQ(d.outcome, c.expected) << c.name << ": " << d.reason;
    EXPECT_EQ(d.record.has_value(), c.expected == Outcome::kAccepted) << c.name;
  }
}

TEST(DecideWebhook, RecordCarriesWhatProcessingNeeds) {
  webhook::SignatureVerifier verifier({kSecret});
  std::string body = kLabeled;
  std::string signature = webhook::SignBody(kSecret, body);
  WebhookRequest req{"application/json", "issues", "guid-1", signature, body, 0};
  WebhookDecision d = DecideWebhook(req, verifier, 1234, true);
  ASSERT_TRUE(d.record) << d.reason;
  EXPECT_EQ(d.record->guid, "guid-1");
  EXPECT_EQ(d.record->action, "labeled");
  EXPECT_EQ(d.record->repository, "a/b");
  EXPECT_EQ(d.record->sender, "alice");
  EXPECT_EQ(d.record->installation_id, 5);
  EXPECT_EQ(d.record->received_at_ms, 1234);
  EXPECT_EQ(d.record->body, body);
  EXPECT_NE(d.record->digest.find("gpu:required"), std::string::npos);
}

TEST(StatusFor, EveryOutcomeHasACode) {
  EXPECT_EQ(StatusFor(Outcome::kAccepted), 202u);
  EXPECT_EQ(StatusFor(Outcome::kDuplicate), 200u);
  EXPECT_EQ(StatusFor(Outcome::kBadSignature), 401u);
  EXPECT_EQ(StatusFor(Outcome::kTooLarge), 413u);
  EXPECT_EQ(StatusFor(Outcome::kUnsupportedMedia), 415u);
  EXPECT_EQ(StatusFor(Outcome::kHeaderTooLarge), 431u);
  EXPECT_EQ(StatusFor(Outcome::kForbidden), 403u);
  EXPECT_EQ(StatusFor(Outcome::kSeeOther), 303u);
  for (int o = 0; o < static_cast<int>(Outcome::kCount); ++o) {
    EXPECT_NE(StatusFor(static_cast<Outcome>(o)), 500u);
  }
}

}  // namespace
}  // namespace labelrun::server
