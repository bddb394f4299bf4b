// labelrun's cost as the work grows, on the real binary, the real daemon and the
// loopback GitHub, with each figure printed beside its target (tests/bench/README.md):
//
//   jobs  1, 10, 50 running at once (busybox, a metrics line every 10 ms each):
//         labelrun's CPU per log line and peak RSS, lines lost from the stored
//         logs, and the longest wait between two edits of a running job's comment
//         at the loopback GitHub against report.update_interval, with GitHub's
//         pacing of the label writes between two edits accounted separately;
//   10,000 finished jobs in the store: start-up (recovery) time, and the answer
//         time of /api/jobs and /jobs.
//
//   ninja -C build/release jobs_scale labelrun && build/release/jobs_scale [lines] [counts...]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "labelrun/store/jobs.hpp"
#include "support/docker_env.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::bench {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr char kApiToken[] = "bench-api-token-0123456789";
constexpr char kDashToken[] = "bench-dashboard-token-0123456789";
constexpr char kGithubToken[] = "ghs_benchbenchbenchbenchbenchbench0123";
constexpr int kUpdateIntervalS = 2;

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> f;
  std::string cur;
  for (char c : stat.substr(close + 2)) {
    if (c == ' ') {
      f.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  // Fields after the name start at 3 (state): utime is 14, stime 15.
  if (f.size() < 13) return 0;
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Busy and total jiffies of the whole machine (all cores), from /proc/stat.
std::pair<double, double> MachineJiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double busy = user + nice + system + irq + softirq + steal;
  return {busy, busy + idle + iowait};
}

int64_t PeakRssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

std::string Yaml(const testing::TempDir& dir, const std::string& github_url, int lines) {
  // Waits 10 ms with the shell's own `read -t` on a FIFO that never gets data, so
  // a line costs the job no fork: 50 jobs forking `sleep` 100 times a second
  // would fill this machine's cores with the jobs' own work, not labelrun's.
  const std::string script =
      "mkfifo /tmp/tick; exec 3<>/tmp/tick; i=0; while [ $i -lt " + std::to_string(lines) +
      " ]; do echo step=$i loss=0.$((1000 - i % 1000)); read -t 0.01 -u 3 _; "
      "i=$((i+1)); done";
  std::filesystem::create_directories(dir.path() / "repo");
  dir.Write("api-token", std::string(kApiToken) + "\n");
  dir.Write("dashboard-token", std::string(kDashToken) + "\n");
  dir.Write("github-token", std::string(kGithubToken) + "\n");
  for (const char* f : {"api-token", "dashboard-token", "github-token"}) {
    std::filesystem::permissions(
        dir.path() / f, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  return "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
         "/LABELS.md\n"
         "rules:\n"
         "  - name: train\n"
         "    when: {all: [task:training]}\n"
         "    job: {image: \"" +
         std::string(testing::kTestImage) + "\", command: [sh, -c, \"" + script +
         "\"], memory: 64m}\n"
         "sources: {default_dir: " +
         (dir.path() / "repo").string() +
         "}\napi: {token_file: " + (dir.path() / "api-token").string() +
         "}\ndashboard: {token_file: " + (dir.path() / "dashboard-token").string() +
         "}\nreport: {update_interval: " + std::to_string(kUpdateIntervalS) +
         "s}\ngithub:\n  api_url: " + github_url +
         "\n  token_file: " + (dir.path() / "github-token").string() + "\n";
}

std::string Labeled(int issue) {
  // One installation per job: GitHub paces writes per installation (>= 1 s apart),
  // which would otherwise be the bound on comment edits, not labelrun.
  return R"({"action":"labeled","label":{"name":"task:training"},"issue":{"number":)" +
         std::to_string(issue) +
         R"(,"state":"open","title":"t","body":null,"labels":[{"name":"task:training"}]},)"
         R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"bob","type":"User"},)"
         R"("installation":{"id":)" +
         std::to_string(1000 + issue) + "}}";
}

json Api(testing::LabelrunProcess& server, const std::string& path, double* ms = nullptr) {
  const auto t0 = SteadyClock::now();
  testing::HttpResponse r = testing::HttpRequest(
      "GET", server.Url(path), {std::string("Authorization: Bearer ") + kApiToken}, "");
  if (ms) *ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
  return json::parse(r.body, nullptr, false);
}

struct ScaleRow {
  int jobs = 0;
  double cpu_us_per_line = 0;
  int64_t rss_kib = 0;
  int64_t lines_lost = 0;
  double worst_gap_s = 0;  // between two edits of a running job's comment
  double p95_gap_s = 0;
  double worst_unpaced_gap_s = 0;    // between edits with no other write of the issue between
  double worst_beyond_pacing_s = 0;  // an edit's lateness past what interval and pacing allow
  double wall_s = 0;
  int64_t lines_stored = 0;     // all jobs' lines in their stored logs
  double machine_busy_pct = 0;  // all cores, over the run
  bool ok = true;
};

ScaleRow RunScale(int jobs, int lines) {
  ScaleRow row;
  row.jobs = jobs;
  testing::TempDir dir;
  testing::FakeGithub::Options go;
  go.static_token = kGithubToken;
  go.connection_threads = 16;  // as many as labelrun's outbox sends at once
  testing::FakeGithub github(go, SystemClock::Instance());
  github.SetPermission("acme/vision", "bob", "write");
  testing::LabelrunProcess::Options o;
  o.extra_yaml = Yaml(dir, github.url(), lines);
  testing::LabelrunProcess server(dir, o);
  if (!server.WaitReady()) {
    std::fprintf(stderr, "labelrun did not start:\n%s\n", server.Log().c_str());
    row.ok = false;
    return row;
  }
  const pid_t pid = server.process().pid();
  const double cpu0 = ProcessCpuSeconds(pid);
  const auto machine0 = MachineJiffies();
  const auto t0 = SteadyClock::now();
  for (int i = 1; i <= jobs; ++i) {
    if (server.Deliver("issues", "scale-" + std::to_string(i), Labeled(i)).status != 202) {
      row.ok = false;
    }
  }
  json list;
  const bool done = testing::WaitUntil(
      [&] {
        list = Api(server, "/api/jobs?limit=1000");
        if (!list.is_object() || list["jobs"].size() != static_cast<size_t>(jobs)) return false;
        for (const json& j : list["jobs"]) {
          if (j["state"] == "queued" || j["state"] == "pulling" || j["state"] == "starting" ||
              j["state"] == "running") {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(120 + lines / 20));
  row.wall_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  const double cpu = ProcessCpuSeconds(pid) - cpu0;
  const auto machine1 = MachineJiffies();
  if (machine1.second > machine0.second) {
    row.machine_busy_pct =
        100.0 * (machine1.first - machine0.first) / (machine1.second - machine0.second);
  }
  row.rss_kib = PeakRssKiB(pid);
  if (!done) {
    std::fprintf(stderr, "%d jobs did not all end: %s\n", jobs,
                 list.dump().substr(0, 2000).c_str());
    row.ok = false;
  }
  // Every line of every job in its stored log, in order.
  for (const json& j : list["jobs"]) {
    const std::string id = j["id"];
    if (j["state"] != "succeeded") row.ok = false;
    std::ifstream in(dir.path() / "state" / "jobs" / id / "log");
    int next = 0;
    for (std::string line; std::getline(in, line);) {
      const size_t at = line.find(" o step=");
      if (at == std::string::npos) continue;
      if (std::stoi(line.substr(at + 8)) == next) ++next;
    }
    row.lines_lost += lines - next;
    row.lines_stored += next;
  }
  // Per line that arrived: when the machine cannot print them all in time, fewer
  // lines carry the same per-second work (edits, polls).
  row.cpu_us_per_line = cpu * 1e6 / static_cast<double>(std::max<int64_t>(1, row.lines_stored));
  // The comment edits of each job while it ran, and every other write to its issue,
  // at the loopback GitHub. GitHub paces writes per installation (one a second; one
  // installation per job here), so the label writes that follow the Running edit push
  // the next edit back: each gap is also measured beyond the earliest moment the
  // interval and that pacing allow, which is what labelrun itself adds.
  std::map<std::string, std::string> issue_of_job;  // job id -> "/issues/N/"
  for (const json& j : list["jobs"]) {
    issue_of_job[j["id"].get<std::string>()] =
        "/issues/" + std::to_string(j["issue"].get<int64_t>()) + "/";
  }
  std::map<std::string, std::vector<int64_t>> edits;         // job id -> times
  std::map<std::string, std::vector<int64_t>> other_writes;  // "/issues/N/" -> times
  for (const testing::FakeRequest& r : github.Requests()) {
    if (r.method == "GET" || r.target.starts_with("/app/")) continue;
    // The job's marker, "<!-- labelrun:job=ID -->", names the comment's job.
    const size_t at = r.body.find("labelrun:job=");
    const size_t id_end = at == std::string::npos ? at : r.body.find(' ', at);
    if (r.target.find("/comments") != std::string::npos && id_end != std::string::npos &&
        r.body.find("**Running**") != std::string::npos) {
      edits[r.body.substr(at + 13, id_end - at - 13)].push_back(r.at_unix_ms);
      continue;
    }
    const size_t issue = r.target.find("/issues/");
    if (issue == std::string::npos) continue;
    const size_t end = r.target.find('/', issue + 8);
    if (end != std::string::npos)
      other_writes[r.target.substr(issue, end + 1 - issue)].push_back(r.at_unix_ms);
  }
  if (edits.size() != static_cast<size_t>(jobs)) row.ok = false;
  std::vector<double> gaps;
  std::vector<double> beyond;  // past max(previous edit + interval, last write between + 1 s)
  for (auto& [job, times] : edits) {
    std::sort(times.begin(), times.end());
    if (times.size() < 2) row.ok = false;
    const std::vector<int64_t>& others = other_writes[issue_of_job[job]];
    for (size_t i = 1; i < times.size(); ++i) {
      gaps.push_back((times[i] - times[i - 1]) / 1000.0);
      int64_t earliest = times[i - 1] + kUpdateIntervalS * 1000;
      bool paced = false;
      for (int64_t t : others) {
        if (t > times[i - 1] && t < times[i]) {
          earliest = std::max(earliest, t + 1000);
          paced = true;
        }
      }
      beyond.push_back((times[i] - earliest) / 1000.0);
      if (!paced) row.worst_unpaced_gap_s = std::max(row.worst_unpaced_gap_s, gaps.back());
    }
  }
  std::sort(gaps.begin(), gaps.end());
  if (!gaps.empty()) {
    row.worst_gap_s = gaps.back();
    row.p95_gap_s = gaps[gaps.size() * 95 / 100];
  }
  if (!beyond.empty()) row.worst_beyond_pacing_s = *std::max_element(beyond.begin(), beyond.end());
  return row;
}

struct StoreFigures {
  double recovery_s = 0;
  double api_ms = 0;
  double page_ms = 0;
  double api_state_ms = 0;
  bool paged = false;
  bool ok = true;
};

StoreFigures RunStore(int finished) {
  StoreFigures f;
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "state");
  {
    auto store = store::JobStore::Open(dir.path() / "state" / "labelrun.db");
    if (!store) {
      f.ok = false;
      return f;
    }
    for (int i = 0; i < finished; ++i) {
      store::JobRecord job;
      char id[16];
      std::snprintf(id, sizeof id, "j%010x", i + 1);
      job.id = id;
      job.repository = i % 10 ? "acme/vision" : "acme/other";
      job.issue = 1 + i % 500;
      job.spec.rule = "train";
      job.spec.image = testing::kTestImage;
      job.spec.command = {"python", "train.py", "--epochs", "3"};
      if (!(*store)->Insert(job, 1700000000000 + i)) f.ok = false;
      job.state = i % 7 ? JobState::kSucceeded : JobState::kFailed;
      job.finished_ms = 1700000000000 + i + 60000;
      job.exit_code = i % 7 ? 0 : 1;
      if (!(*store)->Update(job, 1700000000000 + i + 60000, "ended")) f.ok = false;
    }
  }
  testing::FakeGithub::Options go;
  go.static_token = kGithubToken;
  testing::FakeGithub github(go, SystemClock::Instance());
  testing::LabelrunProcess::Options o;
  o.extra_yaml = Yaml(dir, github.url(), 1);
  const auto t0 = SteadyClock::now();
  testing::LabelrunProcess server(dir, o);
  if (!server.WaitReady()) {
    f.ok = false;
    return f;
  }
  f.recovery_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  auto best = [&](const std::function<double()>& once) {
    double b = 1e9;
    for (int i = 0; i < 5; ++i) b = std::min(b, once());
    return b;
  };
  f.api_ms = best([&] {
    double ms = 0;
    json page = Api(server, "/api/jobs", &ms);
    f.paged = page.is_object() && page["jobs"].size() == 100 && page["next"].is_string();
    return ms;
  });
  f.api_state_ms = best([&] {
    double ms = 0;
    (void)Api(server, "/api/jobs?state=failed&repo=acme/vision", &ms);
    return ms;
  });
  f.page_ms = best([&] {
    const auto t = SteadyClock::now();
    testing::HttpResponse r = testing::HttpRequest(
        "GET", server.Url("/jobs"), {std::string("Authorization: Bearer ") + kDashToken}, "");
    if (r.status != 200) f.ok = false;
    return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
  });
  return f;
}

int Main(int argc, char** argv) {
  const int lines = argc > 1 ? std::stoi(argv[1]) : 1000;
  std::vector<int> counts;
  for (int i = 2; i < argc; ++i) counts.push_back(std::stoi(argv[i]));
  if (counts.empty()) counts = {1, 10, 50};
  auto docker = testing::ConnectTestDocker();
  if (!docker || !testing::EnsureTestImage(**docker).empty()) {
    std::fprintf(stderr, "no test Docker daemon or image\n");
    return 1;
  }
  std::printf("jobs at once: %d lines each, one every 10 ms; update_interval %d s\n", lines,
              kUpdateIntervalS);
  std::printf("  %5s %12s %10s %12s %11s %9s %9s %10s %13s\n", "jobs", "cpu us/line", "peak RSS",
              "RSS target", "lines lost", "edit gap", "gap p95", "lines/s", "machine busy");
  std::vector<ScaleRow> rows;
  bool ok = true;
  for (int n : counts) {
    ScaleRow r = RunScale(n, lines);
    rows.push_back(r);
    const double rss_mib = r.rss_kib / 1024.0;
    const double rss_target = 30.0 + n;
    // lines/s: what the jobs printed and labelrun stored, against n * 100 asked for;
    // machine busy: both cores, containers and dockerd included.
    std::printf("  %5d %12.1f %8.1f MB %9.0f MB %11lld %7.1f s %7.1f s %10.0f %12.0f%%%s\n", n,
                r.cpu_us_per_line, rss_mib, rss_target, static_cast<long long>(r.lines_lost),
                r.worst_gap_s, r.p95_gap_s, r.wall_s > 0 ? r.lines_stored / r.wall_s : 0.0,
                r.machine_busy_pct,
                r.ok ? "" : "  (a job failed or a comment was not edited: see above)");
    std::fflush(stdout);
    ok &= r.ok && r.lines_lost == 0 && rss_mib <= rss_target;
  }
  if (rows.size() > 1) {
    const double ratio = rows.back().cpu_us_per_line / rows.front().cpu_us_per_line;
    std::printf("%-52s %6.2fx   target <= 1.5x   %s\n",
                ("cpu per line, " + std::to_string(rows.back().jobs) + " jobs / " +
                 std::to_string(rows.front().jobs))
                    .c_str(),
                ratio, ratio <= 1.5 ? "ok" : "MISSED");
    ok &= ratio <= 1.5;
  }
  double worst = 0;
  double worst_unpaced = 0;
  double worst_beyond = 0;
  for (const ScaleRow& r : rows) {
    worst = std::max(worst, r.worst_gap_s);
    worst_unpaced = std::max(worst_unpaced, r.worst_unpaced_gap_s);
    worst_beyond = std::max(worst_beyond, r.worst_beyond_pacing_s);
  }
  // An edit is due update_interval after the last. GitHub's pacing (one write per
  // installation per second) is GitHub's: the two label writes that follow a job's
  // Running edit put its next edit 3 s after it.
  const double gap_target = kUpdateIntervalS + 1.0;
  std::printf("%-52s %6.1f s    (GitHub's pacing included)\n",
              "longest gap between a running job's edits", worst);
  std::printf("%-52s %6.1f s    target <= %.1f s %s\n", "  the same, no label write between",
              worst_unpaced, gap_target, worst_unpaced <= gap_target ? "ok" : "MISSED");
  std::printf("%-52s %6.1f s    target <= 1.0 s %s\n",
              "  an edit's lateness past the interval and pacing", worst_beyond,
              worst_beyond <= 1.0 ? "ok" : "MISSED");
  ok &= worst_unpaced <= gap_target && worst_beyond <= 1.0;

  StoreFigures s = RunStore(10000);
  std::printf("\n10,000 finished jobs in the store%s\n",
              s.ok ? "" : ": FAILED TO RUN (the figures below are not measurements)");
  std::printf("%-52s %6.0f ms   target <= 1000 ms %s\n", "start-up with recovery (to listening)",
              s.recovery_s * 1000, s.recovery_s <= 1.0 ? "ok" : "MISSED");
  std::printf("%-52s %6.1f ms   target <= 50 ms  %s%s\n", "GET /api/jobs (first page, best of 5)",
              s.api_ms, s.api_ms <= 50 ? "ok" : "MISSED", s.paged ? "" : " (NOT PAGED)");
  std::printf("%-52s %6.1f ms   target <= 50 ms  %s\n", "GET /api/jobs?state=failed&repo=...",
              s.api_state_ms, s.api_state_ms <= 50 ? "ok" : "MISSED");
  std::printf("%-52s %6.1f ms   target <= 50 ms  %s\n", "GET /jobs (first page, best of 5)",
              s.page_ms, s.page_ms <= 50 ? "ok" : "MISSED");
  ok &= s.ok && s.paged && s.recovery_s <= 1.0 && s.api_ms <= 50 && s.page_ms <= 50 &&
        s.api_state_ms <= 50;
  return ok ? 0 : 3;
}

}  // namespace
}  // namespace labelrun::bench

int main(int argc, char** argv) { return labelrun::bench::Main(argc, argv); }
