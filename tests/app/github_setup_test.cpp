// Registering labelrun's GitHub App in one click, against the loopback GitHub:
// the setup page (behind its key) posts the manifest as a browser would, GitHub
// sends the browser back with a code, labelrun exchanges it once and keeps the
// App's credentials 0600 without ever showing them, and the config lines it
// shows give a configuration that check-config accepts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "labelrun/core/clock.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string Unescape(std::string s) {
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"&quot;", "\""},
                                 {"&#39;", "'"},
                                 {"&lt;", "<"},
                                 {"&gt;", ">"},
                                 {"&amp;", "&"}}) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  }
  return s;
}

std::string FormEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string Header(const std::string& headers, const std::string& name) {
  std::smatch m;
  if (std::regex_search(headers, m,
                        std::regex("(?:^|\n)" + name + ": ([^\r\n]*)", std::regex::icase))) {
    return m[1].str();
  }
  return {};
}

int Mode(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

class GithubSetupTest : public ::testing::Test {
 protected:
  GithubSetupTest() : github_(Options(), SystemClock::Instance()) {}
  static FakeGithub::Options Options() {
    FakeGithub::Options o;
    o.app_private_key_pem = AppTestKey().pkcs1_pem;
    o.public_key_pem = AppTestKey().public_pem;
    return o;
  }
  std::string Setup(const std::string& extra = "") {
    return "github:\n  setup: true\n  app_name: labelrun-acme\n  api_url: " + github_.url() +
           "\n  web_url: " + github_.url() + "\n" + extra +
           "report: {public_url: \"https://labelrun.acme.test\"}\n";
  }
  TempDir dir_;
  FakeGithub github_;
};

TEST_F(GithubSetupTest, OneClickRegistersTheAppAndKeepsItsCredentialsPrivate) {
  LabelrunProcess::Options options;
  options.extra_yaml = Setup();
  LabelrunProcess labelrun(dir_, options);
  ASSERT_TRUE(labelrun.WaitReady()) << labelrun.Log();
  const fs::path state = dir_ / "state";
  EXPECT_THAT(labelrun.Log(),
              HasSubstr("/github/setup?key=$(cat " + (state / "github-setup-key").string() + ")"));
  const std::string key = ReadText(state / "github-setup-key");
  EXPECT_EQ(Mode(state / "github-setup-key"), 0600);

  // Without the key, or with a wrong one, there is no setup page.
  EXPECT_EQ(HttpRequest("GET", labelrun.Url("/github/setup"), {}, "").status, 401);
  EXPECT_EQ(HttpRequest("GET", labelrun.Url("/github/setup?key=0123"), {}, "").status, 401);

  const std::string setup_url = labelrun.Url("/github/setup?key=" + key.substr(0, key.find('\n')));
  HttpResponse page = HttpRequest("GET", setup_url, {}, "");
  ASSERT_EQ(page.status, 200) << page.body;
  // The page may send its one form to GitHub only, and runs nothing.
  EXPECT_THAT(Header(page.headers, "Content-Security-Policy"),
              HasSubstr("default-src 'none'; form-action " + github_.url() + ";"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(page.body, m,
                                std::regex("<form method=\"post\" action=\"([^\"]+)\"><input "
                                           "type=\"hidden\" name=\"manifest\" value=\"([^\"]+)\"")))
      << page.body;
  const std::string action = Unescape(m[1].str());
  const std::string manifest_text = Unescape(m[2].str());
  EXPECT_THAT(action, ::testing::StartsWith(github_.url() + "/settings/apps/new?state="));

  // The manifest: labelrun's name and addresses, and exactly the permissions and
  // events of config/github-app-manifest.json.
  const json manifest = json::parse(manifest_text);
  const json documented =
      json::parse(ReadText(fs::path(LABELRUN_SOURCE_DIR) / "config/github-app-manifest.json"));
  EXPECT_EQ(manifest["name"], "labelrun-acme");
  EXPECT_EQ(manifest["hook_attributes"]["url"], "https://labelrun.acme.test/webhook");
  EXPECT_EQ(manifest["redirect_url"], "https://labelrun.acme.test/github/app-created");
  EXPECT_EQ(manifest["public"], false);
  EXPECT_EQ(manifest["default_permissions"], documented["default_permissions"]);
  EXPECT_EQ(manifest["default_events"], documented["default_events"]);

  // The browser posts the form to GitHub, which sends it back with a code.
  HttpResponse created = HttpRequest("POST", action,
                                     {"Content-Type: application/x-www-form-urlencoded",
                                      "User-Agent: Mozilla/5.0 (X11; Linux x86_64)"},
                                     "manifest=" + FormEncode(manifest_text));
  ASSERT_EQ(created.status, 302) << created.body;
  const std::string location = Header(created.headers, "Location");
  ASSERT_THAT(location,
              ::testing::StartsWith("https://labelrun.acme.test/github/app-created?code="));
  ASSERT_EQ(github_.AppManifests().size(), 1u);
  const std::string back = location.substr(location.find("/github/app-created"));

  // A forged state is refused before GitHub is asked anything.
  const size_t requests_before = github_.Requests().size();
  const std::string code =
      back.substr(back.find("code=") + 5, back.find('&') - back.find("code=") - 5);
  EXPECT_EQ(HttpRequest(
                "GET",
                labelrun.Url("/github/app-created?code=" + code + "&state=" + std::string(32, 'a')),
                {}, "")
                .status,
            400);
  EXPECT_EQ(github_.Requests().size(), requests_before);

  HttpResponse done = HttpRequest("GET", labelrun.Url(back), {}, "");
  ASSERT_EQ(done.status, 200) << done.body;
  const fs::path creds = state / "github-app";
  const std::string app_id = ReadText(creds / "app-id");
  ASSERT_FALSE(app_id.empty());
  EXPECT_EQ(ReadText(creds / "private-key.pem"), AppTestKey().pkcs1_pem);
  const std::string webhook_secret = ReadText(creds / "webhook-secret");
  EXPECT_THAT(webhook_secret, ::testing::StartsWith("whsec-"));
  for (const char* name : {"app-id", "private-key.pem", "webhook-secret", "client-secret"}) {
    EXPECT_EQ(Mode(creds / name), 0600) << name;
  }
  EXPECT_EQ(Mode(creds), 0700);
  // The page says what to configure, and shows no secret.
  EXPECT_THAT(done.body, HasSubstr("app_id: \"" + app_id.substr(0, app_id.size() - 1) + "\""));
  EXPECT_THAT(done.body, HasSubstr((creds / "private-key.pem").string()));
  EXPECT_THAT(done.body, HasSubstr((creds / "webhook-secret").string()));
  EXPECT_THAT(done.body, Not(HasSubstr("PRIVATE KEY")));
  EXPECT_THAT(done.body, Not(HasSubstr(webhook_secret.substr(0, webhook_secret.size() - 1))));
  EXPECT_THAT(done.body, Not(HasSubstr("client-secret-")));
  EXPECT_THAT(labelrun.Log(), Not(HasSubstr("whsec-")));
  EXPECT_THAT(labelrun.Log(), Not(HasSubstr("PRIVATE KEY")));

  // The same return again: its state is spent (and GitHub's code with it).
  EXPECT_EQ(HttpRequest("GET", labelrun.Url(back), {}, "").status, 400);
  // A registered App is kept: no second setup over it.
  EXPECT_EQ(HttpRequest("GET", setup_url, {}, "").status, 409);

  // The lines the page shows make a configuration labelrun accepts.
  const fs::path config = dir_.Write(
      "registered.yaml",
      "state_dir: " + (dir_ / "other-state").string() + "\ngithub:\n  api_url: " + github_.url() +
          "\n  app_id: \"" + app_id.substr(0, app_id.size() - 1) +
          "\"\n  private_key_file: " + (creds / "private-key.pem").string() +
          "\nwebhook:\n  secrets:\n    - file: " + (creds / "webhook-secret").string() + "\n");
  std::string out;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "check-config", "--config", config.string()}, &out), 0)
      << out;
}

