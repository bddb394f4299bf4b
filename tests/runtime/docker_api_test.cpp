// The daemon-free parts of the Docker client: endpoints, versions, image
// references, request bodies and answers.

#include "runtime/docker_api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "labelrun/runtime/docker.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::runtime {
namespace {

using nlohmann::json;
using testing::TempDir;

TEST(DockerEndpointTest, AcceptsUnixSockets) {
  Result<DockerEndpoint> e = ParseDockerEndpoint(" unix:///var/run/docker.sock ");
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(e->url, "unix:///var/run/docker.sock");
}

TEST(DockerEndpointTest, AcceptsTcpWithReadableCertificates) {
  TempDir dir;
  auto ca = dir.Write("ca.pem", "x"), cert = dir.Write("cert.pem", "x"),
       key = dir.Write("key.pem", "x");
  for (std::string url :
       {"tcp://gpu-1.example.com:2376", "tcp://10.0.0.7:2376/", "tcp://[::1]:2376"}) {
    Result<DockerEndpoint> e = ParseDockerEndpoint(url, ca.string(), cert.string(), key.string());
    ASSERT_TRUE(e) << url << ": " << e.error().message();
    EXPECT_EQ(e->cert_file, cert.string());
  }
}

TEST(DockerEndpointTest, ExplainsWhatIsWrong) {
  TempDir dir;
  std::string ca = dir.Write("ca.pem", "x").string(), cert = dir.Write("cert.pem", "x").string();
  std::string missing = (dir / "nope.pem").string();
  struct Case {
    std::string url, ca, cert, key, want;
  } cases[] = {
      {"", "", "", "", "no docker endpoint"},
      {"unix://var/run/docker.sock", "", "", "", "absolute socket path"},
      {"unix:///" + std::string(120, 's'), "", "", "", "at most 107 bytes"},
      {"unix:///var/run/docker.sock", ca, cert, cert, "apply to tcp:// only"},
      {"/var/run/docker.sock", "", "", "", "did you mean unix:///var/run/docker.sock?"},
      {"https://h:2376", "", "", "", "use tcp://host:port"},
      {"ssh://me@h", "", "", "", "not supported"},
      {"tcp://h", ca, cert, cert, "needs a port"},
      {"tcp://h:0", ca, cert, cert, "bad port"},
      {"tcp://h:99999", ca, cert, cert, "bad port"},
      {"tcp://h:2376/v1.41", ca, cert, cert, "has a path"},
      {"tcp://:2376", ca, cert, cert, "no valid host"},
      {"tcp://h:2376", "", "", "", "ca_file not set; cert_file not set; key_file not set"},
      {"tcp://h:2376", ca, cert, missing, "key_file cannot read " + missing},
  };
  for (const Case& c : cases) {
    Result<DockerEndpoint> e = ParseDockerEndpoint(c.url, c.ca, c.cert, c.key);
    ASSERT_FALSE(e) << c.url;
    EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(e.error().message().find(c.want), std::string::npos)
        << c.url << ": " << e.error().message();
  }
}

TEST(DockerApiVersionTest, ComparesNumerically) {
  EXPECT_LT(CompareApiVersions("1.9", "1.10"), 0);
  EXPECT_GT(CompareApiVersions("1.41", "1.9"), 0);
  EXPECT_EQ(CompareApiVersions("1.41", "1.41"), 0);
  EXPECT_EQ(CompareApiVersions("1.40", "1.40.0"), 0);
  EXPECT_LT(CompareApiVersions("1.45", "2.0"), 0);
}

TEST(DockerApiVersionTest, ChoosesTheLowerOfBothMaximaWithinBothRanges) {
  DockerOptions options;  // 1.40 .. 1.45
  auto pick = [&](std::string api, std::string min) {
    return ChooseApiVersion(DaemonVersion{api, min, "x"}, options);
  };
  EXPECT_EQ(pick("1.41", "1.12").value(), "1.41");
  EXPECT_EQ(pick("1.52", "1.24").value(), "1.45");
  Result<std::string> too_new = pick("1.52", "1.50");  // Docker 29.0's raised minimum
  ASSERT_FALSE(too_new);
  EXPECT_EQ(too_new.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(too_new.error().message().find("accepts API 1.50 to 1.52"), std::string::npos);
  Result<std::string> too_old = pick("1.39", "1.12");
  ASSERT_FALSE(too_old);
  EXPECT_NE(too_old.error().message().find("older than 1.40"), std::string::npos);
}

TEST(DockerImageReferenceTest, SplitsNameTagAndDigest) {
  struct Case {
    std::string image, from, tag;
  } cases[] = {
      {"busybox:1", "busybox", "1"},
      {"busybox", "busybox", "latest"},
      {"pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime", "pytorch/pytorch",
       "2.3.0-cuda12.1-cudnn8-runtime"},
      {"localhost:5000/team/img", "localhost:5000/team/img", "latest"},
      {"localhost:5000/team/img:2", "localhost:5000/team/img", "2"},
      {"ghcr.io/o/r@sha256:0123abcd", "ghcr.io/o/r", "sha256:0123abcd"},
      {"reg:443/o/r:1.0@sha256:beef", "reg:443/o/r", "sha256:beef"},
  };
  for (const Case& c : cases) {
    Result<ImageReference> ref = SplitImageReference(c.image);
    ASSERT_TRUE(ref) << c.image << ": " << ref.error().message();
    EXPECT_EQ(ref->from_image, c.from) << c.image;
    EXPECT_EQ(ref->tag, c.tag) << c.image;
  }
  for (std::string bad :
       {"", "img:", "img@sha256", "img@sha256:xyz", "a b:1", "/img:1", "img:1?x=y", "x//y:1"}) {
    EXPECT_FALSE(SplitImageReference(bad)) << bad;
  }
}

ContainerSpec Spec() {
  ContainerSpec spec;
  spec.name = "labelrun-job-1";
  spec.image = "labelrun-test/busybox:1";
  return spec;
}

TEST(DockerCreateBodyTest, AlwaysSetsTheSecurityDefaults) {
  ContainerSpec spec = Spec();
  spec.cap_add = {"SYS_PTRACE"};
  json body = json::parse(CreateContainerBody(spec, {}).value());
  const json& host = body["HostConfig"];
  EXPECT_EQ(host["Privileged"], false);
  EXPECT_EQ(host["Init"], true) << "the stop signal must reach the command";
  EXPECT_EQ(host["SecurityOpt"], json::array({"no-new-privileges"}));
  EXPECT_EQ(host["CapDrop"], json::array({"ALL"}));
  EXPECT_EQ(host["CapAdd"], json::array({"SYS_PTRACE"}));
  EXPECT_EQ(host["LogConfig"]["Type"], "json-file");
  EXPECT_EQ(body["Tty"], false);
  EXPECT_FALSE(host.contains("DeviceRequests"));
  EXPECT_FALSE(host.contains("Binds"));
  EXPECT_FALSE(host.contains("Memory"));
  EXPECT_FALSE(body.contains("Cmd"));
  EXPECT_FALSE(body.contains("User"));
  EXPECT_FALSE(host.contains("NetworkMode"));
  // A CPU job is kept away from GPUs even under a default nvidia runtime.
  EXPECT_EQ(body["Env"], json::array({"NVIDIA_VISIBLE_DEVICES=void"}));
}

TEST(DockerCreateBodyTest, MapsEveryField) {
  ContainerSpec spec = Spec();
  spec.cmd = {"python", "-u", "train.py"};
  spec.env = {"PYTHONUNBUFFERED=1"};
  spec.working_dir = "/workspace";
  spec.labels = {{"labelrun.job", "7"}};
  spec.gpu_ids = {"GPU-aaa", "GPU-bbb"};
  spec.memory_bytes = 16 << 20;
  spec.shm_bytes = 1 << 30;
  spec.nano_cpus = 2'000'000'000;
  spec.pids_limit = 512;
  spec.binds = {"/data:/data:ro"};
  spec.network_mode = "none";
  spec.user = "1000:1000";
  json body = json::parse(CreateContainerBody(spec, {}).value());
  EXPECT_EQ(body["User"], "1000:1000");
  EXPECT_EQ(body["Image"], "labelrun-test/busybox:1");
  EXPECT_EQ(body["Cmd"], json::array({"python", "-u", "train.py"}));
  EXPECT_EQ(body["Env"], json::array({"PYTHONUNBUFFERED=1"}));
  EXPECT_EQ(body["WorkingDir"], "/workspace");
  EXPECT_EQ(body["Labels"], json({{"labelrun.job", "7"}}));
  const json& host = body["HostConfig"];
  EXPECT_EQ(host["Memory"], 16 << 20);
  EXPECT_EQ(host["MemorySwap"], 16 << 20);
  EXPECT_EQ(host["ShmSize"], 1 << 30);
  EXPECT_EQ(host["NanoCpus"], 2'000'000'000);
  EXPECT_EQ(host["PidsLimit"], 512);
  EXPECT_EQ(host["Binds"], json::array({"/data:/data:ro"}));
  EXPECT_EQ(host["NetworkMode"], "none");
  ASSERT_EQ(host["DeviceRequests"].size(), 1u);
  const json& request = host["DeviceRequests"][0];
  EXPECT_EQ(request["Driver"], "nvidia");
  EXPECT_EQ(request["DeviceIDs"], json::array({"GPU-aaa", "GPU-bbb"}));
  EXPECT_EQ(request["Capabilities"], json::parse(R"([["gpu"]])"));
  EXPECT_FALSE(request.contains("Count"));
}

TEST(DockerCreateBodyTest, RefusesBadInput) {
  ContainerSpec bad_name = Spec();
  bad_name.name = "../x";
  ContainerSpec no_image = Spec();
  no_image.image.clear();
  ContainerSpec bad_utf8 = Spec();
  bad_utf8.env = {"A=1", "B=\xff"};
  ContainerSpec empty_gpu = Spec();
  empty_gpu.gpu_ids = {""};
  for (const ContainerSpec* spec : {&bad_name, &no_image, &bad_utf8, &empty_gpu}) {
    Result<std::string> body = CreateContainerBody(*spec, {});
    ASSERT_FALSE(body);
    EXPECT_EQ(body.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_NE(CreateContainerBody(bad_utf8, {}).error().message().find("env[1]"), std::string::npos);
}

TEST(DockerErrorTest, CarriesDockersMessageWithAMappedCode) {
  Error e = DockerError(404, R"({"message":"No such container: x"})", "inspect x");
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_EQ(e.message(), "inspect x: No such container: x");
  // Not every error body is JSON (too-old API versions answer text/plain).
  Error text = DockerError(400,
                           "client version 1.11 is too old. Minimum supported API version "
                           "is 1.12, please upgrade\n",
                           "GET /version");
  EXPECT_EQ(text.code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(IsApiVersionRefusal(400, text.message()));
  EXPECT_TRUE(IsApiVersionRefusal(
      400, "client version 1.99 is too new. Maximum supported API version is 1.41"));
  EXPECT_FALSE(IsApiVersionRefusal(400, "Invalid filter 'bogus'"));
  EXPECT_EQ(DockerErrorCode(409, "Conflict. The container name \"/x\" is already in use"),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(DockerErrorCode(409, "You cannot remove a running container"),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(DockerErrorCode(500, "could not select device driver"), ErrorCode::kInternal);
  EXPECT_EQ(DockerErrorCode(503, ""), ErrorCode::kUnavailable);
  EXPECT_EQ(DockerErrorMessage(502, ""), "HTTP 502");
}

TEST(DockerAnswersTest, ParsesStateListAndImages) {
  Result<ContainerState> s = ParseContainerState(R"({"Id":"abc","Image":"sha256:1",
    "State":{"Status":"exited","Running":false,"OOMKilled":true,"ExitCode":137,"Error":"",
             "StartedAt":"2026-11-26T15:45:25.8Z","FinishedAt":"2026-11-26T15:45:26.2Z"},
    "Config":{"Labels":{"a":"1"}}})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, "exited");
  EXPECT_TRUE(s->oom_killed);
  EXPECT_EQ(s->exit_code, 137);
  EXPECT_EQ(s->image_id, "sha256:1");
  EXPECT_EQ(s->labels.at("a"), "1");
  EXPECT_FALSE(ParseContainerState(R"({"Id":"abc"})"));
  EXPECT_FALSE(ParseContainerState("not json"));

  auto list = ParseContainerList(R"([{"Id":"a","Names":["/job-1"],"State":"running",
    "Labels":{"k":"v"}}])");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "job-1");
  EXPECT_EQ((*list)[0].labels.at("k"), "v");

  std::string image = R"({"Id":"sha256:77","RepoDigests":["other/x@sha256:1",
    "ghcr.io/o/r@sha256:2"]})";
  EXPECT_EQ(ParseImageId(image).value(), "sha256:77");
  EXPECT_EQ(ParseImageDigest(image, "ghcr.io/o/r:1").value(), "ghcr.io/o/r@sha256:2");
  EXPECT_EQ(ParseImageDigest(image, "mine:1").value(), "other/x@sha256:1");
  EXPECT_EQ(ParseImageDigest(R"({"Id":"sha256:77","RepoDigests":[]})", "mine:1").value(),
            "sha256:77");
  EXPECT_EQ(ParseImageDigest(R"({"Id":"sha256:7","RepoDigests":["busybox@sha256:3"]})",
                             "docker.io/library/busybox:1")
                .value(),
            "busybox@sha256:3");
}

TEST(DockerAnswersTest, PullWaitAndListQuery) {
  EXPECT_EQ(PullLineError(R"({"status":"Downloading","progress":"[=>   ]"})"), "");
  EXPECT_EQ(PullLineError(R"({"errorDetail":{"message":"manifest unknown"},"error":"x"})"),
            "manifest unknown");
  EXPECT_EQ(PullLineError(R"({"error":"denied"})"), "denied");
  EXPECT_NE(PullLineError("garbage").find("unreadable"), std::string::npos);

  EXPECT_EQ(ParseWaitBody(R"({"StatusCode":3,"Error":null})").value().status_code, 3);
  EXPECT_EQ(ParseWaitBody(R"({"StatusCode":0,"Error":{"Message":"boom"}})").value().error, "boom");
  EXPECT_FALSE(ParseWaitBody("{}"));

  EXPECT_EQ(ListQuery({}), "?all=1");
  EXPECT_EQ(ListQuery({{"a", "1"}, {"b", "x y"}}),
            "?all=1&filters=%7B%22label%22%3A%5B%22a%3D1%22%2C%22b%3Dx%20y%22%5D%7D");
  EXPECT_TRUE(CheckContainerRef("3f1c0a9e"));
  EXPECT_TRUE(CheckContainerRef("labelrun-job_1.2"));
  EXPECT_FALSE(CheckContainerRef("../etc"));
  EXPECT_FALSE(CheckContainerRef("a/b"));
  EXPECT_FALSE(CheckContainerRef(""));
}

}  // namespace
}  // namespace labelrun::runtime
