// DockerRuntime::Logs against the real daemon: both streams, progress bars,
// Docker's 16 KiB partial messages, the line cap, and bounded memory under
// 100 MB of output.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <regex>
#include <thread>

#include "runtime/docker_fixture.hpp"

namespace labelrun::runtime {
namespace {

using std::chrono::steady_clock;

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
int64_t ProcStatus(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  }
  return -1;
}

TEST_F(DockerRuntimeTest, LogsCarryStdoutAndStderrLinesWithTimestamps) {
  std::string id;
  ASSERT_EQ(RunToExit(Spec("echo out1; echo err1 >&2; printf 'bar 1\\rbar 2\\rbar 3\\n'; "
                           "printf 'a\\r\\nb\\n\\n'; echo err2 >&2; printf 'no newline'"),
                      &id)
                .value(),
            0);
  auto lines = ReadLogs(id);
  ASSERT_TRUE(lines) << lines.error().ToString();
  EXPECT_EQ(
      Texts(*lines, LogStream::kStdout),
      (std::vector<std::string>{"out1", "bar 1", "bar 2", "bar 3", "a", "b", "", "no newline"}));
  EXPECT_EQ(Texts(*lines, LogStream::kStderr), (std::vector<std::string>{"err1", "err2"}));
  // Redraws ("bar 1\r", "bar 2\r") are told from line ends ("bar 3\n", "a\r\n").
  std::vector<std::string> redraws;
  for (const OwnedLine& l : *lines) {
    if (l.redraw) redraws.push_back(l.text);
  }
  EXPECT_EQ(redraws, (std::vector<std::string>{"bar 1", "bar 2"}));
  std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d))");
  std::string last;
  for (const OwnedLine& l : *lines) {
    EXPECT_TRUE(std::regex_match(l.timestamp, rfc3339)) << l.timestamp;
    EXPECT_FALSE(l.truncated);
    if (l.stream == LogStream::kStdout) {
      EXPECT_GE(l.timestamp, last);
      last = l.timestamp;
    }
  }
}

TEST_F(DockerRuntimeTest, FollowStreamsUntilTheContainerExits) {
  std::unique_ptr<PendingExit> exit;
  auto id = CreateAndStart(Spec("for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done"), &exit);
  ASSERT_TRUE(id) << id.error().ToString();
  auto lines = ReadLogs(*id, /*follow=*/true);
  ASSERT_TRUE(lines) << lines.error().ToString();
  EXPECT_EQ(Texts(*lines, LogStream::kStdout),
            (std::vector<std::string>{"line1", "line2", "line3", "line4", "line5"}));
  EXPECT_EQ(exit->Get().value().status_code, 0);
}

TEST_F(DockerRuntimeTest, FollowEndsOnStopFlagOrWhenTheCallbackSaysSo) {
  std::unique_ptr<PendingExit> exit;
  auto id =
      CreateAndStart(Spec("trap 'exit 0' TERM; while true; do echo tick; sleep 0.05; done"), &exit);
  ASSERT_TRUE(id) << id.error().ToString();

  int seen = 0;
  Status st = rt().Logs(
      *id, 0, true, [&](const LogLine&) { return ++seen < 3; }, nullptr);
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(seen, 3);

  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  auto t0 = steady_clock::now();
  st = rt().Logs(
      *id, 0, true, [](const LogLine&) { return true; }, &stop);
  stopper.join();
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(DockerRuntimeTest, LogsSinceSkipOlderLines) {
  std::string id;
  ASSERT_EQ(RunToExit(Spec("echo early"), &id).value(), 0);
  std::vector<std::string> texts;
  Status st = rt().Logs(
      id, std::time(nullptr) + 3600, false,
      [&](const LogLine& l) {
        texts.emplace_back(l.text);
        return true;
      },
      nullptr);
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_TRUE(texts.empty());
}

TEST_F(DockerRuntimeTest, AMegabyteLineArrivesWhole) {
  std::string id;
  ASSERT_EQ(
      RunToExit(Spec("head -c 1000000 /dev/zero | tr '\\0' x; echo; echo after"), &id).value(), 0);
  auto lines = ReadLogs(id);
  ASSERT_TRUE(lines) << lines.error().ToString();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0].text, std::string(1000000, 'x'));
  EXPECT_FALSE((*lines)[0].truncated);
  EXPECT_EQ((*lines)[1].text, "after");
}

