// Burst benchmark: the path from a delivery to GitHub under load, through the real
// labelrun binary, its real SQLite state and the loopback GitHub
// (tests/support/fake_github*), in App mode with one token per installation.
//
// A burst of signed `issues.labeled` deliveries, one per issue, spread over several
// installations (default 10 x 100 = 1,000), each one starting a job that stays
// queued: the rule's only host runs one job at a time and the first job sleeps. Each
// job's "Queued" comment is the write measured, from its delivery's 202 to the
// comment's request arriving at the loopback GitHub. GitHub's pacing (one write per
// installation per second, kept by labelrun) is accounted for separately: for each
// write, labelrun's own added latency is its arrival minus the earliest time the
// pacing allowed it, max(its delivery's 202, the installation's previous write's
// arrival + 1 s).
//
// Usage: build/release/burst_bench [--installations N] [--issues M]
//                                  [--order grouped|interleaved] [--clients C]
// Environment: LABELRUN_BIN (default: the binary built beside this one).
// Exit status: 0 it ran; 1 it could not run; 3 it ran but a Queued comment never
// arrived or two writes of an installation arrived less than 1 s apart.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "labelrun/core/clock.hpp"
#include "labelrun/store/sqlite.hpp"
#include "labelrun/webhook/signature.hpp"
#include "support/docker_env.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace {

using namespace labelrun;
using namespace labelrun::testing;
using std::chrono::milliseconds;

constexpr char kSecret[] = "burst-bench-secret-0123456789abcdef";
constexpr int64_t kFirstInstallation = 1000;
constexpr int64_t kPacingMs = 1000;  // GitHub: one write per installation per second

struct Args {
  int installations = 10;
  int issues = 100;  // per installation
  bool interleaved = false;
  int clients = 4;  // concurrent connections sending the burst
};

// A port nothing listens on now (bound, then closed).
uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

int64_t NowMs() { return SystemClock::Instance().NowUnixMillis(); }

std::string Repo(int inst) { return "org" + std::to_string(inst) + "/vision"; }

std::string Payload(int inst, int64_t issue) {
  return R"({"action":"labeled","label":{"name":"task:training"},"issue":{"number":)" +
         std::to_string(issue) +
         R"(,"state":"open","title":"t","body":null,"labels":[{"name":"task:training"}]},)"
         R"("repository":{"id":)" +
         std::to_string(inst + 1) + R"(,"full_name":")" + Repo(inst) +
         R"("},"sender":{"login":"bob","type":"User"},"installation":{"id":)" +
         std::to_string(kFirstInstallation + inst) + "}}";
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string Summary(const std::vector<double>& v, const char* unit) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "p50 %8.1f %s  p99 %8.1f %s  max %8.1f %s  (n=%zu)",
                Percentile(v, 50), unit, Percentile(v, 99), unit,
                v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()), unit, v.size());
  return buf;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

bool ParseArgs(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--installations" || a == "--issues" || a == "--clients") {
      const char* v = value();
      int n = v != nullptr ? std::atoi(v) : 0;
      if (n <= 0 || n > 100000) {
        std::cerr << a << " needs a positive number\n";
        return false;
      }
      (a == "--installations" ? args.installations
       : a == "--issues"      ? args.issues
                              : args.clients) = n;
    } else if (a == "--order") {
      const char* v = value();
      if (v == nullptr || (std::strcmp(v, "grouped") != 0 && std::strcmp(v, "interleaved") != 0)) {
        std::cerr << "--order is grouped or interleaved\n";
        return false;
      }
      args.interleaved = std::strcmp(v, "interleaved") == 0;
    } else {
      std::cerr << "usage: burst_bench [--installations N] [--issues M] "
                   "[--order grouped|interleaved] [--clients C]\n";
      return false;
    }
  }
  return true;
}

// A write labelrun made, as the loopback GitHub received it.
struct Write {
  int inst = -1;
  int64_t issue = 0;  // 0: not known from the URL (a comment edit)
  int64_t at_ms = 0;
  bool queued_comment = false;
};

