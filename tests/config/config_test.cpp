#include "labelrun/config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::config {
namespace {

using labelrun::testing::TempDir;
using ::testing::HasSubstr;

std::vector<std::string> Errors(const LoadOutcome& o) {
  std::vector<std::string> out;
  for (const Problem& p : o.problems) out.push_back(p.ToString());
  return out;
}

SecretEnv FakeEnv(std::map<std::string, std::string> vars) {
  return SecretEnv{[vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  }};
}

TEST(Config, EmptyFileIsTheDefaults) {
  LoadOutcome o = ParseConfig("", "empty.yaml");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.config->server.host, "127.0.0.1");
  EXPECT_EQ(o.config->server.port, 8080);
  EXPECT_EQ(o.config->server.webhook_path, "/webhook");
  EXPECT_EQ(o.config->server.max_body_bytes, 25u << 20);
}

TEST(Config, ReadsEveryKey) {
  LoadOutcome o = ParseConfig(R"(
state_dir: /tmp/lr
server:
  listen: "[::1]:9443"
  webhook_path: /hooks/github
  max_body_bytes: 10MiB
  max_header_bytes: 32k
  max_connections: 64
  threads: 2
  read_timeout: 5s
  write_timeout: 6s
  idle_timeout: 1m
  tls: {cert_file: /c.pem, key_file: /k.pem}
webhook:
  secrets: [{env: HOOK}, {file: /run/s}, {credential: webhook-secret}]
  secrets_file: /etc/labelrun/secrets
inbox: {keep_bodies: true, paused: true, retention: 7d, max_batch: 64, stuck_after: 90s}
log: {level: debug}
)",
                              "full.yaml");
  ASSERT_TRUE(o.ok()) << ::testing::PrintToString(Errors(o));
  const Config& c = *o.config;
  EXPECT_EQ(c.state_dir, "/tmp/lr");
  EXPECT_EQ(c.server.host, "::1");
  EXPECT_EQ(c.server.port, 9443);
  EXPECT_EQ(c.server.webhook_path, "/hooks/github");
  EXPECT_EQ(c.server.max_body_bytes, 10u << 20);
  EXPECT_EQ(c.server.max_header_bytes, 32u << 10);
  EXPECT_EQ(c.server.threads, 2u);
  EXPECT_EQ(c.server.idle_timeout, std::chrono::minutes(1));
  EXPECT_TRUE(c.server.tls.enabled());
  ASSERT_EQ(c.webhook.secrets.size(), 3u);
  EXPECT_EQ(c.webhook.secrets[2].credential, "webhook-secret");
  EXPECT_TRUE(c.inbox.keep_bodies);
  EXPECT_TRUE(c.inbox.paused);
  EXPECT_EQ(c.inbox.retention, std::chrono::hours(24 * 7));
  EXPECT_EQ(c.inbox.stuck_after, std::chrono::seconds(90));
  EXPECT_EQ(c.log.level, "debug");
}

TEST(Config, EveryProblemIsReportedWithItsKeyPath) {
  LoadOutcome o = ParseConfig(R"(
server:
  listen: 127.0.0.1:99999
  lisen: x
  webhook_path: nope
  read_timeout: 10 parsecs
  max_connections: 0
  tls: {cert_file: /c.pem}
webhook:
  secrets: ["inline-secret", {env: A, file: B}]
inbox: {paused: maybe}
log: {level: loud}
unknown_top: 1
)",
                              "bad.yaml");
  EXPECT_FALSE(o.ok());
  EXPECT_THAT(Errors(o), ::testing::IsSupersetOf(std::vector<::testing::Matcher<std::string>>{
                             "server.listen: port 99999 out of range (0-65535)",
                             "server.lisen: unknown key (did you mean server.listen?)",
                             HasSubstr("server.webhook_path: must start with '/'"),
                             HasSubstr("server.read_timeout: invalid duration '10 parsecs'"),
                             "server.max_connections: 0 out of range (1-1000000)",
                             "server.tls: set both cert_file and key_file, or neither",
                             HasSubstr("webhook.secrets[0]: inline secrets are not accepted"),
                             "webhook.secrets[1]: give exactly one of env, file or credential",
                             "inbox.paused: expected true or false",
                             HasSubstr("log.level: unknown level 'loud'"),
                             "unknown_top: unknown key",
                         }));
}

