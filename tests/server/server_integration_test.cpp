// The real labelrun binary on loopback: signed deliveries in, statuses and
// durable state out.

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "labelrun/report/job_page.hpp"
#include "labelrun/report/link_signing.hpp"
#include "labelrun/store/jobs.hpp"
#include "labelrun/store/sqlite.hpp"
#include "labelrun/webhook/signature.hpp"
#include "support/fake_github.hpp"
#include "support/labelrun_process.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

std::string InboxState(const std::filesystem::path& db, const std::string& guid) {
  Result<store::Database> d = store::Database::Open(db);
  if (!d) return "error: " + d.error().message();
  Result<store::Statement> st = d->Prepare("SELECT state FROM inbox WHERE guid = ?1");
  st->Bind(1, guid);
  Result<bool> row = st->Step();
  return row && *row ? st->ColumnText(0) : "absent";
}

constexpr const char* kLabeled =
    R"({"action":"labeled","label":{"name":"gpu:required"},"issue":{"number":7,"state":"open",)"
    R"("title":"t","body":null,"labels":[{"name":"task:training"},{"name":"gpu:required"}]},)"
    R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"alice","type":"User"},)"
    R"("installation":{"id":5}})";

// LABELS.md and one rule: task:training + gpu:required dispatches train-on-gpu.
std::string TrainingRuleYaml() {
  return "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
         "/LABELS.md\n"
         "rules:\n"
         "  - name: train-on-gpu\n"
         "    when: {all: [task:training, gpu:required]}\n"
         "    job: {image: \"pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime\", "
         "command: [python, train.py], gpus: 1}\n";
}

class ServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<LabelrunProcess> Start(LabelrunProcess::Options options = {}) {
    auto p = std::make_unique<LabelrunProcess>(dir_, std::move(options));
    EXPECT_TRUE(p->WaitReady()) << p->Log();
    return p;
  }
  TempDir dir_;
};

TEST_F(ServerTest, AcceptsEveryOctokitExamplePayload) {
  std::vector<ExamplePayload> examples = LoadWebhookExamples();
  ASSERT_GT(examples.size(), 300u);
  LabelrunProcess::Options options;
  options.threads = 2;  // sessions on strands
  auto server = Start(options);
  size_t stored = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    const ExamplePayload& ex = examples[i];
    HttpResponse r = server->Deliver(ex.event, "example-" + std::to_string(i), ex.json);
    EXPECT_TRUE(r.status == 200 || r.status == 202)
        << ex.event << "." << ex.action << " got " << r.status << ": " << r.body << r.error;
    stored += r.status == 202 ? 1 : 0;
  }
  // Exactly the events labelrun acts on were stored, and all are processed.
  size_t actionable = 0;
  for (const ExamplePayload& ex : examples) {
    const std::string& e = ex.event;
    const std::string& a = ex.action;
    actionable += (e == "issues" &&
                   (a == "labeled" || a == "unlabeled" || a == "closed" || a == "reopened")) ||
                  (e == "issue_comment" && a == "created") ||
                  (e == "pull_request" &&
                   (a == "labeled" || a == "unlabeled" || a == "closed" || a == "synchronize")) ||
                  (e == "check_run" && (a == "rerequested" || a == "requested_action")) ||
                  e == "installation" || e == "installation_repositories";
  }
  EXPECT_EQ(stored, actionable);
  EXPECT_TRUE(WaitUntil([&] { return server->CountInLog("processed delivery example-") == stored; },
                        std::chrono::seconds(20)))
      << server->CountInLog("processed delivery example-") << " of " << stored;
  // The depth drops once the processor has recorded its batch, just after the log line.
  HttpResponse metrics;
  EXPECT_TRUE(WaitUntil(
      [&] {
        metrics = HttpRequest("GET", server->Url("/metrics"), {}, "");
        return metrics.body.find("labelrun_inbox_depth 0\n") != std::string::npos;
      },
      std::chrono::seconds(5)))
      << metrics.body;
  EXPECT_THAT(metrics.body, HasSubstr("labelrun_inbox_process_failures_total 0\n"));
}

