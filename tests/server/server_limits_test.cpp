// The real labelrun binary under hostile load on loopback: bodies held open,
// idle sockets, descriptors run out, framing it cannot read, huge deliveries.
// Every bound is checked from outside: status lines, the log, /proc.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "labelrun/webhook/signature.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

constexpr const char* kLabeled =
    R"({"action":"labeled","label":{"name":"gpu:required"},"issue":{"number":7,"state":"open",)"
    R"("title":"t","body":null,"labels":[{"name":"task:training"},{"name":"gpu:required"}]},)"
    R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"alice","type":"User"},)"
    R"("installation":{"id":5}})";

bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

// A field of /proc/PID/status in KiB (VmRSS, VmHWM); -1 when unreadable.
int64_t ProcStatusKib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

std::string SignedHead(const std::string& guid, const std::string& body, const std::string& extra) {
  return "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "X-GitHub-Event: issues\r\nX-GitHub-Delivery: " +
         guid + "\r\nX-Hub-Signature-256: " + webhook::SignBody(kTestSecret, body) + "\r\n" +
         extra + "\r\n";
}

std::string Chunked(const std::string& body) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", body.size());
  return size + body + "\r\n0\r\n\r\n";
}

class ServerLimitsTest : public ::testing::Test {
 protected:
  std::unique_ptr<LabelrunProcess> Start(LabelrunProcess::Options options = {}) {
    auto p = std::make_unique<LabelrunProcess>(dir_, std::move(options));
    EXPECT_TRUE(p->WaitReady()) << p->Log();
    return p;
  }
  TempDir dir_;
};