TEST(Config, SlurmHosts) {
  LoadOutcome good = ParseConfig(R"(
hosts:
  - name: cluster
    kind: slurm
    labels: {gpu: nvidia}
    slurm:
      partition: gpu
      account: vision
      qos: normal
      shared_dir: /nfs/jobs
      conf: /etc/slurm/slurm.conf
      launcher: [apptainer, exec, --nv, "docker://{image}", "{command}"]
)",
                                 "good.yaml");
  ASSERT_TRUE(good.ok()) << ::testing::PrintToString(Errors(good));
  const HostConfig& h = good.config->hosts.at(0);
  EXPECT_EQ(h.kind, "slurm");
  EXPECT_EQ(h.slurm.partition, "gpu");
  EXPECT_EQ(h.slurm.account, "vision");
  EXPECT_EQ(h.slurm.qos, "normal");
  EXPECT_EQ(h.slurm.shared_dir, "/nfs/jobs");
  EXPECT_EQ(h.slurm.conf, "/etc/slurm/slurm.conf");
  EXPECT_EQ(h.slurm.launcher.size(), 5u);
  LoadOutcome bad = ParseConfig(R"(
hosts:
  - name: a
    kind: slurm
    gpus: [0, 1]
    slurm: {partition: gpu, shared_dir: relative, launcher: [sh, "{command}"], nodes: 2}
  - name: b
    kind: slurm
    slurm: {shared_dir: /x, launcher: [sh, "{command}"]}
  - name: c
    kind: kubernetes
  - name: d
    slurm: {partition: gpu}
  - name: e
    kind: slurm
)",
                                "bad.yaml");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(Errors(bad),
              ::testing::IsSupersetOf(std::vector<::testing::Matcher<std::string>>{
                  HasSubstr("hosts[0].slurm.nodes: unknown key"),
                  HasSubstr("hosts[1].slurm.partition: the Slurm partition jobs go to is required"),
                  HasSubstr("hosts[1].slurm.launcher: the launcher must name {image}"),
                  "hosts[2].kind: 'kubernetes' must be docker or slurm",
                  "hosts[3].slurm: only a host with kind: slurm takes slurm settings",
                  HasSubstr("hosts[4].slurm: a host with kind: slurm needs slurm.partition"),
              }));
  LoadOutcome gpus = ParseConfig(R"(
hosts:
  - name: a
    kind: slurm
    gpus: [0, 1]
    slurm: {partition: gpu, shared_dir: relative, launcher: ["{image}"]}
)",
                                 "gpus.yaml");
  EXPECT_THAT(Errors(gpus), ::testing::IsSupersetOf(std::vector<::testing::Matcher<std::string>>{
                                HasSubstr("hosts[0].gpus: a Slurm host lists no GPUs"),
                                HasSubstr("hosts[0].slurm.shared_dir: an absolute folder"),
                            }));
}

TEST(Config, GithubSection) {
  LoadOutcome app = ParseConfig(
      "github:\n  app_id: 123\n  private_key_file: /k.pem\n  request_timeout: 5s\n", "gh.yaml");
  ASSERT_TRUE(app.ok()) << ::testing::PrintToString(Errors(app));
  ASSERT_TRUE(app.config->github);
  EXPECT_EQ(app.config->github->app_id, "123");
  EXPECT_EQ(app.config->github->issuer(), "123");
  EXPECT_EQ(app.config->github->request_timeout, std::chrono::seconds(5));
  EXPECT_EQ(app.config->github->api_url, "https://api.github.com");
  EXPECT_FALSE(ParseConfig("", "none.yaml").config->github);

  LoadOutcome both =
      ParseConfig("github: {app_id: 1, private_key_file: /k.pem, token_file: /t}\n", "both.yaml");
  EXPECT_FALSE(both.ok());
  LoadOutcome typo = ParseConfig("github: {app_idd: 1}\n", "typo.yaml");
  EXPECT_THAT(Errors(typo),
              ::testing::Contains("github.app_idd: unknown key (did you mean github.app_id?)"));
}

