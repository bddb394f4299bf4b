// Dispatcher benchmark, against the real Docker daemon, in one run:
//  1. start latency: a decided job until its container runs, against
//     `docker run -d` of the same local image (ratio; target 1.2x + 50 ms);
//  2. log throughput: a container printing as fast as it can, followed into the
//     job's log file and the reporting side (MB/s, and this process's peak RSS;
//     target >= 100 MB/s with RSS under 64 MB).
// Usage: build/release/dispatch_bench [--runs N] [--megabytes M]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>

#include "labelrun/app/job_reporter.hpp"
#include "labelrun/runtime/docker.hpp"
#include "labelrun/runtime/sources.hpp"
#include "labelrun/scheduler/dispatcher.hpp"

namespace {

using namespace labelrun;
using Clock = std::chrono::steady_clock;
constexpr char kImage[] = "labelrun-test/busybox:1";

// Forwards to the reporter and wakes the benchmark on state changes.
class Waiter final : public scheduler::JobObserver {
 public:
  explicit Waiter(app::JobReporter& reporter) : reporter_(reporter) {}
  void OnJobChanged(const store::JobRecord& job, int position) override {
    reporter_.OnJobChanged(job, position);
    std::lock_guard lock(mu_);
    states_[job.id] = job.state;
    if (job.state == JobState::kRunning && !running_at_.count(job.id)) {
      running_at_[job.id] = Clock::now();
    }
    cv_.notify_all();
  }
  void OnLogLine(const std::string& id, runtime::LogStream s, std::string_view text) override {
    bytes_ += text.size() + 1;
    reporter_.OnLogLine(id, s, text);
  }
  void OnGpuSamples(const std::string& id, const std::vector<scheduler::GpuSample>& s) override {
    reporter_.OnGpuSamples(id, s);
  }
  Clock::time_point WaitRunning(const std::string& id) {
    std::unique_lock lock(mu_);
    cv_.wait(lock,
             [&] { return running_at_.count(id) || (states_.count(id) && IsFinal(states_[id])); });
    return running_at_.count(id) ? running_at_[id] : Clock::now();
  }
  JobState WaitFinal(const std::string& id) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return states_.count(id) && IsFinal(states_[id]); });
    return states_[id];
  }
  std::atomic<uint64_t> bytes_{0};

 private:
  app::JobReporter& reporter_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, JobState> states_;
  std::map<std::string, Clock::time_point> running_at_;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

long PeakRssKb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

int Run(int runs, int megabytes) {
  auto docker = runtime::DockerRuntime::Connect({"unix:///var/run/docker.sock", "", "", ""});
  if (!docker) {
    std::cerr << "docker: " << docker.error().message() << "\n";
    return 1;
  }
  std::shared_ptr<runtime::Runtime> rt(std::move(*docker));
  if (!rt->ImageId(kImage)) {
    std::cerr << kImage << " is missing: run tests/support/images/busybox.sh\n";
    return 1;
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("labelrun-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "code");
  std::ofstream(dir / "code" / "README") << "bench\n";

  // Baseline: docker run -d (create + start) of the same image.
  std::vector<double> baseline;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    const int rc = std::system(("docker run -d --rm --label labelrun.bench=1 " +
                                std::string(kImage) + " sleep 2 >/dev/null")
                                   .c_str());
    baseline.push_back(Ms(Clock::now() - t0));
    if (rc != 0) return 1;
  }

  auto store = store::JobStore::Open(dir / "labelrun.db");
  runtime::LocalSourceOptions so;
  so.default_folder = dir / "code";
  runtime::LocalSource source(so);
  app::ReporterOptions ro;
  ro.jobs_dir = dir / "jobs";
  ro.update_interval = std::chrono::seconds(30);
  app::JobReporter reporter(ro, nullptr, SystemClock::Instance());
  Waiter waiter(reporter);
  scheduler::Host host;
  host.slots.name = "local";
  host.runtime = rt;
  scheduler::DispatcherOptions o;
  o.jobs_dir = dir / "jobs";
  o.instance = "bench-" + std::to_string(::getpid());
  scheduler::Dispatcher dispatcher(o, {host}, **store, source, waiter, SystemClock::Instance());
  if (!dispatcher.Start()) return 1;

  auto job = [&](const std::string& script, int n) {
    scheduler::NewJob j;
    j.repository = "bench/repo";
    j.issue = n;
    j.spec.rule = "bench";
    j.spec.image = kImage;
    j.spec.command = {"sh", "-c", script};
    return j;
  };
  std::vector<double> dispatched;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    auto submitted = dispatcher.Submit(job("sleep 1", i + 1));
    if (!submitted) {
      std::cerr << submitted.error().message() << "\n";
      return 1;
    }
    dispatched.push_back(Ms(waiter.WaitRunning(submitted->id) - t0));
    waiter.WaitFinal(submitted->id);
  }
  const double b = Median(baseline), d = Median(dispatched);
  std::printf(
      "start latency (median of %d): docker run -d %.1f ms, labelrun decided->running %.1f ms\n",
      runs, b, d);
  std::printf("  ratio %.2fx; target: within 1.2x + 50 ms = %.1f ms: %s\n", d / b, b * 1.2 + 50,
              d <= b * 1.2 + 50 ? "met" : "missed");

  // Throughput: base64 lines of 76 characters, as fast as the container prints.
  const long rss_before = PeakRssKb();
  const std::string script =
      "head -c " + std::to_string(megabytes * 3 / 4) + "000000 /dev/zero | base64";
  waiter.bytes_ = 0;
  auto big = dispatcher.Submit(job(script, 1000));
  if (!big) return 1;
  const auto started = waiter.WaitRunning(big->id);
  const JobState end = waiter.WaitFinal(big->id);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const double mb = static_cast<double>(waiter.bytes_.load()) / 1e6;
  std::printf(
      "log throughput: %.0f MB in %.2f s = %.1f MB/s (%s); peak RSS %.1f MB (before: %.1f MB)\n",
      mb, seconds, mb / seconds, std::string(JobStateName(end)).c_str(), PeakRssKb() / 1024.0,
      rss_before / 1024.0);
  std::printf("  target: >= 100 MB/s with RSS < 64 MB: %s\n",
              mb / seconds >= 100 && PeakRssKb() < 64 * 1024 ? "met" : "missed");
  // Baseline: the daemon's own `docker logs` of the same output, to /dev/null.
  const std::string name = "labelrun-bench-logs-" + std::to_string(::getpid());
  if (std::system(("docker run -d --name " + name + " " + std::string(kImage) + " sh -c '" +
                   script + "' >/dev/null && docker wait " + name + " >/dev/null")
                      .c_str()) == 0) {
    const auto t0 = Clock::now();
    const int rc = std::system(("docker logs " + name + " >/dev/null 2>&1").c_str());
    const double base = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("  baseline: docker logs of the same output %.1f MB/s; labelrun follows at %.2fx\n",
                mb / base, (mb / seconds) / (mb / base));
    (void)rc;
  }
  (void)std::system(("docker rm -f " + name + " >/dev/null 2>&1").c_str());
  dispatcher.Stop();
  reporter.Stop();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5, megabytes = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--megabytes") == 0) megabytes = std::atoi(argv[i + 1]);
  }
  return Run(std::max(runs, 1), std::max(megabytes, 1));
}
