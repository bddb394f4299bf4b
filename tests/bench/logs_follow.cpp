// How fast labelrun follows a job's log, against `docker logs` on the same
// daemon in the same run, with the ratios printed at the end (tests/bench/README.md).
//
// Live: two twin containers print the same bytes as fast as they can and are
// started back to back; `docker logs -f --timestamps` follows one, labelrun's
// follower (DockerRuntime::Logs -> the stored log -> the reporter's per-line
// work, as Dispatcher::Follow does it) the other. Finished: the same output read
// again once the containers ended, by `docker logs`, by curl straight from the
// logs endpoint (the daemon's ceiling: no decoding at all) and by labelrun.
// The stored log is compared byte for byte with what the container printed.
//
//   ninja -C build/release logs_follow && build/release/logs_follow [MiB] [repeats]
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "labelrun/app/job_reporter.hpp"
#include "labelrun/runtime/log_decoder.hpp"
#include "scheduler/log_file.hpp"
#include "support/docker_env.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace labelrun::bench {
namespace {

using Clock = std::chrono::steady_clock;

// 100 bytes with its '\n': a training script's progress line with a metric in it.
constexpr char kLine[] =
    "epoch 3 step 1234/5000 loss=0.4123 lr=3.0e-04 grad_norm=1.234 tokens/s=81234 "
    "(padding.............)";
static_assert(sizeof kLine == 100);

struct Figure {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t bytes = 0;
  double MiBps() const { return seconds > 0 ? bytes / seconds / (1 << 20) : 0; }
  // CPU seconds per GiB moved.
  double CpuPerGiB() const { return bytes ? cpu_seconds / (double(bytes) / (1 << 30)) : 0; }
};

double ThreadCpu() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int64_t PeakRssKiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

// Runs `argv` with stdout to /dev/null; its wall time, CPU and exit status.
Figure RunTool(const std::vector<std::string>& args, int* status) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  const auto t0 = Clock::now();
  pid_t pid = 0;
  Figure f;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    *status = -1;
    return f;
  }
  posix_spawn_file_actions_destroy(&fa);
  rusage ru{};
  wait4(pid, status, 0, &ru);
  f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  f.cpu_seconds =
      ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return f;
}

// labelrun's follower: what Dispatcher::Follow does with each line.
struct Follower {
  Follower(const std::filesystem::path& dir, std::string job_id)
      : reporter(Options(dir), nullptr, clock), id(std::move(job_id)) {
    store::JobRecord job;
    job.id = id;
    job.repository = "acme/vision";
    job.issue = 1;
    job.state = JobState::kRunning;
    job.spec.rule = "train";
    job.spec.metrics = {"loss"};
    reporter.OnJobChanged(job, 0);
    log_path = dir / id / "log";
  }
  static app::ReporterOptions Options(const std::filesystem::path& dir) {
    app::ReporterOptions o;
    o.jobs_dir = dir;
    o.secrets = {"hunter2-not-in-the-log-0123456789"};
    return o;
  }

  Figure Run(runtime::DockerRuntime& docker, const std::string& container, bool follow,
             std::string* error) {
    scheduler::LogWriter writer;
    std::filesystem::remove(log_path);
    if (Status st = writer.Open(log_path, {}); !st) *error = st.error().message();
    uint64_t bytes = 0;
    const auto on_line = [&](const runtime::LogLine& line) {
      bytes += line.text.size() + 1;
      if (!writer.Append(line)) return true;
      reporter.OnLogLine(id, line.stream, line.text);
      return true;
    };
    const auto t0 = Clock::now();
    const double c0 = ThreadCpu();
    Status st = docker.Logs(container, 0, follow, on_line, nullptr);
    writer.Flush();
    Figure f;
    f.cpu_seconds = ThreadCpu() - c0;
    f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    f.bytes = bytes;
    if (!st) *error = st.error().message();
    return f;
  }

  // Empty when the stored log holds exactly `lines` copies of kLine.
  std::string Check(uint64_t lines) const {
    std::ifstream in(log_path, std::ios::binary);
    uint64_t n = 0;
    const std::string_view want(kLine, sizeof kLine - 1);
    for (std::string line; std::getline(in, line); ++n) {
      if (scheduler::LogLineText(line) != want) {
        return "stored line " + std::to_string(n + 1) + " differs: " + line.substr(0, 200);
      }
    }
    if (n != lines) {
      return "stored " + std::to_string(n) + " lines, the container printed " +
             std::to_string(lines);
    }
    return "";
  }

  SystemClock clock;
  app::JobReporter reporter;
  std::string id;
  std::filesystem::path log_path;
};