// A request whose body length cannot be known is refused and the connection
// closed, so that a request hidden in its body is never answered.
TEST_F(ServerLimitsTest, TransferEncodingOtherThanChunkedIs400AndCloses) {
  auto server = Start();
  const std::string hidden = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string te :
       {"xchunked", "gzip, chunked", "chunked, gzip", "gzip", "chunked, chunked", "identity"}) {
    bool closed = false;
    const std::string reply =
        RawExchange(server->port(),
                    SignedHead("te-" + te, kLabeled, "Transfer-Encoding: " + te + "\r\n") +
                        Chunked(kLabeled) + hidden,
                    5s, &closed);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 400")) << te;
    EXPECT_THAT(reply, HasSubstr("Transfer-Encoding")) << te;
    EXPECT_THAT(reply, Not(HasSubstr("HTTP/1.1 200"))) << te << ": the hidden request was read";
    EXPECT_TRUE(closed) << te;
  }
  // Two header fields that together say "gzip, chunked".
  bool closed = false;
  std::string reply = RawExchange(
      server->port(),
      SignedHead("te-two", kLabeled, "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") +
          Chunked(kLabeled) + hidden,
      5s, &closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 400"));
  EXPECT_TRUE(closed);
  // Plain chunked is fine, and the connection stays open for the next request.
  reply = RawExchange(
      server->port(),
      SignedHead("te-ok", kLabeled, "Transfer-Encoding: chunked\r\n") + Chunked(kLabeled) + hidden,
      2s, &closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 202")) << reply;
  EXPECT_THAT(reply, HasSubstr("\r\n\r\nok\n"));
}

// Bodies held one byte short cannot add up past server.max_inflight_body_bytes:
// the next one is refused from its headers, before its 100 Continue, and the
// budget comes back when a holder goes.
TEST_F(ServerLimitsTest, BodiesInFlightStayWithinTheGlobalBudget) {
  LabelrunProcess::Options options;
  options.max_body = "600KiB";
  options.server_yaml = "  max_inflight_body_bytes: 1MiB\n";
  auto server = Start(options);
  const std::string head =
      "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";

  auto holder = std::make_unique<RawConnection>(server->port());
  ASSERT_TRUE(holder->Send(head + "Content-Length: 600000\r\nExpect: 100-continue\r\n\r\n"));
  // The 100 Continue comes once its share is taken.
  ASSERT_THAT(holder->ReadAll(1500ms), StartsWith("HTTP/1.1 100"));
  ASSERT_TRUE(holder->Send("{\"a\":"));

  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  std::string reply = RawExchange(
      server->port(), head + "Content-Length: 600000\r\nExpect: 100-continue\r\n\r\n", 3s, &closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 503")) << reply;
  EXPECT_THAT(reply, HasSubstr("Retry-After: "));
  EXPECT_THAT(reply, HasSubstr("max_inflight_body_bytes"));
  EXPECT_THAT(reply, Not(HasSubstr("100 Continue")));
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  // A chunked body is charged as it grows.
  RawConnection chunked(server->port());
  ASSERT_TRUE(chunked.Send(head + "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string piece(64 << 10, 'x');
  for (int i = 0; i < 10; ++i) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    if (!chunked.Send(size + piece + "\r\n")) break;
  }
  reply = chunked.ReadAll(3s, &closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 503")) << reply.substr(0, 200);

  // The holder goes; a full delivery fits again.
  holder.reset();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(server->Deliver("issues", "budget-after", kLabeled).status, 202);
}

// At server.max_connections a new connection closes the longest-idle one, so
// idle sockets from one client cannot lock out a delivery.
TEST_F(ServerLimitsTest, IdleConnectionsGiveWayAtMaxConnections) {
  LabelrunProcess::Options options;
  options.server_yaml = "  max_connections: 8\n";
  auto server = Start(options);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server->port()));
    ASSERT_TRUE(idle.back()->connected());
    std::this_thread::sleep_for(20ms);  // each accepted in turn: their idle ages differ
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(server->Deliver("issues", "evict-1", kLabeled).status, 202);
  // The oldest went first.
  bool closed = false;
  idle.front()->ReadAll(2s, &closed);
  EXPECT_TRUE(closed);
  idle.back()->ReadAll(200ms, &closed);
  EXPECT_FALSE(closed);
  EXPECT_EQ(server->Deliver("issues", "evict-2", kLabeled).status, 202);
}

// Out of file descriptors: accept failures are logged once, not every 50 ms,
// and idle connections are closed so that a delivery gets in.
TEST_F(ServerLimitsTest, AcceptOutOfDescriptorsLogsOnceAndRecovers) {
  auto server = Start();
  const pid_t pid = server->process().pid();
  std::string output;
  ASSERT_EQ(
      RunCommand({"/usr/bin/prlimit", "--pid", std::to_string(pid), "--nofile=48:48"}, &output), 0)
      << output;
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 60; ++i) idle.push_back(std::make_unique<RawConnection>(server->port()));
  std::this_thread::sleep_for(1500ms);
  HttpResponse r = server->Deliver("issues", "emfile-1", kLabeled);
  EXPECT_EQ(r.status, 202) << r.error << "\n" << server->Log();
  EXPECT_GE(server->CountInLog("accept failed"), 1u);
  EXPECT_LE(server->CountInLog("accept failed"), 1u) << server->Log();
}

// A signed delivery with a 20 MiB issue title: the memory it took is given
// back once it is processed.
TEST_F(ServerLimitsTest, MemoryReturnsAfterALargeDelivery) {
  auto server = Start();
  const pid_t pid = server->process().pid();
  ASSERT_EQ(server->Deliver("issues", "small", kLabeled).status, 202);
  ASSERT_TRUE(WaitUntil([&] { return server->CountInLog("processed delivery small") == 1; }, 10s));
  const int64_t before = ProcStatusKib(pid, "VmRSS");
  ASSERT_GT(before, 0);

  std::string big = kLabeled;
  big.replace(big.find("\"title\":\"t\""), 11, "\"title\":\"" + std::string(20 << 20, 't') + "\"");
  int64_t after = 0;
  // Twice: what stays after the first must not grow with the second.
  for (const std::string guid : {"big-title-1", "big-title-2"}) {
    HttpResponse r = server->Deliver("issues", guid, big);
    ASSERT_EQ(r.status, 202) << r.body << r.error;
    ASSERT_TRUE(
        WaitUntil([&] { return server->CountInLog("processed delivery " + guid) == 1; }, 20s))
        << server->Log();
    // The processor finishes just after its log line.
    WaitUntil(
        [&] {
          after = ProcStatusKib(pid, "VmRSS");
          return after - before < 32 * 1024;
        },
        3s);
    std::printf("%s: RSS before %lld KiB, peak %lld KiB, after %lld KiB\n", guid.c_str(),
                static_cast<long long>(before), static_cast<long long>(ProcStatusKib(pid, "VmHWM")),
                static_cast<long long>(after));
    EXPECT_LT(after - before, 32 * 1024) << "KiB retained after a 20 MiB delivery";
  }
}

// A job's 128 MiB outputs (a sparse file, written out in full in the tar):
// the index, one file and the whole archive are served from disk, and the
// process does not grow by their size.
TEST_F(ServerLimitsTest, OutputsAreServedFromDiskNotMemory) {
  const std::filesystem::path job = dir_ / "state/jobs/jb190000001";
  std::filesystem::create_directories(job / "src/outputs");
  dir_.Write("state/jobs/jb190000001/src/outputs/small.txt", "hello\n");
  dir_.Write("state/jobs/jb190000001/src/outputs/huge.bin", "");
  ASSERT_EQ(truncate((job / "src/outputs/huge.bin").c_str(), 128LL << 20), 0);
  std::string output;
  ASSERT_EQ(RunCommand({"/usr/bin/tar", "-cf", (job / "outputs.tar").string(), "-C",
                        (job / "src").string(), "outputs"},
                       &output),
            0)
      << output;
  dir_.Write("dashboard-token", "dash-token-0123456789abcdef\n");
  LabelrunProcess::Options options;
  options.extra_yaml = "dashboard:\n  token_file: " + (dir_ / "dashboard-token").string() + "\n";
  auto server = Start(options);
  const pid_t pid = server->process().pid();
  const std::vector<std::string> auth = {"Authorization: Bearer dash-token-0123456789abcdef"};
  ASSERT_EQ(HttpRequest("GET", server->Url("/healthz"), {}, "").status, 200);
  const int64_t before = ProcStatusKib(pid, "VmHWM");

  HttpResponse index = HttpRequest("GET", server->Url("/jobs/jb190000001/outputs"), auth, "");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_THAT(index.body, HasSubstr("huge.bin"));
  EXPECT_THAT(index.body, HasSubstr("128 MiB"));
  EXPECT_THAT(index.body, Not(HasSubstr("Truncated")));
  // What the dispatcher writes beside an archive that job.outputs_max_bytes cut.
  dir_.Write("state/jobs/jb190000001/outputs.truncated",
             "outputs over job.outputs_max_bytes (1 GiB): 'outputs/<b>x</b>' left out\n");
  index = HttpRequest("GET", server->Url("/jobs/jb190000001/outputs"), auth, "");
  EXPECT_THAT(index.body, HasSubstr("<strong>Truncated:</strong> outputs over "
                                    "job.outputs_max_bytes (1 GiB): &#39;outputs/&lt;b&gt;"));
  HttpResponse small =
      HttpRequest("GET", server->Url("/jobs/jb190000001/outputs/small.txt"), auth, "");
  ASSERT_EQ(small.status, 200);
  EXPECT_EQ(small.body, "hello\n");
  HttpOptions slow_ok;
  slow_ok.timeout_ms = 60'000;
  HttpResponse huge =
      HttpRequest("GET", server->Url("/jobs/jb190000001/outputs/huge.bin"), auth, "", slow_ok);
  ASSERT_EQ(huge.status, 200) << huge.error;
  EXPECT_EQ(huge.body.size(), 128u << 20);
  huge.body.clear();
  huge.body.shrink_to_fit();
  HttpResponse tar =
      HttpRequest("GET", server->Url("/jobs/jb190000001/outputs.tar"), auth, "", slow_ok);
  ASSERT_EQ(tar.status, 200) << tar.error;
  EXPECT_EQ(tar.body, ReadFile(job / "outputs.tar"));
  const int64_t peak = ProcStatusKib(pid, "VmHWM");
  std::printf("VmHWM before %lld KiB, after three downloads %lld KiB\n",
              static_cast<long long>(before), static_cast<long long>(peak));
  EXPECT_LT(peak - before, 16 * 1024) << "KiB: an output was read into memory";
}

}  // namespace
}  // namespace labelrun::testing
