// `labelrun check-config` and `serve` refuse rules that hand a job the host and
// a GitHub App key that others may read, and warn of loose secret files, short
// webhook secrets and jobs without a memory limit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "labelrun/config/secret_files.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

fs::path WriteWithMode(const TempDir& dir, const std::string& name, const std::string& text,
                       fs::perms mode) {
  fs::path path = dir.Write(name, text);
  fs::permissions(path, mode);
  return path;
}

constexpr fs::perms k600 = fs::perms::owner_read | fs::perms::owner_write;
constexpr fs::perms k640 = k600 | fs::perms::group_read;
constexpr fs::perms k644 = k640 | fs::perms::others_read;

std::string CheckConfig(const fs::path& config, int* rc) {
  std::string out;
  *rc = RunCommand({LABELRUN_BINARY, "check-config", "--config", config.string()}, &out,
                   {{"LABELRUN_WEBHOOK_SECRET", ""}});
  return out;
}

std::string Rules(const std::string& build_extra) {
  return "labels_file: " LABELRUN_SOURCE_DIR
         "/LABELS.md\n"
         "rules:\n"
         "  - name: build\n"
         "    when: {all: [task:training, gpu:required]}\n" +
         build_extra +
         "    job:\n"
         "      image: \"docker:24.0\"\n"
         "      command: [docker, build, .]\n"
         "      memory: 2g\n"
         "      mounts: [/var/run/docker.sock:/var/run/docker.sock]\n"
         "  - name: small\n"
         "    when: {all: [task:training], none: [gpu:required]}\n"
         "    job: {image: \"x:1\", command: [x], user: \"1000:1000\", network: none}\n";
}

TEST(CheckConfig, RefusesAnUnsafeRuleAndWarnsOfLooseSecretsShortSecretsAndNoMemoryLimit) {
  TempDir dir;
  const fs::path secret = WriteWithMode(dir, "secret", "short\n", k644);
  const fs::path token = WriteWithMode(dir, "api-token", "t0ken-t0ken-t0ken\n", k640);
  const fs::path config = dir.Write(
      "labelrun.yaml", "webhook:\n  secrets: [{file: " + secret.string() +
                           "}]\napi: {token_file: " + token.string() +
                           "}\nhosts:\n  - name: box\n    docker: unix:///var/run/docker.sock\n" +
                           Rules(""));
  int rc = 0;
  std::string out = CheckConfig(config, &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_THAT(out, HasSubstr("rules[0].job.mounts[0]: rule 'build' mounts the Docker socket "
                             "(/var/run/docker.sock:/var/run/docker.sock): the job can start "
                             "containers as root on the host; refused unless the rule says "
                             "unsafe: true"));
  EXPECT_THAT(out,
              HasSubstr("warning: webhook.secrets[0].file: " + secret.string() +
                        " is readable by others (mode 0644); run: chmod 600 " + secret.string()));
  EXPECT_THAT(out,
              HasSubstr("warning: api.token_file: " + token.string() +
                        " is readable by its group (mode 0640); run: chmod 600 " + token.string()));
  EXPECT_THAT(out, HasSubstr("warning: webhook.secrets: webhook secret 1 of 1 has 5 characters; "
                             "use at least 16"));
  EXPECT_THAT(out, Not(HasSubstr("short"))) << "the secret itself is never printed";

  // The same, said to be meant, with owner-only files, a long secret and a
  // host default for memory: clean.
  fs::permissions(secret, k600);
  fs::permissions(token, k600);
  dir.Write("secret", "a-webhook-secret-of-32-characters\n");
  const fs::path fixed = dir.Write(
      "fixed.yaml", "webhook:\n  secrets: [{file: " + secret.string() +
                        "}]\napi: {token_file: " + token.string() +
                        "}\nhosts:\n  - name: box\n    docker: unix:///var/run/docker.sock\n"
                        "    defaults: {memory: 16g}\n" +
                        Rules("    unsafe: true\n"));
  out = CheckConfig(fixed, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, Not(HasSubstr("warning")));
  EXPECT_THAT(out, HasSubstr("2 rule(s)"));

  // Without the host default, the rule without memory is named.
  const fs::path no_default =
      dir.Write("no-default.yaml",
                "webhook:\n  secrets: [{file: " + secret.string() +
                    "}]\nhosts:\n  - name: box\n    docker: unix:///var/run/docker.sock\n" +
                    Rules("    unsafe: true\n"));
  out = CheckConfig(no_default, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("warning: rules[1].job.memory: rule 'small' sets no memory limit "
                             "and these hosts have no defaults.memory: box"));
  EXPECT_THAT(out, Not(HasSubstr("rules[0].job.memory")));
}

TEST(CheckConfig, AnAppPrivateKeyOthersMayReadIsRefusedByCheckConfigAndServe) {
  TempDir dir;
  const fs::path secret = WriteWithMode(dir, "secret", "a-webhook-secret-of-32-characters\n", k600);
  const fs::path key = WriteWithMode(dir, "app.pem", AppTestKey().pkcs8_pem, k644);
  const fs::path config = dir.Write(
      "labelrun.yaml", "state_dir: " + (dir / "state").string() +
                           "\nserver: {listen: \"127.0.0.1:0\"}\n"
                           "webhook:\n  secrets: [{file: " +
                           secret.string() + "}]\ngithub:\n  app_id: 123\n  private_key_file: " +
                           key.string() + "\n");
  const std::string refusal = "github.private_key_file: the GitHub App's private key " +
                              key.string() + " is readable by others (mode 0644); run: chmod 600 " +
                              key.string();
  int rc = 0;
  std::string out = CheckConfig(config, &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_THAT(out, HasSubstr(refusal));
  EXPECT_THAT(out, Not(HasSubstr("warning: github")));

  std::string served;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "serve", "--config", config.string()}, &served), 1)
      << served;
  EXPECT_THAT(served, HasSubstr("labelrun: not starting: " + refusal));

  fs::permissions(key, k600);
  out = CheckConfig(config, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, Not(HasSubstr("private_key_file")));
}