TEST_F(ServerTest, BadInputGetsItsStatusAndNever5xx) {
  LabelrunProcess::Options options;
  options.max_body = "64KiB";
  auto server = Start(options);
  const std::string url = server->Url("/webhook");
  const std::string sig = "X-Hub-Signature-256: " + webhook::SignBody(kTestSecret, kLabeled);
  auto post = [&](std::vector<std::string> headers, const std::string& body) {
    headers.push_back("Expect:");
    return HttpRequest("POST", url, headers, body).status;
  };
  EXPECT_EQ(
      post({"Content-Type: application/json", "X-GitHub-Event: issues", "X-GitHub-Delivery: b1"},
           kLabeled),
      401);
  EXPECT_EQ(
      post({"Content-Type: application/json", "X-GitHub-Event: issues", "X-GitHub-Delivery: b2",
            "X-Hub-Signature-256: " + webhook::SignBody("wrong", kLabeled)},
           kLabeled),
      401);
  EXPECT_EQ(post({"Content-Type: application/json", "X-GitHub-Delivery: b3", sig}, kLabeled), 400);
  EXPECT_EQ(post({"Content-Type: application/json", "X-GitHub-Event: issues", sig}, kLabeled), 400);
  EXPECT_EQ(server->Deliver("issues", "b4", "{\"action\": \"labeled\"").status, 400);
  EXPECT_EQ(server->Deliver("issues", "b5", kLabeled, kTestSecret, "text/plain").status, 415);
  EXPECT_EQ(HttpRequest("GET", url, {}, "").status, 405);
  EXPECT_EQ(HttpRequest("PUT", url, {}, "x").status, 405);
  EXPECT_EQ(HttpRequest("GET", server->Url("/nope"), {}, "").status, 404);
  EXPECT_EQ(HttpRequest("POST", server->Url("/healthz"), {}, "x").status, 405);

  // Over the body limit: answered from the headers, without reading the body.
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  std::string reply = RawExchange(server->port(),
                                  "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                  "application/json\r\nContent-Length: 100000000\r\n\r\n{",
                                  std::chrono::seconds(5), &closed);
  EXPECT_THAT(reply, HasSubstr("HTTP/1.1 413"));
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  // Chunked bodies are cut off at the limit too.
  std::string chunk(40 * 1024, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  std::string chunked =
      "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += size_line + chunk + "\r\n";
  EXPECT_THAT(RawExchange(server->port(), chunked, std::chrono::seconds(5)),
              HasSubstr("HTTP/1.1 413"));
  // Header size is bounded.
  std::string huge_header =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  EXPECT_THAT(RawExchange(server->port(), huge_header, std::chrono::seconds(5)),
              HasSubstr("HTTP/1.1 431"));
  // Not HTTP at all.
  EXPECT_THAT(RawExchange(server->port(), "\x16\x03\x01garbage\r\n\r\n", std::chrono::seconds(2)),
              ::testing::Not(HasSubstr("HTTP/1.1 5")));

  EXPECT_EQ(HttpRequest("GET", server->Url("/healthz"), {}, "").status, 200);
  EXPECT_EQ(HttpRequest("GET", server->Url("/readyz"), {}, "").status, 200);
  EXPECT_EQ(server->Deliver("issues", "good", kLabeled).status, 202);
  // A client that waits for 100 Continue gets it (and its 413 without sending the body).
  std::string expect_head =
      "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "X-GitHub-Event: issues\r\nX-GitHub-Delivery: expect-1\r\n" +
      sig + "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(strlen(kLabeled)) +
      "\r\n\r\n";
  RawConnection expect(server->port());
  ASSERT_TRUE(expect.Send(expect_head));
  EXPECT_THAT(expect.ReadAll(std::chrono::milliseconds(500)), HasSubstr("HTTP/1.1 100 Continue"));
  ASSERT_TRUE(expect.Send(kLabeled));
  EXPECT_THAT(expect.ReadAll(std::chrono::seconds(2)), HasSubstr("HTTP/1.1 202"));
  std::string log = server->Log();
  EXPECT_THAT(log, ::testing::Not(HasSubstr("status=5")));
  EXPECT_THAT(log, ::testing::Not(HasSubstr(kTestSecret)));
  EXPECT_THAT(log, ::testing::Not(HasSubstr(webhook::SignBody(kTestSecret, kLabeled).substr(7))));
  HttpResponse metrics = HttpRequest("GET", server->Url("/metrics"), {}, "");
  EXPECT_THAT(metrics.body, HasSubstr("labelrun_webhook_signature_failures_total 2\n"));
}

TEST_F(ServerTest, SlowClientsAreCutOff) {
  LabelrunProcess::Options options;
  options.read_timeout = "1s";
  options.idle_timeout = "1s";
  auto server = Start(options);
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  RawExchange(server->port(), "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Le",
              std::chrono::seconds(8), &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  // A body that never arrives in full.
  start = std::chrono::steady_clock::now();
  RawExchange(server->port(),
              "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":",
              std::chrono::seconds(8), &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(HttpRequest("GET", server->Url("/healthz"), {}, "").status, 200);
}

TEST_F(ServerTest, RedeliveredGuidIsProcessedOnce) {
  auto server = Start();
  EXPECT_EQ(server->Deliver("issues", "redelivered-1", kLabeled).status, 202);
  HttpResponse again = server->Deliver("issues", "redelivered-1", kLabeled);
  EXPECT_EQ(again.status, 200);
  EXPECT_THAT(again.body, HasSubstr("already received"));
  EXPECT_TRUE(WaitUntil([&] { return server->CountInLog("processed delivery redelivered-1 ") > 0; },
                        std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(server->CountInLog("processed delivery redelivered-1 "), 1u);
  EXPECT_EQ(InboxState(server->db_path(), "redelivered-1"), "done");
}

TEST_F(ServerTest, StoredDeliveriesAreDecidedByTheRules) {
  LabelrunProcess::Options options;
  options.extra_yaml = TrainingRuleYaml();
  auto server = Start(options);
  ASSERT_EQ(server->Deliver("issues", "decide-1", kLabeled).status, 202);
  EXPECT_TRUE(WaitUntil(
      [&] {
        return server->Log().find(
                   "processed delivery decide-1 event=issues action=labeled "
                   "repo=acme/vision decision=dispatch rule=train-on-gpu") != std::string::npos;
      },
      std::chrono::seconds(5)))
      << server->Log();
  // A rules file that no longer loads is refused on reload; the running rules stay.
  options.extra_yaml = "rules: [{name: broken}]\n";
  server->Rewrite(options);
  server->process().Signal(SIGHUP);
  EXPECT_TRUE(
      WaitUntil([&] { return server->Log().find("reload: rules invalid") != std::string::npos; },
                std::chrono::seconds(5)))
      << server->Log();
}

TEST_F(ServerTest, SendersAreCheckedAndRefusalsExplainedOncePerIssue) {
  FakeGithub::Options github_options;
  github_options.static_token = "ghp_labelrun_test_token";
  FakeGithub github(github_options, SystemClock::Instance());
  github.SetPermission("acme/vision", "alice", "triage");
  github.SetPermission("acme/vision", "bob", "write");
  dir_.Write("github-token", "ghp_labelrun_test_token\n");
  LabelrunProcess::Options options;
  options.extra_yaml = TrainingRuleYaml() + "github:\n  api_url: " + github.url() +
                       "\n  token_file: " + (dir_ / "github-token").string() + "\n";
  auto server = Start(options);
  auto comments = [&] { return github.Comments("acme/vision", 7); };

  // alice has triage: refused, with one comment saying why.
  ASSERT_EQ(server->Deliver("issues", "perm-1", kLabeled).status, 202);
  ASSERT_TRUE(WaitUntil([&] { return comments().size() == 1; }, std::chrono::seconds(10)))
      << server->Log();
  EXPECT_THAT(comments()[0].body, HasSubstr("deny"));
  EXPECT_THAT(comments()[0].body, HasSubstr("train-on-gpu"));
  EXPECT_THAT(comments()[0].body, HasSubstr("<!-- labelrun:job="));
  EXPECT_THAT(server->Log(), HasSubstr("processed delivery perm-1 event=issues action=labeled "
                                       "repo=acme/vision decision=deny rule=train-on-gpu"));
  // The same refusal again edits that comment instead of adding one.
  ASSERT_EQ(server->Deliver("issues", "perm-2", kLabeled).status, 202);
  ASSERT_TRUE(WaitUntil([&] { return server->CountInLog("processed delivery perm-2 ") == 1; },
                        std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // past the outbox pacing
  EXPECT_EQ(comments().size(), 1u);

  // bob has write: the rule dispatches, with no refusal. The loopback GitHub
  // serves no acme/vision repository (404), so the issue is told that the job
  // could not start: a second comment, not silence.
  std::string from_bob = std::regex_replace(std::string(kLabeled), std::regex("alice"), "bob");
  ASSERT_EQ(server->Deliver("issues", "perm-3", from_bob).status, 202);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return server->Log().find(
                   "processed delivery perm-3 event=issues action=labeled "
                   "repo=acme/vision decision=dispatch rule=train-on-gpu") != std::string::npos;
      },
      std::chrono::seconds(5)))
      << server->Log();
  ASSERT_TRUE(WaitUntil([&] { return comments().size() == 2; }, std::chrono::seconds(10)))
      << server->Log();
  EXPECT_THAT(comments()[1].body, HasSubstr("did not start rule `train-on-gpu`"));
  EXPECT_THAT(comments()[1].body, HasSubstr("HTTP 404"));

  // Bots, labelrun's own App among them, never start anything.
  std::string from_bot =
      std::regex_replace(std::string(kLabeled), std::regex(R"("login":"alice","type":"User")"),
                         R"("login":"labelrun[bot]","type":"Bot")");
  ASSERT_EQ(server->Deliver("issues", "perm-4", from_bot).status, 202);
  EXPECT_TRUE(WaitUntil(
      [&] {
        return server->Log().find(
                   "perm-4 event=issues action=labeled repo=acme/vision ignored: sent by "
                   "labelrun[bot]") != std::string::npos;
      },
      std::chrono::seconds(5)))
      << server->Log();
  EXPECT_EQ(comments().size(), 2u);
  EXPECT_THAT(server->Log(), ::testing::Not(HasSubstr("ghp_labelrun_test_token")));
  // The status:failed label follows the second comment at the paced rate.
  HttpResponse metrics;
  EXPECT_TRUE(WaitUntil(
      [&] {
        metrics = HttpRequest("GET", server->Url("/metrics"), {}, "");
        return metrics.body.find("labelrun_github_outbox_depth 0\n") != std::string::npos;
      },
      std::chrono::seconds(10)))
      << metrics.body;
  // The refusal (perhaps edited once), the second comment and its label.
  EXPECT_THAT(metrics.body, ::testing::ContainsRegex("labelrun_github_writes_sent_total [34]\n"));
}

TEST_F(ServerTest, DeliveryAcknowledgedBeforeSigkillIsProcessedAfterRestart) {
  LabelrunProcess::Options options;
  options.paused = true;  // hold processing so the kill lands before it
  auto server = Start(options);
  ASSERT_EQ(server->Deliver("issues", "durable-1", kLabeled).status, 202);
  server->process().Signal(SIGKILL);
  ASSERT_EQ(server->process().Wait(std::chrono::seconds(5)), 128 + SIGKILL);
  EXPECT_EQ(InboxState(server->db_path(), "durable-1"), "pending");
  EXPECT_EQ(server->CountInLog("processed delivery durable-1 "), 0u);

  options.paused = false;
  server->Rewrite(options);
  server->Restart();
  ASSERT_TRUE(server->WaitReady()) << server->Log();
  EXPECT_TRUE(WaitUntil([&] { return InboxState(server->db_path(), "durable-1") == "done"; },
                        std::chrono::seconds(10)));
  EXPECT_EQ(server->CountInLog("processed delivery durable-1 "), 1u);
  // A redelivery after the restart is still recognised.
  EXPECT_EQ(server->Deliver("issues", "durable-1", kLabeled).status, 200);
}

TEST_F(ServerTest, SighupRotatesSecretsAndSigtermExitsCleanly) {
  LabelrunProcess::Options options;
  options.secrets = {"first-secret"};
  auto server = Start(options);
  EXPECT_EQ(server->Deliver("issues", "rot-1", kLabeled, "first-secret").status, 202);
  options.secrets = {"second-secret", "third-secret"};
  server->Rewrite(options);
  server->process().Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] { return server->Log().find("reload: 2 webhook secret(s)") != std::string::npos; },
      std::chrono::seconds(5)))
      << server->Log();
  EXPECT_EQ(server->Deliver("issues", "rot-2", kLabeled, "first-secret").status, 401);
  EXPECT_EQ(server->Deliver("issues", "rot-3", kLabeled, "second-secret").status, 202);
  EXPECT_EQ(server->Deliver("issues", "rot-4", kLabeled, "third-secret").status, 202);
  // A broken config on reload keeps the running secrets.
  LabelrunProcess::Options broken = options;
  broken.secrets.clear();
  server->Rewrite(broken);
  server->process().Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] { return server->Log().find("keeping the current secrets") != std::string::npos; },
      std::chrono::seconds(5)))
      << server->Log();
  EXPECT_EQ(server->Deliver("issues", "rot-5", kLabeled, "second-secret").status, 202);

  server->process().Signal(SIGTERM);
  EXPECT_EQ(server->process().Wait(std::chrono::seconds(10)), 0);
  EXPECT_THAT(server->Log(), HasSubstr("stopped"));
}

