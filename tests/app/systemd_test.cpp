// labelrun under systemd: the notification protocol spoken by the real binary
// to a socket standing in for systemd's, the watchdog that stops when delivery
// processing is stuck, and the unit and sysusers files checked by systemd's own
// tools.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "labelrun/config/config.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// systemd's side of sd_notify(3): a datagram socket bound in a folder.
class NotifySocket {
 public:
  struct Message {
    Clock::time_point at;
    std::string text;  // "READY=1\nSTATUS=..."
    bool Has(const std::string& line) const {
      std::istringstream in(text);
      for (std::string l; std::getline(in, l);) {
        if (l == line) return true;
      }
      return false;
    }
    std::string Field(const std::string& key) const {
      std::istringstream in(text);
      for (std::string l; std::getline(in, l);) {
        if (l.rfind(key + "=", 0) == 0) return l.substr(key.size() + 1);
      }
      return "";
    }
  };

  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string p = path.string();
    if (fd_ < 0 || p.size() >= sizeof addr.sun_path) return;
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~NotifySocket() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  const std::filesystem::path& path() const { return path_; }

  // The next datagram, or nullopt when none comes within `timeout`.
  std::optional<Message> Next(std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1;
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return Message{Clock::now(), std::string(buf, static_cast<size_t>(n))};
  }

  // Every datagram until `until`.
  std::vector<Message> Until(Clock::time_point until) {
    std::vector<Message> out;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left <= 0ms) return out;
      if (auto m = Next(left)) out.push_back(*m);
    }
  }

  // Datagrams up to and including the first with `line`; when none comes within
  // `timeout`, the last element (if any) lacks `line`.
  std::vector<Message> UpTo(const std::string& line, std::chrono::milliseconds timeout) {
    std::vector<Message> out;
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      auto m = Next(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
      if (!m) break;
      out.push_back(*m);
      if (m->Has(line)) return out;
    }
    return out;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

std::string Describe(const std::vector<NotifySocket::Message>& messages) {
  std::string out;
  for (const auto& m : messages) out += "[" + m.text + "] ";
  return out;
}

int CountLine(const std::vector<NotifySocket::Message>& messages, const std::string& line) {
  int n = 0;
  for (const auto& m : messages) n += m.Has(line) ? 1 : 0;
  return n;
}

uint64_t MonotonicUsec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

TEST(SystemdNotify, ReadyWatchdogReloadAndStop) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  ASSERT_TRUE(notify.ok()) << "cannot bind " << notify.path();
  LabelrunProcess::Options options;
  options.env = {{"NOTIFY_SOCKET", notify.path().string()}, {"WATCHDOG_USEC", "200000"}};
  LabelrunProcess server(dir, options);

  // READY=1 comes first, once the listener answers.
  std::optional<NotifySocket::Message> ready = notify.Next(20s);
  ASSERT_TRUE(ready) << "no notification at all\n" << server.Log();
  EXPECT_TRUE(ready->Has("READY=1")) << ready->text;
  EXPECT_THAT(ready->Field("STATUS"), HasSubstr("serving on 127.0.0.1:"));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  EXPECT_EQ(HttpRequest("GET", server.Url("/healthz"), {}, "").status, 200);

  // WATCHDOG=1 every half of WATCHDOG_USEC (100 ms): about 15 in 1.5 s.
  std::vector<NotifySocket::Message> pings = notify.Until(Clock::now() + 1500ms);
  EXPECT_GE(CountLine(pings, "WATCHDOG=1"), 3) << Describe(pings);
  EXPECT_LE(CountLine(pings, "WATCHDOG=1"), 30) << "pinging far more often than asked";
  EXPECT_EQ(CountLine(pings, "WATCHDOG=1"), static_cast<int>(pings.size())) << Describe(pings);

  // SIGHUP: RELOADING=1 with a CLOCK_MONOTONIC timestamp, then READY=1 again.
  const uint64_t before = MonotonicUsec();
  server.process().Signal(SIGHUP);
  std::vector<NotifySocket::Message> reload = notify.UpTo("RELOADING=1", 5s);
  ASSERT_FALSE(reload.empty());
  ASSERT_TRUE(reload.back().Has("RELOADING=1")) << Describe(reload);
  const uint64_t stamp = std::stoull(reload.back().Field("MONOTONIC_USEC"));
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, MonotonicUsec());
  std::vector<NotifySocket::Message> again = notify.UpTo("READY=1", 5s);
  ASSERT_FALSE(again.empty());
  ASSERT_TRUE(again.back().Has("READY=1")) << Describe(again);
  EXPECT_THAT(again.back().Field("STATUS"), HasSubstr("configuration reloaded"));

  // SIGTERM: STOPPING=1, no watchdog pings after it, and a clean exit.
  server.process().Signal(SIGTERM);
  std::vector<NotifySocket::Message> stop = notify.UpTo("STOPPING=1", 5s);
  ASSERT_FALSE(stop.empty());
  ASSERT_TRUE(stop.back().Has("STOPPING=1")) << Describe(stop);
  EXPECT_EQ(server.process().Wait(10s), 0) << server.Log();
  std::vector<NotifySocket::Message> after = notify.Until(Clock::now() + 300ms);
  EXPECT_EQ(CountLine(after, "WATCHDOG=1"), 0) << Describe(after);
}