// When each issue's first comment row entered the outbox, from labelrun's own
// SQLite state: (installation index, issue) -> created_at.
std::map<std::pair<int, int64_t>, int64_t> QueuedAt(const std::filesystem::path& db_path) {
  std::map<std::pair<int, int64_t>, int64_t> out;
  Result<store::Database> db = store::Database::Open(db_path);
  if (!db) return out;
  Result<store::Statement> st = db->Prepare(
      "SELECT repository, issue, min(created_at) FROM outbox WHERE kind = 'comment' "
      "GROUP BY repository, issue");
  if (!st) return out;
  static const std::regex kRepo(R"(^org(\d+)/vision$)");
  while (true) {
    Result<bool> row = st->Step();
    if (!row || !*row) break;
    std::smatch m;
    const std::string repo = st->ColumnText(0);
    if (std::regex_match(repo, m, kRepo)) {
      out[{std::stoi(m[1]), st->ColumnInt(1)}] = st->ColumnInt(2);
    }
  }
  return out;
}

// "/repos/org3/vision/issues/17/comments" -> (3, 17).
std::vector<Write> WritesOf(const std::vector<FakeRequest>& requests) {
  static const std::regex kTarget(R"(^/repos/org(\d+)/vision/issues/(\d+|comments)(/[^?]*)?)");
  std::vector<Write> out;
  for (const FakeRequest& r : requests) {
    if (r.method == "GET" || r.status == 0) continue;
    std::smatch m;
    if (!std::regex_search(r.target, m, kTarget)) continue;  // token mints, reads
    Write w;
    w.inst = std::stoi(m[1]);
    if (m[2] != "comments") w.issue = std::stoll(m[2]);
    w.at_ms = r.at_unix_ms;
    w.queued_comment =
        r.method == "POST" && m[3] == "/comments" && r.body.find("Queued") != std::string::npos;
    out.push_back(w);
  }
  return out;
}