TEST_F(ServerTest, SigtermLetsRequestsInFlightFinish) {
  auto server = Start();
  std::string body = kLabeled;
  std::string head =
      "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "X-GitHub-Event: issues\r\nX-GitHub-Delivery: inflight-1\r\n"
      "X-Hub-Signature-256: " +
      webhook::SignBody(kTestSecret, body) + "\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n";
  RawConnection in_flight(server->port());
  RawConnection idle(server->port());  // connected, never sends: closed at shutdown
  ASSERT_TRUE(in_flight.connected() && idle.connected());
  ASSERT_TRUE(in_flight.Send(head + body.substr(0, 10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server->process().Signal(SIGTERM);
  ASSERT_TRUE(WaitUntil([&] { return server->Log().find("SIGTERM") != std::string::npos; },
                        std::chrono::seconds(5)));
  // New connections are refused once shutdown has begun.
  EXPECT_EQ(HttpRequest("GET", server->Url("/healthz"), {}, "").status, 0);
  ASSERT_TRUE(in_flight.Send(body.substr(10)));
  EXPECT_THAT(in_flight.ReadAll(std::chrono::seconds(5)), HasSubstr("HTTP/1.1 202"));
  bool idle_closed = false;
  idle.ReadAll(std::chrono::seconds(5), &idle_closed);
  EXPECT_TRUE(idle_closed);
  EXPECT_EQ(server->process().Wait(std::chrono::seconds(10)), 0);
  EXPECT_NE(InboxState(server->db_path(), "inflight-1"), "absent");
}

TEST_F(ServerTest, HttpsWithTls12OrNewerOnly) {
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
  auto server = Start(options);
  const std::vector<std::string> headers = {
      "Content-Type: application/json", "X-GitHub-Event: issues", "X-GitHub-Delivery: tls-1",
      "X-Hub-Signature-256: " + webhook::SignBody(kTestSecret, kLabeled)};
  HttpOptions trust;
  trust.ca_file = options.tls_cert;
  HttpResponse ok = HttpRequest("POST", server->Url("/webhook"), headers, kLabeled, trust);
  EXPECT_EQ(ok.status, 202) << ok.error;
  HttpOptions old = trust;
  old.tls_min = CURL_SSLVERSION_TLSv1_0;
  old.tls_max = CURL_SSLVERSION_MAX_TLSv1_1;
  // Without this the client's own security level would refuse TLS 1.1 and the
  // test would pass whatever the server allows.
  old.ciphers = "DEFAULT@SECLEVEL=0";
  HttpResponse refused = HttpRequest("GET", server->Url("/healthz"), {}, "", old);
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.error.empty());
  // The same client settings with TLS 1.2 allowed do connect.
  HttpOptions modern = old;
  modern.tls_max = CURL_SSLVERSION_MAX_TLSv1_2;
  EXPECT_EQ(HttpRequest("GET", server->Url("/healthz"), {}, "", modern).status, 200);
  // Plain HTTP on the TLS port gets no HTTP answer.
  std::string plain = server->Url("/healthz").replace(0, 5, "http");
  EXPECT_NE(HttpRequest("GET", plain, {}, "").status, 200);
}

// A job in the store of a running labelrun, with a loss curve in its log, as the
// dispatcher leaves one.
void AddJob(const LabelrunProcess& server, const std::string& id, JobState state) {
  auto jobs = store::JobStore::Open(server.db_path());
  ASSERT_TRUE(jobs) << jobs.error().message();
  store::JobRecord job;
  job.id = id;
  job.repository = "acme/vision";
  job.issue = 7;
  job.spec.rule = "train";
  job.spec.image = "busybox:1";
  job.spec.metrics = {"loss"};
  ASSERT_TRUE((*jobs)->Insert(job, 1'700'000'000'000));
  job.state = state;
  job.started_ms = 1'700'000'000'500;
  if (IsFinal(state)) {
    job.exit_code = 0;
    job.finished_ms = 1'700'000'001'000;
  }
  ASSERT_TRUE((*jobs)->Update(job, 1'700'000'001'000, "test"));
  const std::filesystem::path dir = server.db_path().parent_path() / "jobs" / id;
  std::filesystem::create_directories(dir);
  std::ofstream log(dir / "log");
  for (int step = 1; step <= 5; ++step) {
    log << "170000000000" << step << " o step=" << step << " loss=0." << 10 - step << "\n";
  }
}

// The value of header `name` in a raw header block ("" when absent).
std::string HeaderValue(const std::string& headers, const std::string& name) {
  std::smatch m;
  const std::regex line("(?:^|\r\n)" + name + ": ([^\r\n]*)", std::regex::icase);
  return std::regex_search(headers, m, line) ? m[1].str() : "";
}

TEST_F(ServerTest, EveryAnswerCarriesTheSecurityHeaders) {
  constexpr char kDashboard[] = "dashboard-token-0123456789";
  std::ofstream(dir_.path() / "dashboard-token") << kDashboard << "\n";
  LabelrunProcess::Options options;
  options.extra_yaml =
      "dashboard: {token_file: " + (dir_.path() / "dashboard-token").string() + "}\n";
  auto server = Start(options);
  // A finished job with a loss curve in its log, as the dispatcher leaves one.
  const std::string id = "j0123456789";
  AddJob(*server, id, JobState::kSucceeded);
  const std::string auth = std::string("Authorization: Bearer ") + kDashboard;
  const std::string strict = "default-src 'none'; frame-ancestors 'none'";
  struct Case {
    std::string method, path;
    bool token;
    long status;
    std::string type, policy;
  };
  const std::vector<Case> cases = {
      {"GET", "/healthz", false, 200, "text/plain", strict},
      {"GET", "/metrics", false, 200, "text/plain", strict},
      {"GET", "/nothing-here", false, 404, "text/plain", strict},
      {"POST", "/webhook", false, 0, "text/plain", strict},  // refused, however
      {"GET", "/webhook", false, 405, "text/plain", strict},
      {"GET", "/api/jobs", false, 401, "application/json", strict},
      {"GET", "/jobs", false, 401, "text/plain", strict},
      {"GET", "/jobs", true, 200, "text/html", report::PageContentSecurityPolicy()},
      {"GET", "/jobs/" + id, true, 200, "text/html", report::PageContentSecurityPolicy()},
      {"GET", "/jobs/" + id + "/loss.svg", true, 200, "image/svg+xml", strict},
      {"GET", "/jobs/" + id + "/log", true, 200, "text/plain", strict},
      {"GET", "/jobs/%2e%2e/log", true, 400, "text/plain", strict},
  };
  for (const Case& c : cases) {
    std::vector<std::string> headers = {"Expect:"};
    if (c.token) headers.push_back(auth);
    HttpResponse r = HttpRequest(c.method, server->Url(c.path), headers, "");
    SCOPED_TRACE(c.method + " " + c.path + "\n" + r.headers);
    if (c.status != 0) {
      EXPECT_EQ(r.status, c.status) << r.body;
    }
    EXPECT_GE(r.status, 200) << r.error;
    EXPECT_THAT(HeaderValue(r.headers, "Content-Type"), HasSubstr(c.type));
    EXPECT_EQ(HeaderValue(r.headers, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(HeaderValue(r.headers, "X-Frame-Options"), "DENY");
    EXPECT_EQ(HeaderValue(r.headers, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(HeaderValue(r.headers, "Content-Security-Policy"), c.policy);
    EXPECT_THAT(c.policy, HasSubstr("frame-ancestors 'none'"));
  }
}

// A running job's page, opened by a browser through a signed link: the page's own
// style, chart and refresh script (a file of the same origin) are all allowed by its
// policy.
TEST_F(ServerTest, AJobPageRunsInABrowserUnderItsPolicy) {
  auto server = Start();
  const std::string id = "j00000000cc";
  AddJob(*server, id, JobState::kRunning);
  std::ifstream key_file(dir_.path() / "state" / "link-key");
  std::string key;
  ASSERT_TRUE(std::getline(key_file, key));
  const std::string url = server->Url(report::SignLink("/jobs/" + id, 4'000'000'000, key));
  ASSERT_EQ(HttpRequest("GET", url, {}, "").status, 200);
  std::string dom;
  ASSERT_EQ(
      RunCommand({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                  "--enable-logging=stderr", "--v=0",
                  "--user-data-dir=" + (dir_.path() / "chromium").string(), "--dump-dom", url},
                 &dom),
      0)
      << dom;
  EXPECT_THAT(dom, HasSubstr("data-live=\"/jobs/" + id + "/live.json?exp=4000000000&amp;sig="));
  EXPECT_THAT(dom, HasSubstr("<script src=\"/assets/labelrun.js\"></script>"));
  EXPECT_THAT(dom, HasSubstr("<circle"));
  EXPECT_THAT(dom, Not(HasSubstr("Refused to"))) << dom;  // a CSP violation
  EXPECT_THAT(dom, Not(HasSubstr("Content Security Policy"))) << dom;
}

TEST_F(ServerTest, RefusesToStartWithoutSecretOrWithUnreadableKey) {
  unsetenv("LABELRUN_WEBHOOK_SECRET");
  unsetenv("CREDENTIALS_DIRECTORY");
  LabelrunProcess::Options no_secrets;
  no_secrets.secrets.clear();
  LabelrunProcess no_secret(dir_, no_secrets);
  EXPECT_FALSE(no_secret.WaitReady());
  EXPECT_EQ(no_secret.process().Wait(std::chrono::seconds(5)), 1);
  EXPECT_THAT(no_secret.Log(), HasSubstr("no webhook secret"));

  TempDir other;
  other.Write("cert.pem", "not a certificate");
  LabelrunProcess::Options tls;
  tls.tls_cert = (other / "cert.pem").string();
  tls.tls_key = (other / "missing-key.pem").string();
  LabelrunProcess bad_tls(other, tls);
  EXPECT_FALSE(bad_tls.WaitReady());
  EXPECT_EQ(bad_tls.process().Wait(std::chrono::seconds(5)), 1);
  EXPECT_THAT(bad_tls.Log(), HasSubstr("server.tls.cert_file"));
}

TEST(Cli, UsageErrorsExitTwo) {
  std::string out;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "frobnicate"}, &out), 2);
  EXPECT_THAT(out, HasSubstr("Usage"));
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "serve", "--dev", "--bogus"}, &out), 2);
  EXPECT_EQ(RunCommand({LABELRUN_BINARY}, &out), 2);
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "serve"}, &out), 2);
  EXPECT_THAT(out, HasSubstr("--config FILE or --dev"));
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "version"}, &out), 0);
  EXPECT_THAT(out, ::testing::StartsWith("labelrun "));
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "--help"}, &out), 0);
}