TEST(SystemdNotify, NothingIsSentWithoutNotifySocket) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  ASSERT_TRUE(notify.ok());
  LabelrunProcess::Options options;
  options.env = {{"WATCHDOG_USEC", "200000"}};  // no NOTIFY_SOCKET
  LabelrunProcess server(dir, options);
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  EXPECT_FALSE(notify.Next(500ms));
  server.process().Signal(SIGTERM);
  EXPECT_EQ(server.process().Wait(10s), 0) << server.Log();
  EXPECT_THAT(server.Log(), ::testing::Not(HasSubstr("systemd notify")));
}

// A delivery whose processing hangs (GitHub never answers the permission check
// until the client's 4 s timeout) stops the pings after inbox.stuck_after (1 s);
// they come back when processing moves again.
TEST(SystemdNotify, TheWatchdogStopsWhileDeliveryProcessingIsStuck) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  ASSERT_TRUE(notify.ok());
  FakeGithub::Options github_options;
  github_options.static_token = "ghp_labelrun_watchdog_test";
  FakeGithub github(github_options, SystemClock::Instance());
  github.SetPermission("acme/vision", "alice", "read");  // denied: no job, no Docker
  dir.Write("github-token", "ghp_labelrun_watchdog_test\n");

  LabelrunProcess::Options options;
  options.env = {{"NOTIFY_SOCKET", notify.path().string()}, {"WATCHDOG_USEC", "200000"}};
  options.stuck_after = "1s";
  options.extra_yaml = "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
                       "/LABELS.md\n"
                       "rules:\n"
                       "  - name: train\n"
                       "    when: {all: [task:training]}\n"
                       "    job: {image: \"labelrun-test/busybox:1\", command: [sh, train.sh]}\n"
                       "github:\n  api_url: " +
                       github.url() + "\n  token_file: " + (dir / "github-token").string() +
                       "\n  request_timeout: 4s\n  max_attempts: 1\n";
  LabelrunProcess server(dir, options);
  std::vector<NotifySocket::Message> start = notify.UpTo("READY=1", 20s);
  ASSERT_TRUE(!start.empty() && start.back().Has("READY=1")) << server.Log();
  ASSERT_TRUE(server.WaitReady()) << server.Log();

  github.PushFault(FakeFault::kHang);
  const std::string labeled =
      R"({"action":"labeled","label":{"name":"task:training"},"issue":{"number":3,)"
      R"("state":"open","title":"t","body":null,"labels":[{"name":"task:training"}]},)"
      R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"alice","type":"User"}})";
  const Clock::time_point sent = Clock::now();
  ASSERT_EQ(server.Deliver("issues", "stuck-1", labeled).status, 202);
  std::vector<NotifySocket::Message> during = notify.Until(sent + 7s);

  // The longest silence lies between the stuck limit and the GitHub timeout.
  Clock::time_point last = sent;
  Clock::duration longest{0};
  Clock::time_point silence_ends = sent;
  for (const auto& m : during) {
    if (!m.Has("WATCHDOG=1")) continue;
    if (m.at - last > longest) {
      longest = m.at - last;
      silence_ends = m.at;
    }
    last = m.at;
  }
  EXPECT_GE(longest, 2s) << Describe(during);
  EXPECT_LE(longest, 4s) << Describe(during);
  int pings_after = 0;
  for (const auto& m : during) pings_after += m.at > silence_ends && m.Has("WATCHDOG=1") ? 1 : 0;
  EXPECT_GE(pings_after, 3) << "the pings did not come back\n" << server.Log();
  EXPECT_THAT(server.Log(), HasSubstr("watchdog: the delivery processor has been stuck"));
  EXPECT_THAT(server.Log(), HasSubstr("watchdog: the delivery processor moves again"));

  server.process().Signal(SIGTERM);
  EXPECT_EQ(server.process().Wait(15s), 0) << server.Log();
}