// labelrun's own cost without a daemon: a multiplexed stream as `logs?timestamps=1`
// sends it, fed in 64 KiB chunks to what Follower::Run does with a live one.
Figure Offline(const std::filesystem::path& dir, uint64_t lines) {
  std::string frames;
  const std::string stamp = "2026-12-04T22:00:00.123456789Z ";
  for (int i = 0; i < 4096; ++i) {
    const uint32_t size = static_cast<uint32_t>(stamp.size() + sizeof kLine);
    const char header[8] = {1,         0, 0, 0, char(size >> 24), char(size >> 16), char(size >> 8),
                            char(size)};
    frames.append(header, 8);
    frames += stamp;
    frames.append(kLine, sizeof kLine - 1);
    frames += '\n';
  }
  Follower follower(dir, "offline");
  scheduler::LogWriter writer;
  std::filesystem::remove(follower.log_path);
  (void)writer.Open(follower.log_path, {});
  runtime::LogDecoder decoder(runtime::LogDecoder::Options{runtime::kDefaultMaxLogLineBytes, true});
  uint64_t bytes = 0;
  const runtime::LogCallback on_line = [&](const runtime::LogLine& line) {
    bytes += line.text.size() + 1;
    if (!writer.Append(line)) return true;
    follower.reporter.OnLogLine(follower.id, line.stream, line.text);
    return true;
  };
  const auto t0 = Clock::now();
  const double c0 = ThreadCpu();
  for (uint64_t done = 0; done < lines; done += 4096) {
    std::string_view rest(frames);
    while (!rest.empty()) {
      const size_t n = std::min<size_t>(rest.size(), 64 << 10);
      (void)decoder.Feed(rest.substr(0, n), on_line);
      rest.remove_prefix(n);
    }
  }
  writer.Flush();
  Figure f;
  f.cpu_seconds = ThreadCpu() - c0;
  f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  f.bytes = bytes;
  if (std::string bad = follower.Check((lines + 4095) / 4096 * 4096); !bad.empty()) {
    std::fprintf(stderr, "offline: %s\n", bad.c_str());
    f.bytes = 0;
  }
  return f;
}

void Row(const char* what, const Figure& f) {
  std::printf("  %-44s %8.1f MiB/s  %6.2f s  cpu %6.2f s/GiB\n", what, f.MiBps(), f.seconds,
              f.CpuPerGiB());
}

