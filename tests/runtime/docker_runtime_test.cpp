// DockerRuntime against the real daemon: lifecycle, errors, GPUs, copying,
// listing, exec. Logs are in docker_logs_test.cpp, TLS in docker_tls_test.cpp.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/docker_fixture.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::runtime {
namespace {

using std::chrono::steady_clock;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

DockerOptions With(void (*set)(DockerOptions&)) {
  DockerOptions o;
  set(o);
  return o;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_F(DockerRuntimeTest, NegotiatesTheApiVersion) {
  std::string v = rt().ApiVersion().value();
  EXPECT_GE(CompareApiVersions(v, "1.40"), 0) << v;
  EXPECT_LE(CompareApiVersions(v, "1.45"), 0) << v;
  std::string daemon_api;
  ASSERT_EQ(
      RunCommand({"/usr/bin/docker", "version", "--format", "{{.Server.APIVersion}}"}, &daemon_api),
      0);
  std::string want = CompareApiVersions(daemon_api, "1.45") < 0 ? daemon_api : "1.45";
  want.erase(want.find_last_not_of(" \n") + 1);
  EXPECT_EQ(v, want);

  auto capped =
      testing::ConnectTestDocker(With([](DockerOptions& o) { o.max_api_version = "1.40"; }));
  ASSERT_TRUE(capped) << capped.error().ToString();
  EXPECT_EQ((*capped)->ApiVersion().value(), "1.40");
}

TEST_F(DockerRuntimeTest, RenegotiatesWhenTheDaemonRefusesAVersion) {
  // "too new" answers JSON; "too old" answers text/plain.
  for (std::string assumed : {"1.99", "1.11"}) {
    DockerOptions options;
    options.assumed_api_version = assumed;
    auto runtime = testing::ConnectTestDocker(options);
    ASSERT_TRUE(runtime) << runtime.error().ToString();
    EXPECT_EQ((*runtime)->ApiVersion().value(), assumed);
    auto list = (*runtime)->List(janitor().labels());
    ASSERT_TRUE(list) << assumed << ": " << list.error().ToString();
    EXPECT_EQ((*runtime)->ApiVersion().value(), rt().ApiVersion().value());
  }
}

TEST_F(DockerRuntimeTest, ReportsExitCodes) {
  for (int code : {0, 3}) {
    std::string id;
    Result<int64_t> status = RunToExit(Spec("exit " + std::to_string(code)), &id);
    ASSERT_TRUE(status) << status.error().ToString();
    EXPECT_EQ(*status, code);
    Result<ContainerState> state = rt().Inspect(id);
    ASSERT_TRUE(state) << state.error().ToString();
    EXPECT_EQ(state->status, "exited");
    EXPECT_FALSE(state->running);
    EXPECT_EQ(state->exit_code, code);
    EXPECT_FALSE(state->oom_killed);
    EXPECT_EQ(state->labels, janitor().labels());
    EXPECT_EQ(state->image_id, rt().ImageId(testing::kTestImage).value());
    EXPECT_FALSE(state->started_at.empty());
    EXPECT_FALSE(state->finished_at.empty());
  }
}

TEST_F(DockerRuntimeTest, InspectShowsAnOomKill) {
  ContainerSpec spec = Spec("head -c 64m /dev/zero | tail");  // tail holds the whole "line"
  spec.memory_bytes = 16 << 20;
  // Docker sets OOMKilled only when the kernel's OOM event reaches it before the
  // exit event, which a loaded machine can reorder: one of three runs must show it.
  bool seen = false;
  for (int attempt = 0; attempt < 3 && !seen; ++attempt) {
    std::string id;
    Result<int64_t> status = RunToExit(spec, &id);
    ASSERT_TRUE(status) << status.error().ToString();
    EXPECT_EQ(*status, 137);
    Result<ContainerState> state = rt().Inspect(id);
    ASSERT_TRUE(state);
    seen = state->oom_killed;
  }
  EXPECT_TRUE(seen);
}

TEST_F(DockerRuntimeTest, StopEndsAContainerWithinItsGrace) {
  std::unique_ptr<PendingExit> exit;
  auto id = CreateAndStart(Spec("trap 'exit 0' TERM; sleep 300 & wait"), &exit);
  ASSERT_TRUE(id) << id.error().ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let sh set its trap
  auto t0 = steady_clock::now();
  Result<bool> stopped = rt().Stop(*id, std::chrono::seconds(20));
  ASSERT_TRUE(stopped) << stopped.error().ToString();
  EXPECT_TRUE(*stopped) << "it was running";
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(exit->Get().value().status_code, 0);
  Result<bool> again = rt().Stop(*id, std::chrono::seconds(1));
  ASSERT_TRUE(again) << "stopping a stopped container is Ok";
  EXPECT_FALSE(*again) << "and says it had stopped already";
}

// The command runs under an init process: SIGTERM reaches a shell or python
// that sets no handler (as PID 1 the kernel would drop it, and every stop
// would wait out its grace, then SIGKILL).
TEST_F(DockerRuntimeTest, StopEndsACommandWithoutASignalHandlerAtOnce) {
  for (const char* script : {"while true; do echo x; sleep 0.1; done", "exec sleep 300"}) {
    std::unique_ptr<PendingExit> exit;
    auto id = CreateAndStart(Spec(script), &exit);
    ASSERT_TRUE(id) << id.error().ToString();
    std::string init;
    ASSERT_EQ(
        RunCommand({"/usr/bin/docker", "inspect", "--format", "{{.HostConfig.Init}}", *id}, &init),
        0)
        << init;
    EXPECT_EQ(init, "true\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto t0 = steady_clock::now();
    Result<bool> stopped = rt().Stop(*id, std::chrono::seconds(30));
    ASSERT_TRUE(stopped) << stopped.error().ToString();
    auto took = steady_clock::now() - t0;
    EXPECT_LT(took, std::chrono::seconds(3))
        << script << ": " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
        << " ms";
    EXPECT_EQ(exit->Get().value().status_code, 143) << script << ": SIGTERM, not SIGKILL";
  }
}

TEST_F(DockerRuntimeTest, StopKillsAfterTheGrace) {
  std::unique_ptr<PendingExit> exit;
  // SIGTERM is ignored (and stays ignored in sleep).
  auto id = CreateAndStart(Spec("trap '' TERM; sleep 300"), &exit);
  ASSERT_TRUE(id) << id.error().ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let sh set its trap
  auto t0 = steady_clock::now();
  ASSERT_TRUE(rt().Stop(*id, std::chrono::seconds(1)));
  auto took = steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(10));
  EXPECT_EQ(exit->Get().value().status_code, 137);
}

TEST_F(DockerRuntimeTest, AbandonUnblocksAPendingExit) {
  std::unique_ptr<PendingExit> exit;
  ContainerSpec spec = Spec("");
  spec.cmd = {"sleep", "300"};
  ASSERT_TRUE(CreateAndStart(spec, &exit));
  auto t0 = steady_clock::now();
  std::thread abandon([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    exit->Abandon();
  });
  Result<ExitStatus> status = exit->Get();
  abandon.join();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), ErrorCode::kCancelled);
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST_F(DockerRuntimeTest, CopyInBeforeStartThenTheContainerSeesTheFiles) {
  TempDir src;
  src.Write("hello.txt", "hello from the host\n");
  src.Write("sub/dir/data.txt", "nested\n");
  TempDir out;
  std::string log;
  ASSERT_EQ(RunCommand(
                {"/bin/tar", "-czf", (out / "src.tar.gz").string(), "-C", src.path().string(), "."},
                &log),
            0)
      << log;
  std::string tar_gz = ReadFile(out / "src.tar.gz");
  ASSERT_EQ(tar_gz.substr(0, 2), "\x1f\x8b");

  ContainerSpec spec = Spec("cat hello.txt sub/dir/data.txt");  // WORKDIR /workspace
  Result<std::string> id = rt().Create(spec);
  ASSERT_TRUE(id) << id.error().ToString();
  ASSERT_TRUE(rt().CopyIn(*id, "/workspace", tar_gz));
  auto exit = rt().WaitNextExit(*id);
  ASSERT_TRUE(exit);
  ASSERT_TRUE(rt().Start(*id));
  EXPECT_EQ((*exit)->Get().value().status_code, 0);
  auto lines = ReadLogs(*id);
  ASSERT_TRUE(lines) << lines.error().ToString();
  EXPECT_EQ(Texts(*lines, LogStream::kStdout),
            (std::vector<std::string>{"hello from the host", "nested"}));

  Status missing_dir = rt().CopyIn(*id, "/no/such/dir", tar_gz);
  ASSERT_FALSE(missing_dir);
  EXPECT_EQ(missing_dir.error().code(), ErrorCode::kNotFound) << missing_dir.error().ToString();
}

TEST_F(DockerRuntimeTest, CopyOutWritesTheFolderAsATar) {
  std::string id;
  ASSERT_EQ(RunToExit(Spec("mkdir -p /out/sub && echo hi > /out/a.txt && "
                           "echo deep > /out/sub/b.txt"),
                      &id)
                .value(),
            0);
  TempDir dir;
  Result<CopiedOut> copied = rt().CopyOut(id, "/out", dir / "out.tar", 1 << 20);
  ASSERT_TRUE(copied) << copied.error().ToString();
  EXPECT_EQ(copied->truncation, "");
  EXPECT_EQ(copied->bytes, std::filesystem::file_size(dir / "out.tar"));
  std::string log;
  ASSERT_EQ(
      RunCommand({"/bin/tar", "-xf", (dir / "out.tar").string(), "-C", dir.path().string()}, &log),
      0)
      << log;
  EXPECT_EQ(ReadFile(dir / "out/a.txt"), "hi\n");
  EXPECT_EQ(ReadFile(dir / "out/sub/b.txt"), "deep\n");

  Result<CopiedOut> missing = rt().CopyOut(id, "/nope", dir / "nope.tar", 1 << 20);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound) << missing.error().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir / "nope.tar"));
}