// ---- config/systemd ------------------------------------------------------------

const std::filesystem::path kUnit =
    std::filesystem::path(LABELRUN_SOURCE_DIR) / "config/systemd/labelrun.service";

// The unit's [Service] settings, in order (repeated keys kept).
std::vector<std::pair<std::string, std::string>> UnitSettings(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line[0] == '[') continue;
    size_t eq = line.find('=');
    if (eq != std::string::npos) out.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

std::string Setting(const std::string& text, const std::string& key) {
  for (const auto& [k, v] : UnitSettings(text)) {
    if (k == key) return v;
  }
  return "<unset>";
}

// The unit as installed, but running the binary under test (verify checks that
// ExecStart= names an executable).
std::filesystem::path UnitForVerify(const TempDir& dir, std::string text) {
  static const std::regex kExecStart(R"(^ExecStart=/usr/local/bin/labelrun )",
                                     std::regex::multiline);
  EXPECT_TRUE(std::regex_search(text, kExecStart));
  text = std::regex_replace(text, kExecStart, "ExecStart=" + std::string(LABELRUN_BINARY) + " ");
  return dir.Write("labelrun.service", text);
}

// Runs `systemd-analyze verify`; returns its exit status and the lines that speak
// of the unit (verify exits 0 on unknown keys and unparsable values, and only
// warns).
int Verify(const std::filesystem::path& unit, std::vector<std::string>* about_unit,
           std::string* output) {
  int rc = RunCommand({"/usr/bin/systemd-analyze", "verify", unit.string()}, output);
  std::istringstream in(*output);
  for (std::string line; std::getline(in, line);) {
    if (line.find("labelrun.service") != std::string::npos ||
        line.find(unit.parent_path().string()) != std::string::npos) {
      about_unit->push_back(line);
    }
  }
  return rc;
}

TEST(SystemdUnit, SystemdAnalyzeVerifyPasses) {
  TempDir dir;
  std::filesystem::path unit = UnitForVerify(dir, ReadFile(kUnit));
  std::vector<std::string> about_unit;
  std::string output;
  EXPECT_EQ(Verify(unit, &about_unit, &output), 0)
      << output << "\n(systemd-analyze comes with the systemd package: scripts/install-deps.sh)";
  EXPECT_THAT(about_unit, ::testing::IsEmpty()) << output;
}

// The check above can fail: a misspelt directive is only a warning to verify.
TEST(SystemdUnit, TheVerifyCheckCatchesWhatVerifyOnlyWarnsAbout) {
  TempDir dir;
  std::string text = ReadFile(kUnit);
  text = std::regex_replace(text, std::regex("ProtectClock=yes"), "ProtectClok=yes");
  text = std::regex_replace(text, std::regex("Type=notify\n"), "Type=notifyy\n");
  std::filesystem::path unit = UnitForVerify(dir, text);
  std::vector<std::string> about_unit;
  std::string output;
  EXPECT_EQ(Verify(unit, &about_unit, &output), 0) << output;
  EXPECT_THAT(about_unit, ::testing::IsSupersetOf({HasSubstr("Unknown key 'ProtectClok'"),
                                                   HasSubstr("Failed to parse service type")}))
      << output;
}

TEST(SystemdUnit, HardeningScoresAsSystemdRatesIt) {
  TempDir dir;
  std::filesystem::path unit = UnitForVerify(dir, ReadFile(kUnit));
  std::string output;
  // 0 (locked down) to 100 (exposed); the unit scores 17 ("1.7 OK").
  EXPECT_EQ(RunCommand({"/usr/bin/systemd-analyze", "security", "--offline=yes", "--threshold=20",
                        unit.string()},
                       &output),
            0)
      << output;
}

