// Nothing secret leaves labelrun, end to end through the real binary, the real Docker
// daemon and the loopback GitHub: a job that prints the rule's env value, the GitHub token,
// a private key and a metric named by a secret shows none of them in its comment, on its
// page or in the API; a `/labelrun explain` comment names the env keys only and shows
// hostile label names as inert text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "support/docker_env.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kApiToken[] = "secrets-test-api-token-77";
// Shapes the redactor does not know: only the exact-match list can hide them.
constexpr char kGithubToken[] = "plain-static-github-token-4410";
constexpr char kEnvValue[] = "weights-passphrase-9031";
constexpr char kKeyBody[] = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun";
constexpr char kImgLabel[] = "<img src=x onerror=alert(1)>";
constexpr char kTeamLabel[] = "@acme/security-team";

std::string Issue(const std::vector<std::string>& labels) {
  std::string list;
  for (const std::string& l : labels) {
    list += (list.empty() ? "" : ",") + nlohmann::json({{"name", l}}).dump();
  }
  return R"("issue":{"number":21,"state":"open","title":"t","body":null,"labels":[)" + list + "]}";
}

constexpr char kEnvelope[] =
    R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"bob","type":"User"},)"
    R"("installation":{"id":5})";

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rt = ConnectTestDocker();
    ASSERT_TRUE(rt) << rt.error().message();
    ASSERT_EQ(EnsureTestImage(**rt), "");
    docker_ = std::move(*rt);
    repo_ = dir_.path() / "repo";
    std::filesystem::create_directories(repo_);
    std::ofstream(repo_ / "train.sh")
        << "echo \"the passphrase is $WEIGHTS_PASSPHRASE\"\n"
           "echo 'from the runner: "
        << kGithubToken
        << "'\n"
           "echo '-----BEGIN RSA PRIVATE KEY-----'\n"
           "echo '"
        << kKeyBody
        << "'\n"
           "echo '"
        << kKeyBody
        << "'\n"
           "echo '-----END RSA PRIVATE KEY-----'\n"
           "echo \"{\\\"step\\\": 1, \\\"loss\\\": 0.5, \\\"$WEIGHTS_PASSPHRASE\\\": 0.25}\"\n"
           "echo 'training done'\n";
    std::ofstream(dir_.path() / "api-token") << kApiToken << "\n";
    dir_.Write("github-token", std::string(kGithubToken) + "\n");
  }
  void TearDown() override {
    std::ifstream in(dir_.path() / "state" / "instance-id");
    std::string instance;
    if (docker_ && std::getline(in, instance)) {
      if (auto left = docker_->List({{"labelrun.instance", instance}})) {
        for (const auto& c : *left) (void)docker_->Remove(c.id);
      }
    }
  }

  LabelrunProcess::Options Options(const std::string& github_url,
                                   const std::string& env_value = kEnvValue) {
    LabelrunProcess::Options o;
    o.extra_yaml =
        "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
        "/LABELS.md\n"
        "rules:\n"
        "  - name: train\n"
        "    when: {all: [task:training]}\n"
        "    job:\n"
        "      image: \"" +
        std::string(kTestImage) +
        "\"\n"
        "      command: [sh, train.sh]\n"
        "      env: {WEIGHTS_PASSPHRASE: \"" +
        env_value +
        "\", PYTHONUNBUFFERED: \"1\"}\n"
        "sources: {default_dir: " +
        repo_.string() + "}\napi: {token_file: " + (dir_.path() / "api-token").string() +
        "}\nreport: {update_interval: 1s, public_url: \"https://labelrun.example.com\"}\n"
        "github:\n  api_url: " +
        github_url + "\n  token_file: " + (dir_ / "github-token").string() + "\n";
    return o;
  }

  // Sends the labelled delivery `guid` and waits for its job's comment to say Succeeded.
  std::string RunToSuccess(LabelrunProcess& server, FakeGithub& github, const std::string& guid) {
    const std::string labeled = R"({"action":"labeled","label":{"name":"task:training"},)" +
                                Issue({"task:training"}) + "," + kEnvelope + "}";
    EXPECT_EQ(server.Deliver("issues", guid, labeled).status, 202);
    std::vector<FakeComment> comments;
    const bool done = WaitUntil(
        [&] {
          comments = github.Comments("acme/vision", 21);
          return comments.size() == 1 && comments[0].body.find("Succeeded") != std::string::npos;
        },
        120s);
    EXPECT_TRUE(done) << server.Log();
    return done ? comments[0].body : std::string();
  }

  std::string Api(LabelrunProcess& server, const std::string& path) {
    HttpResponse r = HttpRequest("GET", server.Url(path),
                                 {std::string("Authorization: Bearer ") + kApiToken}, "");
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.body;
  }

  TempDir dir_;
  std::filesystem::path repo_;
  std::unique_ptr<runtime::DockerRuntime> docker_;
};