TEST_F(DockerRuntimeTest, ALineOverTheCapIsCutOnce) {
  DockerOptions options;
  options.max_log_line_bytes = 64 * 1024;
  auto capped = testing::ConnectTestDocker(options);
  ASSERT_TRUE(capped);
  std::string id;
  ASSERT_EQ(RunToExit(Spec("head -c 200000 /dev/zero | tr '\\0' y; echo; echo after"), &id).value(),
            0);
  std::vector<OwnedLine> lines;
  Status st = (*capped)->Logs(
      id, 0, false,
      [&](const LogLine& l) {
        lines.push_back({l.stream, std::string(l.timestamp), std::string(l.text), l.truncated});
        return true;
      },
      nullptr);
  ASSERT_TRUE(st) << st.error().ToString();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, std::string(64 * 1024, 'y'));
  EXPECT_TRUE(lines[0].truncated);
  EXPECT_EQ(lines[1].text, "after");
  EXPECT_FALSE(lines[1].truncated);
}

TEST_F(DockerRuntimeTest, HundredMegabytesStreamWithBoundedMemory) {
  // 1 MiB lines of 99 characters + '\n': 100 MiB of output (about 170 MB of
  // json-file log, below the rotation size: see DockerOptions::log_max_size).
  const std::string line(99, 'z');
  constexpr int64_t kLines = 1 << 20;
  std::unique_ptr<PendingExit> exit;
  auto id =
      CreateAndStart(Spec("yes " + line + " | head -c " + std::to_string(kLines * 100)), &exit);
  ASSERT_TRUE(id) << id.error().ToString();

  // Reset the peak so that VmHWM measures this stream only.
  std::ofstream("/proc/self/clear_refs") << "5";
  int64_t rss_before = ProcStatus("VmRSS");
  ASSERT_GT(rss_before, 0);
  int64_t count = 0, bytes = 0, wrong = 0;
  auto t0 = steady_clock::now();
  Status st = rt().Logs(
      *id, 0, true,
      [&](const LogLine& l) {
        ++count;
        bytes += static_cast<int64_t>(l.text.size());
        if (l.text != line || l.truncated) ++wrong;
        return true;
      },
      nullptr);
  auto took = std::chrono::duration<double>(steady_clock::now() - t0).count();
  int64_t peak = ProcStatus("VmHWM");
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(count, kLines);
  EXPECT_EQ(bytes, kLines * 99);
  EXPECT_EQ(wrong, 0);
  EXPECT_LT(peak - rss_before, int64_t{64} << 20)
      << "peak RSS grew by " << ((peak - rss_before) >> 20) << " MiB";
  std::printf("100 MiB of log in %.1f s (%.0f MiB/s); RSS %lld MiB, peak %lld MiB\n", took,
              100 / took, static_cast<long long>(rss_before >> 20),
              static_cast<long long>(peak >> 20));
  EXPECT_EQ(exit->Get().value().status_code, 0);
}

TEST_F(DockerRuntimeTest, LogsOfAMissingContainerAreNotFound) {
  Status st = rt().Logs(
      "labelrun-test-never-existed", 0, false, [](const LogLine&) { return true; }, nullptr);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(st.error().message().find("No such container"), std::string::npos);
}

TEST_F(DockerRuntimeTest, CallsFromManyThreadsAtOnce) {
  std::unique_ptr<PendingExit> exit;
  auto id = CreateAndStart(Spec("for i in $(seq 1 40); do echo $i; sleep 0.02; done"), &exit);
  ASSERT_TRUE(id) << id.error().ToString();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::vector<std::string> followed;
  threads.emplace_back([&] {
    auto lines = ReadLogs(*id, true);
    if (!lines)
      ++failures;
    else
      followed = Texts(*lines, LogStream::kStdout);
  });
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!rt().Inspect(*id) || !rt().List(janitor().labels())) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(followed.size(), 40u);
  EXPECT_EQ(followed.back(), "40");
}

}  // namespace
}  // namespace labelrun::runtime
