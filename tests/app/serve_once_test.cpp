// One delivery, one job, whatever crashes: the real binary is SIGKILLed again
// and again while signed deliveries stream in, restarted each time, and the
// SQLite file must hold at most one job per delivery, with every acknowledged
// delivery processed exactly once.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "labelrun/store/sqlite.hpp"
#include "labelrun/webhook/signature.hpp"
#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using namespace std::chrono_literals;

std::string Labeled(int issue) {
  return R"({"action":"labeled","label":{"name":"task:training"},"issue":{"number":)" +
         std::to_string(issue) +
         R"(,"state":"open","title":"t","body":null,"labels":[{"name":"task:training"}]},)"
         R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"alice","type":"User"}})";
}

// An integer the query returns (its first column of the first row).
int64_t QueryInt(store::Database& db, const std::string& sql) {
  Result<store::Statement> st = db.Prepare(sql);
  if (!st) {
    ADD_FAILURE() << sql << ": " << st.error().message();
    return -1;
  }
  Result<bool> row = st->Step();
  if (!row || !*row) {
    ADD_FAILURE() << sql << ": no row";
    return -1;
  }
  return st->ColumnInt(0);
}

TEST(ServeOnceTest, SigkillUnderLoadStartsAtMostOneJobPerDelivery) {
  constexpr int kDeliveries = 1200;
  constexpr int kKills = 12;
  constexpr int kSenders = 4;
  TempDir dir;
  // A secret of this run only: a sender still aiming at a port of an earlier
  // run must not be acknowledged by some other labelrun that took the port.
  const std::string secret =
      "once-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device()());
  LabelrunProcess::Options options;
  options.secrets = {secret};
  // The rule asks for a GPU that no host has, so each job is decided, stored and
  // failed at once without Docker; a replayed delivery would store a second one.
  options.extra_yaml = "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
                       "/LABELS.md\n"
                       "rules:\n"
                       "  - name: train\n"
                       "    when: {all: [task:training]}\n"
                       "    job: {image: \"labelrun-test/busybox:1\", command: [\"true\"], "
                       "gpus: 1}\n"
                       "hosts:\n"
                       "  - {name: cpu-only, docker: \"unix:///nonexistent/docker.sock\"}\n";
  LabelrunProcess server(dir, options);
  ASSERT_TRUE(server.WaitReady()) << server.Log();

  std::atomic<uint16_t> port{server.port()};
  std::atomic<int> next{0};
  std::atomic<int> acknowledged{0};
  std::atomic<int> attempts{0};
  std::atomic<bool> quit{false};
  std::vector<std::thread> senders;
  // Stops and joins the senders however the test ends.
  auto stop_senders = [&] {
    quit = true;
    for (std::thread& t : senders) {
      if (t.joinable()) t.join();
    }
  };
  struct Joiner {
    std::function<void()> stop;
    ~Joiner() { stop(); }
  } joiner{stop_senders};
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&] {
      for (int n = next++; n < kDeliveries && !quit; n = next++) {
        const std::string guid = "once-" + std::to_string(n);
        const std::string body = Labeled(n + 1);
        const std::vector<std::string> headers = {
            "Content-Type: application/json",
            "X-GitHub-Event: issues",
            "X-GitHub-Delivery: " + guid,
            "X-Hub-Signature-256: " + webhook::SignBody(secret, body),
            "Expect:",
        };
        // Until acknowledged, as GitHub's redelivery would: the same GUID again.
        while (!quit) {
          const uint16_t p = port.load();
          if (p == 0) {
            std::this_thread::sleep_for(5ms);
            continue;
          }
          ++attempts;
          HttpOptions http;
          http.timeout_ms = 5000;
          HttpResponse r = HttpRequest("POST", "http://127.0.0.1:" + std::to_string(p) + "/webhook",
                                       headers, body, http);
          if (r.status == 202 || r.status == 200) {
            ++acknowledged;
            break;
          }
          std::this_thread::sleep_for(5ms);
        }
      }
    });
  }

  // Kill after a pseudo-random number of further acknowledgements, so that
  // each kill lands while deliveries arrive and are being processed.
  std::mt19937 random(20261204);
  std::uniform_int_distribution<int> jitter(-30, 30);
  int kills = 0;
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  for (int k = 1; k <= kKills; ++k) {
    const int target = k * kDeliveries / (kKills + 1) + jitter(random);
    while (acknowledged.load() < target && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    server.process().Signal(SIGKILL);
    port = 0;
    ASSERT_EQ(server.process().Wait(10s), 128 + SIGKILL);
    ++kills;
    server.Restart();
    if (!server.WaitReady()) {
      FAIL() << "no restart after kill " << kills << "\n" << server.Log();
    }
    port = server.port();
  }
  while (acknowledged.load() < kDeliveries && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  stop_senders();
  ASSERT_EQ(kills, kKills) << "the deliveries went too slowly to kill that often";
  ASSERT_EQ(acknowledged.load(), kDeliveries);

  // Let the last run drain its inbox, then stop it.
  Result<store::Database> db = store::Database::Open(server.db_path());
  ASSERT_TRUE(db) << db.error().message();
  for (auto until = std::chrono::steady_clock::now() + 30s;
       QueryInt(*db, "SELECT count(*) FROM inbox WHERE state = 'pending'") > 0;) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << server.Log();
    std::this_thread::sleep_for(50ms);
  }
  server.process().Signal(SIGTERM);
  ASSERT_EQ(server.process().Wait(20s), 0) << server.Log();

  const int64_t stored = QueryInt(*db, "SELECT count(*) FROM inbox");
  const int64_t done = QueryInt(*db, "SELECT count(*) FROM inbox WHERE state = 'done'");
  const int64_t jobs = QueryInt(*db, "SELECT count(*) FROM jobs");
  const int64_t with_job = QueryInt(*db, "SELECT count(DISTINCT delivery) FROM jobs");
  const int64_t max_per_delivery =
      QueryInt(*db,
               "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM jobs GROUP BY "
               "delivery, rule)");
  const int64_t repeated = QueryInt(
      *db, "SELECT count(*) FROM (SELECT 1 FROM jobs GROUP BY delivery HAVING count(*) > 1)");
  std::printf(
      "deliveries %d (%d posts), kills %d, stored %lld, done %lld, jobs %lld, deliveries with a "
      "job %lld, with more than one %lld, most jobs of one delivery %lld\n",
      kDeliveries, attempts.load(), kills, static_cast<long long>(stored),
      static_cast<long long>(done), static_cast<long long>(jobs), static_cast<long long>(with_job),
      static_cast<long long>(repeated), static_cast<long long>(max_per_delivery));
  EXPECT_EQ(stored, kDeliveries);
  EXPECT_EQ(done, kDeliveries);
  EXPECT_EQ(with_job, kDeliveries);
  EXPECT_EQ(max_per_delivery, 1);
  EXPECT_EQ(repeated, 0);
  EXPECT_EQ(jobs, kDeliveries);
}

}  // namespace
}  // namespace labelrun::testing