void ExpectNoSecret(const std::string& where, const std::string& text) {
  EXPECT_THAT(text, Not(HasSubstr(kEnvValue))) << where;
  EXPECT_THAT(text, Not(HasSubstr(kGithubToken))) << where;
  EXPECT_THAT(text, Not(HasSubstr(kKeyBody))) << where;
  EXPECT_THAT(text, Not(HasSubstr(std::string(kKeyBody).substr(0, 24)))) << where;
}

TEST_F(SecretsTest, AJobsSecretsAreMaskedInTheCommentThePageAndTheApi) {
  FakeGithub::Options github_options;
  github_options.static_token = kGithubToken;
  FakeGithub github(github_options, SystemClock::Instance());
  github.SetPermission("acme/vision", "bob", "write");
  LabelrunProcess server(dir_, Options(github.url()));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  const std::string body = RunToSuccess(server, github, "secrets-1");
  ASSERT_FALSE(body.empty());
  EXPECT_THAT(body, HasSubstr("training done"));
  EXPECT_THAT(body, HasSubstr("the passphrase is ***"));
  EXPECT_THAT(body, HasSubstr("from the runner: ***"));
  ExpectNoSecret("comment", body);
  EXPECT_THAT(body, Not(HasSubstr("PRIVATE KEY"))) << body;
  // Every body GitHub was sent, the queued and running ones included.
  for (const FakeRequest& r : github.Requests()) ExpectNoSecret(r.method + " " + r.target, r.body);

  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      body, m,
      std::regex("https://labelrun.example.com(/jobs/(j[0-9a-f]+)\\?exp=[0-9]+&sig=[0-9a-f]+)")));
  const std::string id = m[2];
  HttpResponse page = HttpRequest("GET", server.Url(m[1]), {}, "");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("training done"));
  ExpectNoSecret("job page", page.body);
  EXPECT_THAT(page.body, Not(HasSubstr("PRIVATE KEY")));

  const std::string api_comment = Api(server, "/api/jobs/" + id + "/comment");
  EXPECT_THAT(api_comment, HasSubstr("training done"));
  ExpectNoSecret("/api/jobs/{id}/comment", api_comment);

  // The metric named by the secret is listed, masked like everywhere else.
  const std::string job = Api(server, "/api/jobs/" + id);
  EXPECT_THAT(job, HasSubstr("\"***\":0.25")) << job;
  ExpectNoSecret("/api/jobs/{id}", job);
  const std::string list = Api(server, "/api/jobs");
  EXPECT_THAT(list, HasSubstr("\"***\":0.25")) << list;
  ExpectNoSecret("/api/jobs", list);
}

TEST_F(SecretsTest, ExplainShowsEnvKeysOnlyAndLabelNamesAsInertText) {
  FakeGithub::Options github_options;
  github_options.static_token = kGithubToken;
  FakeGithub github(github_options, SystemClock::Instance());
  github.SetPermission("acme/vision", "bob", "write");
  LabelrunProcess server(dir_, Options(github.url()));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  auto explain = [](const std::vector<std::string>& labels) {
    return std::string(R"({"action":"created","comment":{"id":9,"body":"/labelrun explain",)"
                       R"("author_association":"MEMBER"},)") +
           Issue(labels) + "," + kEnvelope + "}";
  };
  // The rule matches: the explanation shows its job.
  ASSERT_EQ(server.Deliver("issue_comment", "explain-1", explain({"task:training"})).status, 202);
  // No rule matches: the explanation lists the issue's labels.
  ASSERT_EQ(server.Deliver("issue_comment", "explain-2", explain({kImgLabel, kTeamLabel, "a```b"}))
                .status,
            202);
  ASSERT_TRUE(WaitUntil([&] { return github.Comments("acme/vision", 21).size() == 2; }, 30s))
      << server.Log();
  std::string job_body, labels_body;
  for (const FakeComment& c : github.Comments("acme/vision", 21)) {
    (c.body.find("decision: dispatch") != std::string::npos ? job_body : labels_body) = c.body;
  }
  EXPECT_THAT(job_body, HasSubstr("env: WEIGHTS_PASSPHRASE (value not shown)")) << job_body;
  ExpectNoSecret("explain comment", job_body);

  // The labels are shown as written, inside a code block that none of them can close
  // (the longest backtick run is 3: the fence is 4).
  const std::string& body = labels_body;
  EXPECT_THAT(body, HasSubstr(kImgLabel)) << body;
  EXPECT_THAT(body, HasSubstr(kTeamLabel));
  const size_t open = body.find("\n````text\n");
  ASSERT_NE(open, std::string::npos) << body;
  const size_t close = body.find("\n````\n", open + 1);
  ASSERT_NE(close, std::string::npos) << body;
  EXPECT_GT(body.find(kImgLabel), open);
  EXPECT_LT(body.rfind(kImgLabel), close);
  EXPECT_GT(body.find(kTeamLabel), open);
  EXPECT_LT(body.rfind(kTeamLabel), close);
  EXPECT_GT(body.find('@'), open) << "no mention outside the code block: " << body;
  EXPECT_EQ(body.find('<', close), std::string::npos) << body;
  // No job ran for an explanation.
  EXPECT_THAT(Api(server, "/api/jobs"), Not(HasSubstr("\"id\"")));
}