TEST_F(DockerRuntimeTest, ListsByEveryLabel) {
  ContainerSpec a = Spec("true"), b = Spec("true");
  a.labels["labelrun.role"] = "a";
  b.labels["labelrun.role"] = "b";
  ASSERT_TRUE(rt().Create(a));
  ASSERT_TRUE(rt().Create(b));
  auto labels = janitor().labels();
  auto both = rt().List(labels);
  ASSERT_TRUE(both) << both.error().ToString();
  EXPECT_EQ(both->size(), 2u);
  labels["labelrun.role"] = "a";
  auto only_a = rt().List(labels);
  ASSERT_TRUE(only_a);
  ASSERT_EQ(only_a->size(), 1u);
  EXPECT_EQ((*only_a)[0].name, a.name);
  EXPECT_EQ((*only_a)[0].state, "created");
  EXPECT_EQ((*only_a)[0].labels.at("labelrun.role"), "a");
}

TEST_F(DockerRuntimeTest, RemoveKillsAndIsOkForMissingContainers) {
  std::unique_ptr<PendingExit> exit;
  ContainerSpec spec = Spec("");
  spec.cmd = {"sleep", "300"};
  auto id = CreateAndStart(spec, &exit);
  ASSERT_TRUE(id);
  ASSERT_TRUE(rt().Remove(*id));
  Result<ContainerState> gone = rt().Inspect(*id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(Contains(gone.error().message(), "No such container")) << gone.error().message();
  EXPECT_TRUE(rt().Remove(*id));
  EXPECT_TRUE(rt().Remove("labelrun-test-never-existed-" + testing::RandomHex(8)));
}

TEST_F(DockerRuntimeTest, ErrorsCarryDockersMessage) {
  ContainerSpec spec = Spec("true");
  spec.image = "labelrun-test/missing:1";
  Result<std::string> created = rt().Create(spec);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(Contains(created.error().message(), "No such image")) << created.error().message();

  Result<std::string> image = rt().ImageId("labelrun-test/missing:1");
  ASSERT_FALSE(image);
  EXPECT_EQ(image.error().code(), ErrorCode::kNotFound);
  Result<std::string> id = rt().ImageId(testing::kTestImage);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->rfind("sha256:", 0), 0u);
  // An imported image has no repo digest: its id stands in.
  EXPECT_EQ(rt().ImageDigest(testing::kTestImage).value(), *id);

  ContainerSpec twice = Spec("true");
  ASSERT_TRUE(rt().Create(twice));
  Result<std::string> again = rt().Create(twice);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists) << again.error().ToString();

  Status bad = rt().Start("../../version");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(DockerRuntimeTest, PullFailureCarriesTheDaemonsReason) {
  // No registry is reachable from the test machines.
  Status pulled = rt().Pull("labelrun-test/not-in-any-registry:1", nullptr);
  ASSERT_FALSE(pulled);
  EXPECT_TRUE(Contains(pulled.error().message(), "pull labelrun-test/not-in-any-registry:1: "))
      << pulled.error().message();
  EXPECT_GT(pulled.error().message().size(), 45u);
}