TEST(Config, YamlSyntaxErrorHasALineNumber) {
  LoadOutcome o = ParseConfig("server:\n  listen: [unclosed\n", "broken.yaml");
  ASSERT_FALSE(o.ok());
  ASSERT_EQ(o.problems.size(), 1u);
  EXPECT_THAT(o.problems[0].message, HasSubstr("broken.yaml:"));
}

TEST(Config, MissingFileIsAClearError) {
  LoadOutcome o = LoadConfigFile("/nonexistent/labelrun.yaml");
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.problems[0].message, HasSubstr("cannot read /nonexistent/labelrun.yaml"));
}

TEST(Secrets, FromEnvFileCredentialAndRotationFile) {
  TempDir dir;
  dir.Write("secret", "from-file\n");
  dir.Write("creds/webhook-secret", "from-credential\r\n");
  dir.Write("rotation", "# current first\nnew-one\n\n  old-one  \n");
  WebhookConfig cfg;
  cfg.secrets = {{.env = "HOOK", .file = "", .credential = ""},
                 {.env = "", .file = (dir / "secret").string(), .credential = ""},
                 {.env = "", .file = "", .credential = "webhook-secret"}};
  cfg.secrets_file = (dir / "rotation").string();
  auto secrets = ResolveWebhookSecrets(
      cfg, FakeEnv({{"HOOK", "from-env"}, {"CREDENTIALS_DIRECTORY", (dir / "creds").string()}}));
  ASSERT_TRUE(secrets) << secrets.error().message();
  EXPECT_EQ(*secrets, (std::vector<std::string>{"from-env", "from-file", "from-credential",
                                                "new-one", "old-one"}));
}

TEST(Secrets, FallsBackToSystemdCredentialThenEnvironment) {
  TempDir dir;
  dir.Write("webhook-secret", "cred\n");
  auto from_cred =
      ResolveWebhookSecrets({}, FakeEnv({{"CREDENTIALS_DIRECTORY", dir.path().string()},
                                         {"LABELRUN_WEBHOOK_SECRET", "env"}}));
  ASSERT_TRUE(from_cred);
  EXPECT_EQ(*from_cred, std::vector<std::string>{"cred"});
  auto from_env = ResolveWebhookSecrets({}, FakeEnv({{"LABELRUN_WEBHOOK_SECRET", "env"}}));
  ASSERT_TRUE(from_env);
  EXPECT_EQ(*from_env, std::vector<std::string>{"env"});
}

TEST(Secrets, ProblemsNameTheSourceNeverTheValue) {
  TempDir dir;
  dir.Write("empty", "\n");
  WebhookConfig missing_env;
  missing_env.secrets = {{.env = "NOPE", .file = "", .credential = ""}};
  auto a = ResolveWebhookSecrets(missing_env, FakeEnv({}));
  ASSERT_FALSE(a);
  EXPECT_THAT(a.error().message(), HasSubstr("NOPE is not set"));

  WebhookConfig empty_file;
  empty_file.secrets = {{.env = "", .file = (dir / "empty").string(), .credential = ""}};
  auto b = ResolveWebhookSecrets(empty_file, FakeEnv({}));
  ASSERT_FALSE(b);
  EXPECT_THAT(b.error().message(), HasSubstr("is empty"));

  auto none = ResolveWebhookSecrets({}, FakeEnv({}));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(none.error().message(), HasSubstr("no webhook secret"));

  WebhookConfig cred;
  cred.secrets = {{.env = "", .file = "", .credential = "x"}};
  auto c = ResolveWebhookSecrets(cred, FakeEnv({}));
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message(), HasSubstr("CREDENTIALS_DIRECTORY"));
}

TEST(Tls, UnreadableOrMismatchedFilesAreErrors) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(labelrun::testing::RunCommand(
                {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                 (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(), "-days", "1",
                 "-subj", "/CN=127.0.0.1"},
                &out),
            0)
      << out;
  EXPECT_TRUE(CheckTlsFiles({(dir / "cert.pem").string(), (dir / "key.pem").string()}));
  Status missing = CheckTlsFiles({(dir / "cert.pem").string(), (dir / "nokey.pem").string()});
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), HasSubstr("server.tls.key_file"));
  dir.Write("garbage.pem", "not a key");
  EXPECT_FALSE(CheckTlsFiles({(dir / "cert.pem").string(), (dir / "garbage.pem").string()}));
}

}  // namespace
}  // namespace labelrun::config