TEST_F(SecretsTest, AnEnvValueThatAReloadBringsIsMaskedFromThen) {
  constexpr char kReloadedValue[] = "reloaded-passphrase-5521";
  FakeGithub::Options github_options;
  github_options.static_token = kGithubToken;
  FakeGithub github(github_options, SystemClock::Instance());
  github.SetPermission("acme/vision", "bob", "write");
  LabelrunProcess server(dir_, Options(github.url()));
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  // The rule's env value changes under a running labelrun: SIGHUP, then a job prints it.
  server.Rewrite(Options(github.url(), kReloadedValue));
  server.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return server.CountInLog("reload: ") > 0; }, 30s)) << server.Log();
  ASSERT_THAT(server.Log(), HasSubstr("webhook secret(s) active")) << server.Log();
  const std::string body = RunToSuccess(server, github, "secrets-reload-1");
  ASSERT_FALSE(body.empty());
  EXPECT_THAT(body, HasSubstr("the passphrase is ***")) << body;
  EXPECT_THAT(body, Not(HasSubstr(kReloadedValue))) << body;
  for (const FakeRequest& r : github.Requests()) {
    EXPECT_THAT(r.body, Not(HasSubstr(kReloadedValue))) << r.method << " " << r.target;
  }
  EXPECT_THAT(server.Log(), Not(HasSubstr(kReloadedValue)));
}

TEST_F(SecretsTest, TheJobsApiRedactsWhatAJobRecordSays) {
  // A token-shaped image name from a registry that refuses: the failure reason, the
  // event details and the image all quote it.
  constexpr char kToken[] = "ghp_abcdefghij0123456789abcdefghij012345";
  FakeGithub::Options github_options;
  github_options.static_token = kGithubToken;
  FakeGithub github(github_options, SystemClock::Instance());
  github.SetPermission("acme/vision", "bob", "write");
  LabelrunProcess::Options options = Options(github.url());
  const std::string image = std::string("127.0.0.1:1/") + kToken + ":1";
  const size_t at = options.extra_yaml.find(kTestImage);
  ASSERT_NE(at, std::string::npos);
  options.extra_yaml.replace(at, std::string(kTestImage).size(), image);
  LabelrunProcess server(dir_, options);
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  const std::string labeled = R"({"action":"labeled","label":{"name":"task:training"},)" +
                              Issue({"task:training"}) + "," + kEnvelope + "}";
  ASSERT_EQ(server.Deliver("issues", "secrets-api-1", labeled).status, 202);
  std::string list;
  ASSERT_TRUE(WaitUntil(
      [&] {
        list = Api(server, "/api/jobs");
        return list.find("\"state\":\"failed\"") != std::string::npos;
      },
      120s))
      << list << server.Log();
  EXPECT_THAT(list, Not(HasSubstr(kToken))) << list;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(list, m, std::regex("\"id\":\"(j[0-9a-f]+)\"")));
  const std::string job = Api(server, "/api/jobs/" + std::string(m[1]));
  EXPECT_THAT(job, HasSubstr("\"events\"")) << job;
  EXPECT_THAT(job, Not(HasSubstr(kToken))) << job;
  EXPECT_THAT(job, HasSubstr("127.0.0.1:1/***")) << job;
}

}  // namespace
}  // namespace labelrun::testing