TEST(CheckConfig, ServeRefusesAnUnsafeRule) {
  TempDir dir;
  const fs::path secret = WriteWithMode(dir, "secret", "a-webhook-secret-of-32-characters\n", k600);
  const fs::path config = dir.Write(
      "labelrun.yaml", "state_dir: " + (dir / "state").string() +
                           "\nserver: {listen: \"127.0.0.1:0\"}\nwebhook:\n  secrets: [{file: " +
                           secret.string() + "}]\n" + Rules(""));
  std::string served;
  EXPECT_NE(RunCommand({LABELRUN_BINARY, "serve", "--config", config.string()}, &served), 0)
      << served;
  EXPECT_THAT(served, HasSubstr("rules[0].job.mounts[0]: rule 'build' mounts the Docker socket"));
}

TEST(SecretFiles, CredentialsAndTlsKeysAreCheckedAndUnreadableFilesLeftToTheirReaders) {
  TempDir dir;
  config::Config cfg;
  cfg.webhook.secrets.push_back({.env = "", .file = "", .credential = "webhook"});
  cfg.webhook.secrets.push_back({.env = "", .file = (dir / "missing").string(), .credential = ""});
  WriteWithMode(dir, "webhook", "x", k640);
  cfg.server.tls.key_file = WriteWithMode(dir, "tls.key", "x", k644).string();
  config::HostConfig host;
  host.key_file = WriteWithMode(dir, "docker.key", "x", k600).string();
  cfg.hosts.push_back(host);
  config::SecretEnv env{[&](const std::string& name) -> std::optional<std::string> {
    if (name == "CREDENTIALS_DIRECTORY") return dir.path().string();
    return std::nullopt;
  }};
  std::vector<config::Problem> problems = config::CheckSecretFileModes(cfg, env);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].path, "webhook.secrets[0].credential");
  EXPECT_TRUE(problems[0].warning);
  EXPECT_EQ(problems[1].path, "server.tls.key_file");
  EXPECT_THAT(problems[1].message, HasSubstr("(mode 0644)"));

  auto strength =
      config::CheckWebhookSecretStrength({std::string(16, 'a'), std::string(15, 'b'), "c"});
  ASSERT_EQ(strength.size(), 2u);
  EXPECT_EQ(strength[0].message.rfind("webhook secret 2 of 3 has 15 characters", 0), 0u)
      << strength[0].message;
  EXPECT_EQ(strength[1].message.rfind("webhook secret 3 of 3 has 1 characters", 0), 0u);
}

}  // namespace
}  // namespace labelrun::testing