TEST_F(GithubSetupTest, AnOrganizationsAppIsMadeThereAndACodeGitHubRefusesIsSaidPlainly) {
  LabelrunProcess::Options options;
  options.extra_yaml = Setup("  organization: acme\n");
  LabelrunProcess labelrun(dir_, options);
  ASSERT_TRUE(labelrun.WaitReady()) << labelrun.Log();
  const std::string key = ReadText(dir_ / "state" / "github-setup-key");
  HttpResponse page = HttpRequest(
      "GET", labelrun.Url("/github/setup?key=" + key.substr(0, key.find('\n'))), {}, "");
  ASSERT_EQ(page.status, 200);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(page.body, m, std::regex("action=\"([^\"]+)\"")));
  const std::string action = Unescape(m[1].str());
  EXPECT_THAT(action, ::testing::StartsWith(github_.url() +
                                            "/organizations/acme/settings/apps/new?state="));
  // GitHub does not know the code (expired, or not its own): nothing is written.
  const std::string state = action.substr(action.find("state=") + 6);
  HttpResponse refused = HttpRequest(
      "GET", labelrun.Url("/github/app-created?code=nosuchcode&state=" + state), {}, "");
  EXPECT_EQ(refused.status, 409);
  EXPECT_THAT(refused.body, HasSubstr("GitHub answered 404 (Not Found)"));
  EXPECT_FALSE(fs::exists(dir_ / "state" / "github-app" / "app-id"));
}

TEST_F(GithubSetupTest, OffUnlessConfigured) {
  LabelrunProcess labelrun(dir_, {});
  ASSERT_TRUE(labelrun.WaitReady()) << labelrun.Log();
  EXPECT_EQ(HttpRequest("GET", labelrun.Url("/github/setup"), {}, "").status, 404);
  EXPECT_EQ(HttpRequest("GET", labelrun.Url("/github/app-created?code=a&state=b"), {}, "").status,
            404);
  EXPECT_FALSE(fs::exists(dir_ / "state" / "github-setup-key"));
}

}  // namespace
}  // namespace labelrun::testing