TEST_F(DockerRuntimeTest, GpuRequestsNameDevicesAndFailAtStartWithoutTheToolkit) {
  ContainerSpec spec = Spec("true");
  spec.gpu_ids = {"0"};
  Result<std::string> id = rt().Create(spec);
  ASSERT_TRUE(id) << id.error().ToString();
  std::string out;
  ASSERT_EQ(RunCommand({"/usr/bin/docker", "inspect", "--format",
                        "{{json .HostConfig.DeviceRequests}}", *id},
                       &out),
            0)
      << out;
  nlohmann::json requests = nlohmann::json::parse(out);
  ASSERT_EQ(requests.size(), 1u) << out;
  EXPECT_EQ(requests[0]["Driver"], "nvidia");
  EXPECT_EQ(requests[0]["DeviceIDs"], nlohmann::json::array({"0"}));
  EXPECT_EQ(requests[0]["Capabilities"], nlohmann::json::parse(R"([["gpu"]])"));
  EXPECT_EQ(requests[0].value("Count", 0), 0) << "devices are named, never counted";

  Status started = rt().Start(*id);
  ASSERT_FALSE(started) << "this daemon has no NVIDIA runtime";
  EXPECT_TRUE(Contains(started.error().message(), "could not select device driver"))
      << started.error().message();
}