int Run(const Args& args) {
  const int total = args.installations * args.issues;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto docker = ConnectTestDocker();
  if (!docker) {
    std::cerr << "burst_bench: " << docker.error().message() << "\n";
    return 1;
  }
  if (std::string err = EnsureTestImage(**docker); !err.empty()) {
    std::cerr << "burst_bench: " << err << "\n";
    return 1;
  }

  FakeGithub::Options github_options;
  github_options.app_issuer = "12345";
  github_options.public_key_pem = AppTestKey().public_pem;
  FakeGithub github(github_options, SystemClock::Instance());
  for (int i = 0; i < args.installations; ++i) github.SetPermission(Repo(i), "bob", "write");

  const uint16_t port = FreePort();
  if (port == 0) {
    std::cerr << "burst_bench: no free port on 127.0.0.1\n";
    return 1;
  }
  TempDir dir;
  std::filesystem::create_directories(dir / "repo");
  dir.Write("repo/train.sh", "sleep 3600\n");
  dir.Write("secret", std::string(kSecret) + "\n");
  const std::filesystem::path key = dir.Write("app.pem", AppTestKey().pkcs8_pem);
  chmod(key.c_str(), 0600);
  chmod((dir / "secret").c_str(), 0600);
  dir.Write("config.yaml",
            "state_dir: " + (dir / "state").string() +
                "\nserver: {listen: \"127.0.0.1:" + std::to_string(port) +
                "\"}\n"
                "webhook:\n  secrets: [{file: " +
                (dir / "secret").string() +
                "}]\n"
                "labels_file: " +
                std::string(LABELRUN_SOURCE_DIR) +
                "/LABELS.md\n"
                "rules:\n"
                "  - name: train\n"
                "    when: {all: [task:training]}\n"
                "    job: {image: \"" +
                std::string(kTestImage) +
                "\", command: [sh, train.sh]}\n"
                // One job at a time: the first one sleeps, every other one stays queued.
                "hosts:\n  - {name: local, docker: \"" +
                TestDockerUrl() +
                "\", max_jobs: 1}\n"
                "sources: {default_dir: " +
                (dir / "repo").string() +
                "}\n"
                "github:\n  api_url: " +
                github.url() + "\n  app_id: \"12345\"\n  private_key_file: " + key.string() +
                "\n"
                "log: {level: warn}\n");

  const char* bin_env = std::getenv("LABELRUN_BIN");
  const std::string bin = bin_env != nullptr ? bin_env : LABELRUN_BINARY;
  const std::filesystem::path log = dir / "labelrun.log";
  std::cout << "labelrun: " << bin << "\nload average before: " << LoadAverage() << "\n";
  int rc = 0;
  {
    Process server({bin, "serve", "--config", (dir / "config.yaml").string()}, log);
    // At log level warn labelrun does not log its port: it listens on one picked here.
    if (!WaitUntil(
            [&] {
              return HttpRequest("GET", "http://127.0.0.1:" + std::to_string(port) + "/healthz", {},
                                 "")
                         .status == 200;
            },
            std::chrono::seconds(20))) {
      std::cerr << "burst_bench: labelrun did not start:\n" << ReadFile(log);
      return 1;
    }
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/webhook";

    // The burst: deliveries in plan order, taken by `clients` connections at once.
    std::vector<std::pair<int, int64_t>> plan;  // (installation index, issue)
    for (int a = 0; a < args.installations; ++a) {
      for (int b = 0; b < args.issues; ++b) plan.emplace_back(a, b + 1);
    }
    if (args.interleaved) {
      std::stable_sort(plan.begin(), plan.end(),
                       [](const auto& x, const auto& y) { return x.second < y.second; });
    }
    std::vector<std::string> bodies;
    for (const auto& [inst, issue] : plan) bodies.push_back(Payload(inst, issue));
    std::vector<int64_t> accepted_ms(plan.size(), 0);
    std::atomic<size_t> next{0};
    std::atomic<int> refused{0};
    const int64_t burst_start = NowMs();
    std::vector<std::thread> clients;
    for (int c = 0; c < args.clients; ++c) {
      clients.emplace_back([&] {
        for (size_t i; (i = next++) < plan.size();) {
          const std::string guid = "burst-" + std::to_string(burst_start) + "-" + std::to_string(i);
          HttpResponse res =
              HttpRequest("POST", url,
                          {"Content-Type: application/json", "X-GitHub-Event: issues",
                           "X-GitHub-Delivery: " + guid,
                           "X-Hub-Signature-256: " + webhook::SignBody(kSecret, bodies[i]),
                           "User-Agent: GitHub-Hookshot/bench", "Expect:"},
                          bodies[i]);
          accepted_ms[i] = NowMs();
          if (res.status != 202) ++refused;
        }
      });
    }
    for (std::thread& t : clients) t.join();
    const int64_t burst_end = NowMs();
    std::printf("burst: %d deliveries (%d installations x %d issues, %s) in %lld ms, %d not 202\n",
                total, args.installations, args.issues,
                args.interleaved ? "interleaved" : "installation by installation",
                static_cast<long long>(burst_end - burst_start), refused.load());
    if (refused > 0) {
      std::cerr << "burst_bench: deliveries refused:\n" << ReadFile(log);
      return 1;
    }

    // Every Queued comment, at GitHub's pace: about two writes (comment, label) per
    // issue per second of each installation.
    auto queued_count = [&] {
      int n = 0;
      for (const Write& w : WritesOf(github.Requests())) n += w.queued_comment;
      return n;
    };
    int last = -1;
    int64_t last_progress = NowMs();
    while (true) {
      int n = queued_count();
      if (n >= total) break;
      if (n != last) last = n, last_progress = NowMs();
      if (NowMs() - last_progress > 30'000) break;  // nothing for 30 s: report what came
      std::this_thread::sleep_for(milliseconds(500));
    }
    std::cout << "load average after: " << LoadAverage() << "\n";

    // The figures.
    std::map<std::pair<int, int64_t>, int64_t> accepted;  // (inst, issue) -> 202 time
    std::map<int, int64_t> first_accepted;                // inst -> its first 202
    for (size_t i = 0; i < plan.size(); ++i) {
      accepted[plan[i]] = accepted_ms[i];
      auto [it, fresh] = first_accepted.emplace(plan[i].first, accepted_ms[i]);
      if (!fresh) it->second = std::min(it->second, accepted_ms[i]);
    }
    const std::map<std::pair<int, int64_t>, int64_t> outboxed =
        QueuedAt(dir / "state" / "labelrun.db");
    std::vector<Write> writes = WritesOf(github.Requests());
    std::map<int, std::vector<Write>> by_inst;
    for (const Write& w : writes) by_inst[w.inst].push_back(w);
    std::vector<double> e2e, added_queued, added_all, processing, outbox_added;
    int64_t min_gap = INT64_MAX;
    int too_close = 0, queued_seen = 0;
    std::printf("\n%-6s %7s %7s %16s %16s %10s %12s\n", "inst", "writes", "queued",
                "1st Queued-burst", "1st Queued-202", "gap p50", "added max");
    for (auto& [inst, list] : by_inst) {
      std::stable_sort(list.begin(), list.end(),
                       [](const Write& a, const Write& b) { return a.at_ms < b.at_ms; });
      int64_t first_queued = 0;
      int queued = 0;
      std::vector<double> gaps, added;
      std::set<int64_t> seen_issue;
      for (size_t k = 0; k < list.size(); ++k) {
        const Write& w = list[k];
        int64_t ready = 0;
        if (auto it = accepted.find({inst, w.issue}); it != accepted.end()) ready = it->second;
        int64_t allowed = ready;
        if (k > 0) {
          const int64_t gap = w.at_ms - list[k - 1].at_ms;
          gaps.push_back(static_cast<double>(gap));
          min_gap = std::min(min_gap, gap);
          if (gap < kPacingMs) ++too_close;
          allowed = std::max(allowed, list[k - 1].at_ms + kPacingMs);
        }
        const double extra = static_cast<double>(w.at_ms - allowed);
        added_all.push_back(extra);
        added.push_back(extra);
        if (w.queued_comment && seen_issue.insert(w.issue).second) {
          ++queued;
          ++queued_seen;
          if (first_queued == 0) first_queued = w.at_ms;
          e2e.push_back(static_cast<double>(w.at_ms - ready));
          added_queued.push_back(extra);
          if (auto q = outboxed.find({inst, w.issue}); q != outboxed.end()) {
            processing.push_back(static_cast<double>(q->second - ready));
            int64_t allowed_out = q->second;
            if (k > 0) allowed_out = std::max(allowed_out, list[k - 1].at_ms + kPacingMs);
            outbox_added.push_back(static_cast<double>(w.at_ms - allowed_out));
          }
        }
      }
      std::printf("%-6d %7zu %7d %13lld ms %13lld ms %7.0f ms %9.0f ms\n",
                  static_cast<int>(kFirstInstallation) + inst, list.size(), queued,
                  static_cast<long long>(first_queued - burst_start),
                  static_cast<long long>(first_queued - first_accepted[inst]), Percentile(gaps, 50),
                  added.empty() ? 0.0 : *std::max_element(added.begin(), added.end()));
    }
    std::printf("\n202 -> Queued comment at GitHub:           %s\n", Summary(e2e, "ms").c_str());
    std::printf("added by labelrun, Queued comments:        %s\n",
                Summary(added_queued, "ms").c_str());
    std::printf("added by labelrun, every write:            %s\n",
                Summary(added_all, "ms").c_str());
    std::printf("Queued comments, 202 -> row in the outbox: %s\n",
                Summary(processing, "ms").c_str());
    std::printf("Queued comments, outbox -> GitHub, added:  %s\n",
                Summary(outbox_added, "ms").c_str());
    std::printf(
        "pacing: shortest gap between two writes of an installation %lld ms; "
        "%d under %lld ms\n",
        static_cast<long long>(min_gap == INT64_MAX ? 0 : min_gap), too_close,
        static_cast<long long>(kPacingMs));
    std::printf("target: added p99 <= 10 ms: %s\n",
                Percentile(added_queued, 99) <= 10 ? "met" : "MISSED");
    if (queued_seen < total) {
      std::printf("INCOMPLETE: %d of %d Queued comments arrived\n", queued_seen, total);
      rc = 3;
    }
    if (too_close > 0) {
      std::printf("PACING BROKEN: %d writes closer than %lld ms to the previous one\n", too_close,
                  static_cast<long long>(kPacingMs));
      rc = 3;
    }
    server.Signal(SIGTERM);
    (void)server.Wait(std::chrono::seconds(30));
  }
  // The first job's sleeping container.
  std::ifstream in(dir / "state" / "instance-id");
  std::string instance;
  if (std::getline(in, instance)) {
    if (auto left = (*docker)->List({{"labelrun.instance", instance}})) {
      for (const auto& c : *left) (void)(*docker)->Remove(c.id);
    }
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) return 1;
  return Run(args);
}
