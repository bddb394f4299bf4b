// `labelrun deliver` against the real server on loopback: signed like GitHub
// signs, answered like GitHub's deliveries are, and the secret never shown.
#include "labelrun/app/deliver.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kLabeled[] =
    R"({"action":"labeled","label":{"name":"task:training"},"issue":{"number":4,)"
    R"("state":"open","title":"t","body":null,"labels":[{"name":"task:training"}]},)"
    R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"alice","type":"User"}})";

// Webhook requests the server has seen, by its own histogram's count.
long WebhookRequests(LabelrunProcess& server) {
  HttpResponse r = HttpRequest("GET", server.Url("/metrics"), {}, "");
  std::smatch m;
  if (!std::regex_search(r.body, m,
                         std::regex(R"(labelrun_webhook_request_duration_seconds_count (\d+))"))) {
    return -1;
  }
  return std::stol(m[1].str());
}

bool WaitUntil(const std::function<bool()>& cond) {
  for (int i = 0; i < 100; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return cond();
}

class DeliverTest : public ::testing::Test {
 protected:
  int Deliver(std::vector<std::string> extra, std::string* output) {
    std::vector<std::string> argv = {LABELRUN_BINARY, "deliver", "--event", "issues"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, output);
  }
  TempDir dir_;
};

TEST_F(DeliverTest, FreshGuidIsAcceptedAndTheSameGuidAgainIsADuplicate) {
  LabelrunProcess server(dir_, {});
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  const std::string secret = dir_.Write("hook-secret", std::string(kTestSecret) + "\n").string();
  const std::string payload = dir_.Write("labeled.json", kLabeled).string();
  const std::vector<std::string> args = {
      "--url", server.Url("/webhook"), "--secret-file", secret, "--payload",
      payload, "--delivery",           "deliver-test-1"};
  std::string out;
  EXPECT_EQ(Deliver(args, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("HTTP 202"));
  EXPECT_THAT(out, HasSubstr("deliver-test-1"));
  // Stored and processed as the event it was sent as.
  EXPECT_TRUE(WaitUntil([&] {
    return server.CountInLog("processed delivery deliver-test-1 event=issues action=labeled") == 1;
  })) << server.Log();

  EXPECT_EQ(Deliver(args, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("HTTP 200"));
  EXPECT_THAT(out, Not(HasSubstr(kTestSecret)));
}

TEST_F(DeliverTest, WithoutDeliveryAFreshUuidEachTime) {
  LabelrunProcess server(dir_, {});
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  const std::string secret = dir_.Write("hook-secret", kTestSecret).string();
  const std::string payload = dir_.Write("labeled.json", kLabeled).string();
  std::string first, second;
  ASSERT_EQ(
      Deliver({"--url", server.Url("/webhook"), "--secret-file", secret, "--payload", payload},
              &first),
      0)
      << first;
  ASSERT_EQ(
      Deliver({"--url", server.Url("/webhook"), "--secret-file", secret, "--payload", payload},
              &second),
      0)
      << second;
  // Both stored (a repeated GUID would be answered 200), under two UUIDs.
  EXPECT_THAT(first, HasSubstr("HTTP 202"));
  EXPECT_THAT(second, HasSubstr("HTTP 202"));
  static const std::regex kGuid("delivery ([0-9a-f-]{36}) ");
  std::smatch a, b;
  ASSERT_TRUE(std::regex_search(first, a, kGuid)) << first;
  ASSERT_TRUE(std::regex_search(second, b, kGuid)) << second;
  EXPECT_NE(a[1].str(), b[1].str());
}

TEST_F(DeliverTest, WrongSecretIs401AndExit1WithoutShowingTheSecret) {
  LabelrunProcess server(dir_, {});
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  const std::string wrong = "not-the-secret-but-still-private";
  const std::string secret = dir_.Write("wrong-secret", wrong + "\n").string();
  const std::string payload = dir_.Write("labeled.json", kLabeled).string();
  std::string out;
  EXPECT_EQ(Deliver({"--url", server.Url("/webhook"), "--secret-file", secret, "--payload", payload,
                     "--delivery", "deliver-wrong-1"},
                    &out),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr("HTTP 401"));
  EXPECT_THAT(out, Not(HasSubstr(wrong)));
  EXPECT_THAT(server.Log(), Not(HasSubstr(wrong)));
}

TEST_F(DeliverTest, MissingPayloadFileIsAUsageErrorAndNothingIsSent) {
  LabelrunProcess server(dir_, {});
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  const std::string secret = dir_.Write("hook-secret", kTestSecret).string();
  const long before = WebhookRequests(server);
  ASSERT_GE(before, 0);
  std::string out;
  EXPECT_EQ(Deliver({"--url", server.Url("/webhook"), "--secret-file", secret, "--payload",
                     (dir_ / "no-such.json").string()},
                    &out),
            2)
      << out;
  EXPECT_THAT(out, HasSubstr("--payload"));
  EXPECT_THAT(out, HasSubstr("no-such.json"));
  EXPECT_EQ(WebhookRequests(server), before);
}

TEST_F(DeliverTest, NoServerIsExit1WithTheReason) {
  const std::string secret = dir_.Write("hook-secret", kTestSecret).string();
  const std::string payload = dir_.Write("labeled.json", kLabeled).string();
  std::string out;
  // Port 1 on loopback: nothing listens there.
  EXPECT_EQ(Deliver({"--url", "http://127.0.0.1:1/webhook", "--secret-file", secret, "--payload",
                     payload},
                    &out),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr("cannot deliver to http://127.0.0.1:1/webhook"));
}

// HTTPS is verified: a private CA's server is refused until --cacert trusts it.
TEST_F(DeliverTest, HttpsIsVerifiedAndCacertTrustsAPrivateCa) {
  std::string out;
  ASSERT_EQ(
      RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                  (dir_ / "key.pem").string(), "-out", (dir_ / "cert.pem").string(), "-days", "1",
                  "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                 &out),
      0)
      << out;
  LabelrunProcess::Options options;
  options.tls_cert = (dir_ / "cert.pem").string();
  options.tls_key = (dir_ / "key.pem").string();
  LabelrunProcess server(dir_, options);
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  ASSERT_EQ(server.Url("/webhook").rfind("https://", 0), 0u);
  const std::string secret = dir_.Write("hook-secret", kTestSecret).string();
  const std::string payload = dir_.Write("labeled.json", kLabeled).string();
  const std::vector<std::string> args = {
      "--url", server.Url("/webhook"), "--secret-file", secret, "--payload",
      payload, "--delivery",           "deliver-tls-1"};
  EXPECT_EQ(Deliver(args, &out), 1) << out;
  EXPECT_THAT(out, HasSubstr("certificate"));
  std::vector<std::string> trusted = args;
  trusted.insert(trusted.end(), {"--cacert", options.tls_cert});
  EXPECT_EQ(Deliver(trusted, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("HTTP 202"));
}

TEST(RandomUuidV4, IsVersion4AndDiffersEachTime) {
  static const std::regex kUuid(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string id = app::RandomUuidV4();
    EXPECT_TRUE(std::regex_match(id, kUuid)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace labelrun::testing