TEST(SystemdUnit, SettingsMatchWhatLabelrunDoes) {
  const std::string text = ReadFile(kUnit);
  EXPECT_EQ(Setting(text, "Type"), "notify");
  EXPECT_EQ(Setting(text, "NotifyAccess"), "main");
  EXPECT_EQ(Setting(text, "WatchdogSec"), "30s");
  EXPECT_EQ(Setting(text, "ExecReload"), "/bin/kill -HUP $MAINPID");
  EXPECT_EQ(Setting(text, "User"), "labelrun");
  EXPECT_EQ(Setting(text, "SupplementaryGroups"), "docker");
  EXPECT_EQ(Setting(text, "CapabilityBoundingSet"), "");
  EXPECT_EQ(Setting(text, "ProtectSystem"), "strict");

  // The state folder systemd creates is the default state_dir.
  EXPECT_EQ(std::filesystem::path("/var/lib") / Setting(text, "StateDirectory"),
            config::Config{}.state_dir);

  // Stopping waits for requests in flight (read + write timeouts) and more than
  // the default stop grace.
  std::smatch m;
  const std::string stop = Setting(text, "TimeoutStopSec");
  ASSERT_TRUE(std::regex_match(stop, m, std::regex(R"((\d+)s)"))) << stop;
  const auto timeout = std::chrono::seconds(std::stoi(m[1].str()));
  const config::Config defaults;
  EXPECT_GT(timeout, defaults.scheduler.stop_grace);
  EXPECT_GT(timeout, defaults.server.read_timeout + defaults.server.write_timeout);

  // Descriptors for every connection at server.max_connections, with room to
  // spare for the database, Docker and GitHub calls, output files and the log.
  const std::string nofile = Setting(text, "LimitNOFILE");
  ASSERT_TRUE(std::regex_match(nofile, m, std::regex(R"((\d+))"))) << "LimitNOFILE=" << nofile;
  EXPECT_GE(std::stoull(m[1].str()), 4ULL * defaults.server.max_connections);

  // The webhook secret comes as the credential labelrun reads by itself.
  std::vector<std::string> credentials;
  for (const auto& [k, v] : UnitSettings(text)) {
    if (k == "LoadCredential") credentials.push_back(v.substr(0, v.find(':')));
  }
  EXPECT_THAT(credentials, ::testing::Contains("webhook-secret"));
  config::WebhookConfig no_secrets_configured;
  TempDir creds;
  creds.Write("webhook-secret", "from-systemd\n");
  config::SecretEnv env;
  env.getenv = [&](const std::string& name) -> std::optional<std::string> {
    if (name == "CREDENTIALS_DIRECTORY") return creds.path().string();
    return std::nullopt;
  };
  auto secrets = config::ResolveWebhookSecrets(no_secrets_configured, env);
  ASSERT_TRUE(secrets) << secrets.error().message();
  EXPECT_EQ(*secrets, std::vector<std::string>{"from-systemd"});
}

TEST(SystemdSysusers, CreatesTheUserInTheDockerGroup) {
  TempDir root;
  root.Write("etc/group", "root:x:0:\ndocker:x:120:\n");
  root.Write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
  std::string output;
  ASSERT_EQ(RunCommand({"/usr/bin/systemd-sysusers", "--root=" + root.path().string(),
                        std::string(LABELRUN_SOURCE_DIR) + "/config/systemd/labelrun.sysusers"},
                       &output),
            0)
      << output;
  const std::string passwd = ReadFile(root / "etc/passwd");
  const std::string group = ReadFile(root / "etc/group");
  EXPECT_TRUE(std::regex_search(
      passwd, std::regex(R"(^labelrun:x:\d+:\d+:[^:]*:/var/lib/labelrun:/usr/sbin/nologin$)",
                         std::regex::multiline)))
      << passwd;
  EXPECT_TRUE(std::regex_search(group, std::regex(R"(^labelrun:x:\d+:$)", std::regex::multiline)))
      << group;
  EXPECT_TRUE(
      std::regex_search(group, std::regex(R"(^docker:x:120:labelrun$)", std::regex::multiline)))
      << group;
}

}  // namespace
}  // namespace labelrun::testing