TEST(Cli, CheckConfigPrintsEveryProblemWithItsKeyPath) {
  TempDir dir;
  dir.Write("secret", "s\n");
  auto bad = dir.Write("bad.yaml", "server:\n  listen: 127.0.0.1:99999\n  treads: 2\n");
  std::string out;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "check-config", "--config", bad.string()}, &out,
                       {{"LABELRUN_WEBHOOK_SECRET", ""}}),
            1);
  EXPECT_THAT(out, HasSubstr("server.listen: port 99999 out of range"));
  EXPECT_THAT(out, HasSubstr("server.treads: unknown key (did you mean server.threads?)"));
  auto good =
      dir.Write("good.yaml", "webhook:\n  secrets: [{file: " + (dir / "secret").string() + "}]\n");
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "check-config", "--config", good.string()}, &out), 0)
      << out;
  // What serve reads at start is checked too: the Docker hosts' TLS files and the
  // API and dashboard tokens.
  auto hosts = dir.Write(
      "hosts.yaml", "webhook:\n  secrets: [{file: " + (dir / "secret").string() +
                        "}]\nhosts:\n  - name: local\n    docker: unix:///var/run/docker.sock\n"
                        "  - name: far\n    docker: tcp://far.internal:2376\n    tls: {ca_file: " +
                        (dir / "ca.pem").string() + ", cert_file: " + (dir / "secret").string() +
                        ", key_file: " + (dir / "secret").string() +
                        "}\napi: {token_file: " + (dir / "no-token").string() + "}\n");
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "check-config", "--config", hosts.string()}, &out), 1);
  EXPECT_THAT(out, HasSubstr("hosts[1]: docker endpoint tcp://far.internal:2376 needs TLS client "
                             "certificates (ca_file, cert_file, key_file): ca_file cannot read"));
  EXPECT_THAT(out, HasSubstr("api.token_file: "));
  EXPECT_THAT(out, Not(HasSubstr("hosts[0]")));

  // The example config is valid; its only problems on a machine without its
  // files are those files: the remote host's TLS certificates.
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "check-config", "--config",
                        (LABELRUN_SOURCE_DIR + std::string("/config/labelrun.example.yaml"))},
                       &out, {{"LABELRUN_WEBHOOK_SECRET", "example"}}),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr("5 rule(s), 17 label(s) in the dictionary"));
  EXPECT_THAT(out, HasSubstr("hosts[1]: docker endpoint tcp://cpu-1.internal:2376 needs TLS"));
  EXPECT_THAT(out, HasSubstr("labelrun.example.yaml: 1 problem\n"));
}

}  // namespace
}  // namespace labelrun::testing