int Main(int argc, char** argv) {
  const uint64_t mib = argc > 1 ? std::stoull(argv[1]) : 200;
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 3;
  const uint64_t lines = (mib << 20) / sizeof kLine;
  const uint64_t bytes = lines * sizeof kLine;
  spdlog::set_level(spdlog::level::warn);

  testing::TempDir dir;
  {
    const Figure f = Offline(dir.path(), lines);
    std::printf("offline (no daemon): %.0f ns cpu per line, %.1f MiB/s of log on one core\n",
                f.cpu_seconds * 1e9 / (f.bytes / sizeof kLine), f.bytes / f.cpu_seconds / 1048576);
    if (std::getenv("LOGS_BENCH_OFFLINE") != nullptr) return f.bytes ? 0 : 3;
  }
  auto docker = testing::ConnectTestDocker();
  if (!docker) {
    std::fprintf(stderr, "%s\n", docker.error().message().c_str());
    return 1;
  }
  if (std::string e = testing::EnsureTestImage(**docker); !e.empty()) {
    std::fprintf(stderr, "%s\n", e.c_str());
    return 1;
  }
  testing::ContainerJanitor janitor(**docker);
  // busybox's yes: one write per line, as a Python script with PYTHONUNBUFFERED does.
  const std::string script =
      "yes '" + std::string(kLine) + "' | head -c " + std::to_string(bytes) + "; sleep 0.2";
  std::printf("logs: %llu lines of %zu bytes (%.0f MiB) per container, %d runs\n",
              static_cast<unsigned long long>(lines), sizeof kLine, bytes / 1048576.0, repeats);

  Figure live_docker, live_labelrun, done_docker, done_curl, done_labelrun;
  int failures = 0;
  for (int run = 0; run < repeats; ++run) {
    auto a = (*docker)->Create(janitor.Spec(script));
    auto b = (*docker)->Create(janitor.Spec(script));
    if (!a || !b) {
      std::fprintf(stderr, "create: %s\n", (!a ? a.error() : b.error()).message().c_str());
      return 1;
    }
    Follower follower(dir.path(), "bench" + std::to_string(run));
    std::string error;
    Figure mine, theirs;
    int status = 0;
    // Both start, then both followers at once; each reads from the first line.
    (void)(*docker)->Start(*a);
    (void)(*docker)->Start(*b);
    std::thread cli([&] {
      theirs = RunTool({"docker", "logs", "-f", "--timestamps", *a}, &status);
      theirs.bytes = bytes;
    });
    std::thread ours([&] { mine = follower.Run(**docker, *b, true, &error); });
    cli.join();
    ours.join();
    if (!error.empty() || status != 0) {
      std::fprintf(stderr, "run %d: live follow failed: %s (docker logs status %d)\n", run,
                   error.c_str(), status);
      ++failures;
    }
    if (std::string bad = follower.Check(lines); !bad.empty()) {
      std::fprintf(stderr, "run %d: stored log (live): %s\n", run, bad.c_str());
      ++failures;
    }
    Figure d = RunTool({"docker", "logs", "--timestamps", *a}, &status);
    d.bytes = bytes;
    Figure c = RunTool({"curl", "-s", "--unix-socket", "/var/run/docker.sock", "-o", "/dev/null",
                        "http://d/containers/" + *a + "/logs?stdout=1&stderr=1&timestamps=1"},
                       &status);
    c.bytes = bytes;
    Figure l = follower.Run(**docker, *a, false, &error);
    if (std::string bad = follower.Check(lines); !bad.empty()) {
      std::fprintf(stderr, "run %d: stored log (finished): %s\n", run, bad.c_str());
      ++failures;
    }
    auto add = [](Figure& sum, const Figure& f) {
      sum.seconds += f.seconds;
      sum.cpu_seconds += f.cpu_seconds;
      sum.bytes += f.bytes;
    };
    add(live_docker, theirs);
    add(live_labelrun, mine);
    add(done_docker, d);
    add(done_curl, c);
    add(done_labelrun, l);
    std::printf(
        "  run %d: live docker %.1f / labelrun %.1f MiB/s; finished docker %.1f / curl "
        "%.1f / labelrun %.1f MiB/s\n",
        run, theirs.MiBps(), mine.MiBps(), d.MiBps(), c.MiBps(), l.MiBps());
    std::fflush(stdout);
    // LOGS_BENCH_PROFILE=N: N more reads by labelrun alone, for perf or callgrind.
    if (const char* extra = std::getenv("LOGS_BENCH_PROFILE"); extra && run == 0) {
      for (int i = std::atoi(extra); i > 0; --i) (void)follower.Run(**docker, *a, false, &error);
    }
    (void)(*docker)->Remove(*a);
    (void)(*docker)->Remove(*b);
  }
  std::printf("\nall runs together:\n");
  Row("live: docker logs -f --timestamps", live_docker);
  Row("live: labelrun (follow, store, report)", live_labelrun);
  Row("finished: curl of /logs (daemon ceiling)", done_curl);
  Row("finished: docker logs --timestamps", done_docker);
  Row("finished: labelrun (read, store, report)", done_labelrun);
  const double live_ratio = live_labelrun.MiBps() / live_docker.MiBps();
  const double done_ratio = done_labelrun.MiBps() / done_docker.MiBps();
  const double cpu_ratio = done_labelrun.CpuPerGiB() / done_docker.CpuPerGiB();
  const int64_t rss_mib = PeakRssKiB() >> 10;
  std::printf("\n%-52s %6.2fx   target >= 0.95x  %s\n", "live follow: labelrun / docker logs -f",
              live_ratio, live_ratio >= 0.95 ? "ok" : "MISSED");
  std::printf("%-52s %6.2fx   (>= 0.95x)       %s\n", "finished read: labelrun / docker logs",
              done_ratio, done_ratio >= 0.95 ? "ok" : "MISSED");
  std::printf("%-52s %6.2fx   (daemon ceiling)\n", "finished read: labelrun / curl",
              done_labelrun.MiBps() / done_curl.MiBps());
  std::printf("%-52s %6.2fx   (lower is cheaper)\n", "cpu per byte: labelrun / docker logs",
              cpu_ratio);
  std::printf("%-52s %6lld MiB  target <= 64 MiB  %s\n", "peak RSS of the follower process",
              static_cast<long long>(rss_mib), rss_mib <= 64 ? "ok" : "MISSED");
  std::printf("%-52s %6s       target: exact    %s\n", "stored log vs printed output",
              failures ? "differs" : "exact", failures ? "MISSED" : "ok");
  return failures ? 3 : 0;
}

}  // namespace
}  // namespace labelrun::bench

int main(int argc, char** argv) { return labelrun::bench::Main(argc, argv); }