TEST_F(DockerRuntimeTest, ExecReturnsOutputAndExitCode) {
  std::unique_ptr<PendingExit> exit;
  auto id = CreateAndStart(Spec("trap 'exit 0' TERM; sleep 300 & wait"), &exit);
  ASSERT_TRUE(id) << id.error().ToString();
  Result<ExecOutput> out = rt().Exec(*id, {"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->stdout_text, "out\n");
  EXPECT_EQ(out->stderr_text, "err\n");
  EXPECT_EQ(out->exit_code, 3);
  EXPECT_FALSE(out->truncated);

  Result<ExecOutput> echo = rt().Exec(*id, {"echo", "hello", "world"});
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->stdout_text, "hello world\n");
  EXPECT_EQ(echo->exit_code, 0);

  auto capped =
      testing::ConnectTestDocker(With([](DockerOptions& o) { o.max_exec_output_bytes = 1000; }));
  ASSERT_TRUE(capped);
  Result<ExecOutput> big = (*capped)->Exec(*id, {"sh", "-c", "head -c 100000 /dev/zero"});
  ASSERT_TRUE(big) << big.error().ToString();
  EXPECT_EQ(big->stdout_text.size(), 1000u);
  EXPECT_TRUE(big->truncated);

  Result<ExecOutput> missing = rt().Exec("labelrun-test-never-existed", {"true"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(DockerConnectTest, AMissingSocketIsUnavailable) {
  TempDir dir;
  std::string path = (dir / "docker.sock").string();
  auto runtime = DockerRuntime::Connect({"unix://" + path, "", "", ""});
  ASSERT_FALSE(runtime);
  EXPECT_EQ(runtime.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(runtime.error().message(), "docker at unix://" + path +
                                           " is unreachable: no socket at " + path +
                                           " (is dockerd running?)");
}

TEST(DockerConnectTest, ASocketNobodyListensOnIsUnavailable) {
  TempDir dir;
  std::string path = (dir / "docker.sock").string();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);  // never listens
  auto runtime = DockerRuntime::Connect({"unix://" + path, "", "", ""});
  ::close(fd);
  ASSERT_FALSE(runtime);
  EXPECT_EQ(runtime.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(Contains(runtime.error().message(), "is unreachable: Connection refused"))
      << runtime.error().message();
}

TEST(DockerConnectTest, ABadEndpointIsInvalid) {
  auto runtime = DockerRuntime::Connect({"tcp://127.0.0.1:2376", "", "", ""});
  ASSERT_FALSE(runtime);
  EXPECT_EQ(runtime.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace labelrun::runtime
