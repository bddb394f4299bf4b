#include "labelrun/app/serve.hpp"

#include <malloc.h>

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <random>

#include "labelrun/app/github_setup.hpp"
#include "labelrun/app/job_outcome_metrics.hpp"
#include "labelrun/app/job_pages.hpp"
#include "labelrun/app/job_reporter.hpp"
#include "labelrun/app/jobs_api.hpp"
#include "labelrun/app/jobs_setup.hpp"
#include "labelrun/app/processing.hpp"
#include "labelrun/app/rules_cli.hpp"
#include "labelrun/app/systemd_notify.hpp"
#include "labelrun/config/config.hpp"
#include "labelrun/config/secret_files.hpp"
#include "labelrun/core/strings.hpp"
#include "labelrun/core/version.hpp"
#include "labelrun/github/client.hpp"
#include "labelrun/github/jwt.hpp"
#include "labelrun/github/outbox_worker.hpp"
#include "labelrun/github/permission_cache.hpp"
#include "labelrun/github/token_source.hpp"
#include "labelrun/runtime/docker.hpp"
#include "labelrun/runtime/sources.hpp"
#include "labelrun/server/server.hpp"
#include "labelrun/store/inbox.hpp"
#include "labelrun/store/outbox.hpp"
#include "labelrun/webhook/digest.hpp"

namespace labelrun::app {
namespace {

void PrintProblems(const std::vector<config::Problem>& problems) {
  for (const config::Problem& p : problems) std::cerr << p.ToString() << "\n";
}

std::optional<config::Config> LoadOrReport(const std::filesystem::path& path) {
  config::LoadOutcome outcome = config::LoadConfigFile(path);
  PrintProblems(outcome.problems);
  return outcome.config;
}

// A random secret kept in the dev state folder, so that it survives restarts.
Result<std::filesystem::path> EnsureDevSecret(const std::filesystem::path& state_dir,
                                              const std::string& name = "dev-webhook-secret") {
  std::filesystem::path path = state_dir / name;
  if (std::filesystem::exists(path)) return path;
  std::random_device rd;
  std::string bytes(24, '\0');
  for (char& c : bytes) c = static_cast<char>(rd());
  std::ofstream out(path, std::ios::trunc);
  if (!out) {
    return Unexpected(ErrorCode::kFailedPrecondition, "cannot write " + path.string());
  }
  out << HexEncode(bytes) << "\n";
  out.close();
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

// labelrun's own routes: /api/... for tools, /jobs... for people.
class AppRouter final : public server::AppRoutes {
 public:
  // `setup` may be null: the GitHub App setup pages are off.
  AppRouter(JobsApi* api, JobPages* pages, GithubSetupPages* setup)
      : api_(api), pages_(pages), setup_(setup) {}
  bool Handles(std::string_view path) const override {
    return JobsApi::Handles(path) || JobPages::Handles(path) ||
           (setup_ != nullptr && GithubSetupPages::Handles(path));
  }
  server::AppReply Handle(const server::AppRequest& request) override {
    if (JobsApi::Handles(request.path)) return api_->Handle(request);
    if (setup_ != nullptr && GithubSetupPages::Handles(request.path)) {
      return setup_->Handle(request);
    }
    return pages_->Handle(request);
  }

 private:
  JobsApi* api_;
  JobPages* pages_;
  GithubSetupPages* setup_;
};

Status PrepareStateDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      "state_dir: cannot create " + dir.string() + ": " + ec.message());
  }
  ::chmod(dir.c_str(), 0700);
  return Ok();
}

void PrintDevHelp(const config::Config& cfg, const std::filesystem::path& secret_path,
                  uint16_t port) {
  std::string url =
      "http://" + cfg.server.host + ":" + std::to_string(port) + cfg.server.webhook_path;
  std::cout << "labelrun " << kVersion << " (development mode)\n"
            << "  webhook URL:    " << url << "\n"
            << "  webhook secret: stored in " << secret_path.string()
            << " (give the same value to GitHub, or sign test deliveries with it)\n"
            << "  state:          " << cfg.state_dir.string() << "\n"
            << "Send a signed test delivery:\n"
            << "  body='{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1}'\n"
            << "  sig=$(printf %s \"$body\" | openssl dgst -sha256 -hmac \"$(cat "
            << secret_path.string() << ")\" | sed 's/^.* //')\n"
            << "  curl -i -H 'Content-Type: application/json' -H 'X-GitHub-Event: ping' \\\n"
            << "       -H \"X-GitHub-Delivery: $(cat /proc/sys/kernel/random/uuid)\" \\\n"
            << "       -H \"X-Hub-Signature-256: sha256=$sig\" -d \"$body\" " << url << "\n"
            << "Start the demo job (rule task:training, local Docker, nothing sent to GitHub):\n"
            << "  body=$(cat examples/demo/labeled.json)\n"
            << "  sig=$(printf %s \"$body\" | openssl dgst -sha256 -hmac \"$(cat "
            << secret_path.string() << ")\" | sed 's/^.* //')\n"
            << "  curl -H 'Content-Type: application/json' -H 'X-GitHub-Event: issues' \\\n"
            << "       -H \"X-GitHub-Delivery: $(cat /proc/sys/kernel/random/uuid)\" \\\n"
            << "       -H \"X-Hub-Signature-256: sha256=$sig\" -d \"$body\" " << url << "\n"
            << "  then follow it: the log prints the job page's link with each comment update;\n"
            << "  curl -H \"Authorization: Bearer $(cat "
            << (cfg.state_dir / "dev-api-token").string() << ")\" http://" << cfg.server.host << ":"
            << port << "/api/jobs\n"
            << "Dashboard (the job list): http://" << cfg.server.host << ":" << port
            << "/login?next=/jobs\n"
            << "  sign in with any name and the token in "
            << (cfg.state_dir / "dev-api-token").string() << "\n"
            << "Health: curl http://" << cfg.server.host << ":" << port << "/readyz   "
            << "Metrics: curl http://" << cfg.server.host << ":" << port << "/metrics\n"
            << std::flush;
}

// GitHub's web address for an API address: api.github.com -> github.com; a GitHub
// Enterprise Server's https://HOST/api/v3 -> https://HOST; anything else (a test
// server) is taken as it is.
std::string GithubWebUrl(std::string api_url) {
  while (!api_url.empty() && api_url.back() == '/') api_url.pop_back();
  if (api_url.empty() || api_url == "https://api.github.com") return "https://github.com";
  constexpr std::string_view kEnterprise = "/api/v3";
  if (api_url.size() > kEnterprise.size() &&
      api_url.compare(api_url.size() - kEnterprise.size(), kEnterprise.size(), kEnterprise) == 0) {
    api_url.resize(api_url.size() - kEnterprise.size());
  }
  return api_url;
}

// The label dictionary and rules of a config file; null when it has none.
Result<std::shared_ptr<const ConfigRules>> LoadRules(const std::filesystem::path& config_path) {
  Result<ConfigRules> loaded = LoadConfigRules(config_path.string());
  if (!loaded) return loaded.error();
  return std::make_shared<const ConfigRules>(std::move(*loaded));
}

}  // namespace

int RunServe(const ServeOptions& options) {
  // Blocks of 1 MiB and more (a 25 MB delivery's body, its parse, its copies
  // on other threads) are mapped on their own and unmapped when freed; glibc's
  // default threshold grows after the first such free, and the next large
  // delivery then stays in the heap for good.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  config::Config cfg;
  std::filesystem::path dev_secret;
  if (options.config_path) {
    std::optional<config::Config> loaded = LoadOrReport(*options.config_path);
    if (!loaded) {
      std::cerr << "labelrun: not starting: fix the configuration above\n";
      return 1;
    }
    cfg = std::move(*loaded);
  } else {
    cfg.source = "<embedded defaults>";
    cfg.state_dir = "state";
  }
  // Command-line flags override the file (or the embedded defaults), never silently lose.
  if (!options.state_dir.empty()) cfg.state_dir = options.state_dir;
  if (!options.listen.empty()) {
    config::LoadOutcome o =
        config::ParseConfig("server: {listen: \"" + options.listen + "\"}", "--listen");
    if (!o.config) {
      for (const config::Problem& p : o.problems) {
        std::cerr << "labelrun: --listen " << options.listen << ": " << p.message << "\n";
      }
      return 2;
    }
    cfg.server.host = o.config->server.host;
    cfg.server.port = o.config->server.port;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log.level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");

  if (Status s = PrepareStateDir(cfg.state_dir); !s) {
    std::cerr << "labelrun: " << s.error().message() << "\n";
    return 1;
  }
  if (options.dev) {
    Result<std::filesystem::path> path = EnsureDevSecret(cfg.state_dir);
    if (!path) {
      std::cerr << "labelrun: " << path.error().message() << "\n";
      return 1;
    }
    dev_secret = *path;
    cfg.webhook.secrets.push_back({.env = "", .file = dev_secret.string(), .credential = ""});
  }
  const config::SecretEnv env = config::SecretEnv::Process();
  Result<std::vector<std::string>> secrets = config::ResolveWebhookSecrets(cfg.webhook, env);
  if (!secrets) {
    std::cerr << "labelrun: not starting: " << secrets.error().message() << "\n";
    return 1;
  }
  if (Status tls = config::CheckTlsFiles(cfg.server.tls); !tls) {
    std::cerr << "labelrun: not starting: " << tls.error().message() << "\n";
    return 1;
  }
  {
    std::vector<config::Problem> secret_problems = config::CheckSecretFileModes(cfg, env);
    for (config::Problem& p : config::CheckWebhookSecretStrength(*secrets)) {
      secret_problems.push_back(std::move(p));
    }
    bool refused = false;
    for (const config::Problem& p : secret_problems) {
      if (p.warning) {
        spdlog::warn("{}: {}", p.path, p.message);
      } else {
        std::cerr << "labelrun: not starting: " << p.ToString() << "\n";
        refused = true;
      }
    }
    if (refused) return 1;
  }

  std::shared_ptr<const ConfigRules> rules;
  if (options.dev) {
    // The embedded defaults come with a demo rule when run from a labelrun checkout:
    // task:training runs examples/demo/train.sh in the demo image on the local Docker.
    const std::filesystem::path root = std::filesystem::current_path();
    if (std::filesystem::exists(root / "LABELS.md") &&
        std::filesystem::exists(root / "examples/demo/train.sh")) {
      const std::filesystem::path dev_rules = cfg.state_dir / "dev-rules.yaml";
      std::ofstream(dev_rules, std::ios::trunc)
          << "# Written by `labelrun serve --dev`: the demo rule of the embedded defaults.\n"
          << "labels_file: " << (root / "LABELS.md").string() << "\n"
          << "rules:\n"
          << "  - name: demo-training\n"
          << "    when: {all: [task:training]}\n"
          << "    job: {image: \"labelrun-demo/busybox:1\", command: [sh, train.sh], "
             "timeout: 10m}\n";
      Result<std::shared_ptr<const ConfigRules>> loaded = LoadRules(dev_rules);
      if (loaded) {
        rules = *loaded;
        cfg.sources.default_dir = (root / "examples/demo").string();
      } else {
        spdlog::warn("dev mode: demo rule not loaded: {}", loaded.error().message());
      }
    }
  }
  if (options.config_path) {
    Result<std::shared_ptr<const ConfigRules>> loaded = LoadRules(*options.config_path);
    if (!loaded) {
      std::cerr << loaded.error().message() << "\nlabelrun: not starting: fix the rules above\n";
      return 1;
    }
    rules = *loaded;
  }
  const Clock& clock = SystemClock::Instance();
  const std::filesystem::path db_path = cfg.state_dir / "labelrun.db";

  // The GitHub client, its outbox and the permission cache, when configured.
  std::unique_ptr<github::CurlTransport> transport;
  std::unique_ptr<github::TokenSource> tokens;
  std::unique_ptr<github::Client> client;
  std::unique_ptr<github::Client> lookup_client;  // one attempt per call, no waits inside
  std::unique_ptr<store::OutboxStore> outbox_store;
  github::OutboxStats outbox_stats;
  std::unique_ptr<github::OutboxWorker> outbox;
  std::unique_ptr<github::PermissionCache> permissions;
  const JobReporter* redacting_reporter = nullptr;
  if (cfg.github) {
    transport = std::make_unique<github::CurlTransport>(github::CurlOptionsFrom(*cfg.github));
    auto made = github::MakeTokenSource(*cfg.github, *transport, clock);
    if (!made) {
      std::cerr << "labelrun: not starting: " << made.error().message() << "\n";
      return 1;
    }
    tokens = std::move(*made);
    client = std::make_unique<github::Client>(github::ClientOptionsFrom(*cfg.github), *transport,
                                              *tokens, clock);
    github::ClientOptions lookup_options = github::ClientOptionsFrom(*cfg.github);
    lookup_options.max_attempts = 1;
    lookup_options.max_inline_wait = std::chrono::milliseconds(0);
    lookup_client = std::make_unique<github::Client>(lookup_options, *transport, *tokens, clock);
    auto opened = store::OutboxStore::Open(db_path);
    if (!opened) {
      std::cerr << "labelrun: not starting: " << opened.error().message() << "\n";
      return 1;
    }
    outbox_store = std::move(*opened);
    // Every comment body passes the reporter's redactor as it is queued. The redactor is
    // set below, before anything that queues writes (reporter, dispatcher, inbox) starts.
    github::OutboxOptions outbox_options;
    outbox_options.redact_comment = [&redacting_reporter](std::string_view body) {
      return redacting_reporter != nullptr ? redacting_reporter->RedactComment(body)
                                           : std::string(report::Redactor::kMask);
    };
    outbox = std::make_unique<github::OutboxWorker>(*outbox_store, *client, clock, outbox_stats,
                                                    outbox_options);
    outbox->Start();
    permissions = std::make_unique<github::PermissionCache>(*client, clock);
  }
  // Jobs: the store, the hosts, where code comes from, and the dispatcher.
  auto job_store = store::JobStore::Open(db_path);
  if (!job_store) {
    std::cerr << "labelrun: not starting: " << job_store.error().message() << "\n";
    return 1;
  }
  Result<std::vector<scheduler::Host>> hosts = MakeHosts(cfg);
  if (!hosts) {
    std::cerr << "labelrun: not starting: " << hosts.error().message() << "\n";
    return 1;
  }
  // Only the dev demo falls back to a folder (its examples/demo, set above).
  const std::filesystem::path source_fallback;
  Result<std::unique_ptr<runtime::SourceProvider>> source =
      MakeSource(cfg, client.get(), source_fallback, lookup_client.get());
  if (!source) {
    std::cerr << "labelrun: not starting: " << source.error().message() << "\n";
    return 1;
  }
  Result<std::string> instance = EnsureInstanceId(cfg.state_dir);
  if (!instance) {
    std::cerr << "labelrun: not starting: " << instance.error().message() << "\n";
    return 1;
  }
  std::string api_token;
  if (!cfg.api.token_file.empty()) {
    Result<std::string> token = ReadTokenFile(cfg.api.token_file);
    if (!token) {
      std::cerr << "labelrun: not starting: api.token_file: " << token.error().message() << "\n";
      return 1;
    }
    api_token = *token;
  } else if (options.dev) {
    Result<std::filesystem::path> path = EnsureDevSecret(cfg.state_dir, "dev-api-token");
    if (path) api_token = ReadTokenFile(*path).value_or("");
  }
  Result<std::filesystem::path> link_key_path = EnsureDevSecret(cfg.state_dir, "link-key");
  if (!link_key_path) {
    std::cerr << "labelrun: not starting: " << link_key_path.error().message() << "\n";
    return 1;
  }
  const std::string link_key = ReadTokenFile(*link_key_path).value_or("");
  std::string dashboard_token;
  if (!cfg.dashboard.token_file.empty()) {
    Result<std::string> token = ReadTokenFile(cfg.dashboard.token_file);
    if (!token) {
      std::cerr << "labelrun: not starting: dashboard.token_file: " << token.error().message()
                << "\n";
      return 1;
    }
    dashboard_token = *token;
  } else if (options.dev) {
    dashboard_token = api_token;
  }
  ReporterOptions reporter_options;
  reporter_options.update_interval = cfg.report.update_interval;
  reporter_options.public_url = cfg.report.public_url;
  if (reporter_options.public_url.empty() && options.dev) {
    reporter_options.public_url =
        "http://" + cfg.server.host + ":" + std::to_string(cfg.server.port);
  }
  reporter_options.link_ttl = cfg.report.link_ttl;
  reporter_options.link_key = link_key;
  reporter_options.jobs_dir = cfg.state_dir / "jobs";
  std::vector<std::string> held = *secrets;
  for (const std::string& t : {api_token, dashboard_token, link_key}) held.push_back(t);
  if (tokens && !cfg.github->app_mode()) {
    // github.token_file's token may have any shape. The installation tokens of App mode
    // change hourly; they are shaped like ghs_..., which the redactor recognises, and the
    // App's key file content is a PEM block, also recognised.
    if (Result<std::string> token = tokens->Token(0)) held.push_back(*token);
  }
  reporter_options.secrets = SecretsToRedact(std::move(held), rules ? &rules->rule_set : nullptr);
  JobReporter reporter(reporter_options, outbox.get(), clock);
  redacting_reporter = &reporter;
  reporter.Start();
  // Finished jobs are counted for /metrics on their way to the reporter.
  JobOutcomeMetrics outcome_metrics(reporter);
  auto rule_names = [](const std::shared_ptr<const ConfigRules>& r) {
    std::vector<std::string> names;
    if (r) {
      for (const rules::Rule& rule : r->rule_set.rules()) names.push_back(rule.name);
    }
    return names;
  };
  outcome_metrics.SetRules(rule_names(rules));
  scheduler::Dispatcher dispatcher(DispatcherOptionsFrom(cfg, *instance), std::move(*hosts),
                                   **job_store, **source, outcome_metrics, clock);
  if (Status started = dispatcher.Start(); !started) {
    spdlog::error("job recovery: {}", started.error().message());
  }
  JobsApi jobs_api(
      api_token, dispatcher, **job_store, clock,
      JobReportHooks{
          [&reporter](const std::string& id) { return reporter.LatestMetricsJson(id); },
          [&reporter](const std::string& id) { return reporter.CommentMarkdown(id); },
          [&reporter](std::string_view text) { return reporter.redactor().Redact(text); },
          outbox ? std::function<std::vector<LocalComment>()>()
                 : [&reporter] { return reporter.LocalComments(); }});
  JobPagesOptions pages_options;
  pages_options.dashboard_token = dashboard_token;
  pages_options.link_key = link_key;
  pages_options.link_ttl = cfg.report.link_ttl;
  pages_options.jobs_dir = cfg.state_dir / "jobs";
  pages_options.session_ttl = cfg.dashboard.session_ttl;
  pages_options.secure_cookies = reporter_options.public_url.rfind("https://", 0) == 0;
  pages_options.github_url = GithubWebUrl(cfg.github ? cfg.github->api_url : "");
  JobActions page_actions;
  page_actions.cancel = [&dispatcher](const std::string& id, const std::string& by) {
    return dispatcher.Cancel(id, by);
  };
  page_actions.retry = [&dispatcher](const std::string& id,
                                     const std::string& by) -> Result<std::string> {
    Result<store::JobRecord> again = dispatcher.Retry(id, by);
    if (!again) return again.error();
    return again->id;
  };
  JobPages job_pages(pages_options, reporter, **job_store, clock, std::move(page_actions));
  // Registering the GitHub App from here: with github.setup, or in development.
  std::unique_ptr<github::CurlTransport> setup_transport;
  std::unique_ptr<GithubSetupPages> setup_pages;
  if (cfg.github_setup.enabled || options.dev) {
    Result<std::filesystem::path> key_path = EnsureDevSecret(cfg.state_dir, "github-setup-key");
    if (!key_path) {
      std::cerr << "labelrun: not starting: " << key_path.error().message() << "\n";
      return 1;
    }
    github::CurlOptions curl;
    curl.ca_file = cfg.github_setup.ca_file;
    curl.user_agent = std::string("labelrun/") + kVersion;
    setup_transport = std::make_unique<github::CurlTransport>(curl);
    setup_pages = std::make_unique<GithubSetupPages>(
        GithubSetupOptions{cfg.github_setup, reporter_options.public_url, cfg.server.webhook_path,
                           cfg.state_dir, ReadTokenFile(*key_path).value_or("")},
        *setup_transport, clock);
    spdlog::info(
        "GitHub App setup: open {}/github/setup?key=$(cat {}) in a browser",
        reporter_options.public_url.empty() ? "<report.public_url>" : reporter_options.public_url,
        key_path->string());
  }
  AppRouter router(&jobs_api, &job_pages, setup_pages.get());

  auto installation_store = store::InstallationStore::Open(db_path);
  if (!installation_store) {
    std::cerr << "labelrun: not starting: " << installation_store.error().message() << "\n";
    return 1;
  }
  GithubContext github_context;
  github_context.permissions = permissions.get();
  github_context.outbox = outbox.get();
  github_context.installations = installation_store->get();
  if (!outbox) {
    github_context.on_comment = [&reporter](const store::OutboxWrite& w) {
      reporter.KeepLocalComment(w);
    };
  }
  if (lookup_client) {
    github_context.pull_request = [&lookup_client](
                                      int64_t installation, const std::string& repository,
                                      int64_t number) -> Result<github::PullRequestInfo> {
      Result<github::Repo> repo = runtime::ParseRepo(repository);
      if (!repo) return repo.error();
      return lookup_client->GetPullRequest(installation, *repo, number);
    };
  }
  github_context.on_issue_labels = [&reporter](const std::string& repository, int64_t issue,
                                               const std::vector<std::string>& labels) {
    reporter.ObserveIssueLabels(repository, issue, labels);
  };
  DeliveryProcessor delivery_processor(rules, github_context, &dispatcher);

  store::InboxStats stats;
  // The commit thread wakes the processor after each commit that stored rows.
  std::atomic<store::InboxProcessor*> wake{nullptr};
  auto writer = store::InboxWriter::Start(db_path, cfg.inbox.max_batch, stats, [&wake] {
    if (store::InboxProcessor* p = wake.load()) p->Notify();
  });
  if (!writer) {
    std::cerr << "labelrun: not starting: " << writer.error().message() << "\n";
    return 1;
  }
  auto processor = store::InboxProcessor::Start(
      db_path,
      {.paused = cfg.inbox.paused,
       .retention = cfg.inbox.retention,
       // One issue's deliveries in order; a retry on one issue holds back no other.
       .order_key = DeliveryOrderKey},
      [&delivery_processor](const store::InboxRow& row) { return delivery_processor.Process(row); },
      **writer, stats, clock);
  if (!processor) {
    std::cerr << "labelrun: not starting: " << processor.error().message() << "\n";
    return 1;
  }
  store::InboxProcessor* proc = processor->get();
  wake.store(proc);
  server::Metrics metrics;
  {
    metrics.SetExtra([&outbox_stats, &dispatcher, &outcome_metrics,
                      with_outbox = outbox != nullptr](std::string& out) {
      RenderBuildInfo(out);
      RenderJobMetrics(dispatcher.Stats(), out);
      outcome_metrics.Render(out);
      if (!with_outbox) return;
      auto line = [&out](std::string_view name, std::string_view help, std::string_view type,
                         int64_t value) {
        out += "# HELP " + std::string(name) + " " + std::string(help) + "\n# TYPE " +
               std::string(name) + " " + std::string(type) + "\n" + std::string(name) + " " +
               std::to_string(value) + "\n";
      };
      line("labelrun_github_outbox_depth", "GitHub writes waiting to be sent.", "gauge",
           outbox_stats.depth.load());
      line("labelrun_github_writes_sent_total", "GitHub writes sent.", "counter",
           outbox_stats.sent.load());
      line("labelrun_github_writes_failed_total", "GitHub writes refused for good.", "counter",
           outbox_stats.failed.load());
      line("labelrun_github_writes_retried_total", "GitHub writes delayed to be tried again.",
           "counter", outbox_stats.retried.load());
      line("labelrun_github_rate_limit_waits_total", "Waits imposed by GitHub's rate limits.",
           "counter", outbox_stats.rate_limit_waits.load());
    });
  }
  auto server =
      server::Server::Create(cfg.server, cfg.inbox.keep_bodies,
                             std::make_shared<const webhook::SignatureVerifier>(*secrets),
                             server::ServerDeps{**writer, stats, metrics, clock, &router});
  if (!server) {
    std::cerr << "labelrun: not starting: " << server.error().message() << "\n";
    return 1;
  }
  if (options.dev) PrintDevHelp(cfg, dev_secret, (*server)->port());
  spdlog::info(
      "labelrun {} starting: config {}, state {}, {} webhook secret(s), {} rule(s), GitHub {}{}",
      kVersion, cfg.source, cfg.state_dir.string(), secrets->size(),
      rules ? rules->rule_set.rules().size() : 0,
      cfg.github
          ? cfg.github->api_url
          : std::string("not configured (comments are kept locally: job pages and /api/jobs)"),
      cfg.inbox.paused ? ", processing paused" : "");

  server::Server* srv = server->get();
  // Whether the file's configuration now runs; false keeps the running one.
  auto reload = [&]() -> bool {
    if (!options.config_path) return true;
    std::optional<config::Config> fresh = LoadOrReport(*options.config_path);
    if (!fresh) {
      spdlog::error("reload: configuration invalid; keeping the running one");
      return false;
    }
    Result<std::vector<std::string>> s = config::ResolveWebhookSecrets(fresh->webhook, env);
    if (!s) {
      spdlog::error("reload: {}; keeping the current secrets", s.error().message());
      return false;
    }
    Result<std::shared_ptr<const ConfigRules>> fresh_rules = LoadRules(*options.config_path);
    if (!fresh_rules) {
      spdlog::error("reload: rules invalid; keeping the running configuration: {}",
                    fresh_rules.error().message());
      return false;
    }
    // The new secrets and env values are masked before anything can show them: the
    // redactor gains them first (and keeps the old ones, which running jobs may print).
    reporter.AddSecrets(SecretsToRedact(*s, &(*fresh_rules)->rule_set));
    srv->SetVerifier(std::make_shared<const webhook::SignatureVerifier>(*s));
    delivery_processor.SetRules(*fresh_rules);
    outcome_metrics.SetRules(rule_names(*fresh_rules));
    proc->SetPaused(fresh->inbox.paused);
    spdlog::info("reload: {} webhook secret(s) active, {} rule(s); processing {}", s->size(),
                 (*fresh_rules)->rule_set.rules().size(),
                 fresh->inbox.paused ? "paused" : "running");
    return true;
  };

  // systemd (Type=notify): ready once serving (recovery is done by now), and
  // watchdog pings from the event loop while the delivery processor is not stuck.
  const SystemdNotifier systemd = SystemdNotifier::FromEnvironment();
  const std::string serving = "serving on " + cfg.server.host + ":" + std::to_string(srv->port());
  server::RunHooks hooks;
  hooks.on_reload = [&] {
    systemd.Reloading();
    systemd.Ready(reload() ? serving + "; configuration reloaded"
                           : serving + "; reload refused, previous configuration kept");
  };
  if (systemd.enabled()) {
    hooks.on_ready = [&] { systemd.Ready(serving); };
    hooks.on_stopping = [&] { systemd.Stopping("finishing requests in flight"); };
  }
  if (systemd.watchdog_interval().count() > 0) {
    hooks.tick_interval = systemd.watchdog_interval();
    hooks.on_tick = [&systemd, proc, stuck_after = cfg.inbox.stuck_after, stuck = false]() mutable {
      if (proc->Responsive(stuck_after)) {
        if (stuck) spdlog::info("watchdog: the delivery processor moves again");
        stuck = false;
        systemd.Watchdog();
        return;
      }
      if (!stuck) {
        spdlog::error(
            "watchdog: the delivery processor has been stuck for over {}s (inbox.stuck_after); "
            "no more watchdog pings, systemd will restart labelrun",
            std::chrono::duration_cast<std::chrono::seconds>(stuck_after).count());
      }
      stuck = true;
    };
  }
  srv->Run(std::move(hooks));

  // The processor first: it may be waiting for its last outcomes to commit.
  proc->Stop();
  wake.store(nullptr);
  (*writer)->Stop();
  dispatcher.Stop();  // containers keep running; the next start re-attaches them
  reporter.Stop();
  if (outbox) outbox->Stop();  // writes still queued are sent after the next start
  spdlog::info("stopped");
  return 0;
}

int RunCheckConfig(const std::filesystem::path& config_path) {
  config::LoadOutcome outcome = config::LoadConfigFile(config_path);
  std::vector<config::Problem> problems = outcome.problems;
  if (outcome.config) {
    Result<std::vector<std::string>> secrets =
        config::ResolveWebhookSecrets(outcome.config->webhook, config::SecretEnv::Process());
    if (!secrets) problems.push_back({"webhook.secrets", secrets.error().message()});
    if (secrets) {
      for (config::Problem& p : config::CheckWebhookSecretStrength(*secrets)) {
        problems.push_back(std::move(p));
      }
    }
    for (config::Problem& p :
         config::CheckSecretFileModes(*outcome.config, config::SecretEnv::Process())) {
      problems.push_back(std::move(p));
    }
    if (Status tls = config::CheckTlsFiles(outcome.config->server.tls); !tls) {
      problems.push_back({"", tls.error().message()});
    }
    // The GitHub App's credentials must be readable (never printed).
    if (const auto& gh = outcome.config->github) {
      if (gh->app_mode()) {
        if (auto key = github::RsaPrivateKey::LoadFile(gh->private_key_file); !key) {
          problems.push_back({"github.private_key_file", key.error().message()});
        }
      } else if (auto token = github::StaticTokenSource::FromFile(gh->token_file); !token) {
        problems.push_back({"github.token_file", token.error().message()});
      }
    }
    // What `serve` reads at start: the Docker hosts' endpoints and TLS files, and the
    // API and dashboard tokens.
    for (size_t i = 0; i < outcome.config->hosts.size(); ++i) {
      const config::HostConfig& h = outcome.config->hosts[i];
      if (h.kind == "slurm") continue;
      if (auto endpoint =
              runtime::ParseDockerEndpoint(h.docker, h.ca_file, h.cert_file, h.key_file);
          !endpoint) {
        problems.push_back({"hosts[" + std::to_string(i) + "]", endpoint.error().message()});
      }
    }
    for (const auto& [key, path] :
         {std::pair<const char*, const std::string*>{"api.token_file",
                                                     &outcome.config->api.token_file},
          {"dashboard.token_file", &outcome.config->dashboard.token_file}}) {
      if (path->empty()) continue;
      if (Result<std::string> token = ReadTokenFile(*path); !token) {
        problems.push_back({key, token.error().message()});
      }
    }
    // The label dictionary and the rules; their messages carry key paths already.
    if (Result<ConfigRules> rules = LoadConfigRules(config_path.string()); !rules) {
      for (std::string_view line : Split(rules.error().message(), '\n')) {
        if (!Trim(line).empty()) problems.push_back({"", std::string(line)});
      }
    } else {
      // A job without a memory limit can take the whole host's memory.
      const std::vector<config::HostConfig>& hosts = outcome.config->hosts;
      std::string unlimited;  // hosts without defaults.memory
      for (const config::HostConfig& h : hosts) {
        if (h.default_memory_bytes == 0) unlimited += (unlimited.empty() ? "" : ", ") + h.name;
      }
      if (hosts.empty()) unlimited = "local (no hosts are configured)";
      for (const rules::Rule& rule : rules->rule_set.rules()) {
        if (rule.job.memory_bytes != 0 || unlimited.empty()) continue;
        problems.push_back({"rules[" + std::to_string(rule.position) + "].job.memory",
                            "rule '" + rule.name +
                                "' sets no memory limit and these hosts have no defaults.memory: " +
                                unlimited + "; its jobs may use all of a host's memory",
                            /*warning=*/true});
      }
      // Rules that can never run here: GPU jobs with no GPU host; and no rules at all.
      size_t gpu_hosts = 0;
      for (const config::HostConfig& h : hosts) {
        gpu_hosts += (!h.gpus.empty() || h.discover_gpus || h.kind == "slurm") ? 1 : 0;
      }
      for (const rules::Rule& rule : rules->rule_set.rules()) {
        if (rule.job.gpus == 0 || gpu_hosts > 0) continue;
        problems.push_back({"rules[" + std::to_string(rule.position) + "].job.gpus",
                            "rule '" + rule.name + "' asks for " + std::to_string(rule.job.gpus) +
                                " GPU(s) but no host has GPUs (hosts[].gpus); its jobs "
                                "would wait in the queue for good",
                            /*warning=*/true});
      }
      if (rules->rule_set.rules().empty()) {
        problems.push_back({"rules",
                            "no rules: labelrun will receive deliveries and never start a job",
                            /*warning=*/true});
      }
      std::cout << config_path.string() << ": " << rules->rule_set.rules().size() << " rule(s)"
                << (rules->dictionary ? ", " + std::to_string(rules->dictionary->size()) +
                                            " label(s) in the dictionary"
                                      : std::string())
                << "\n";
    }
  }
  PrintProblems(problems);
  size_t errors = 0;
  for (const config::Problem& p : problems) errors += p.warning ? 0 : 1;
  if (errors > 0) {
    std::cerr << config_path.string() << ": " << errors << " problem" << (errors == 1 ? "" : "s")
              << "\n";
    return 1;
  }
  std::cout << config_path.string() << ": ok\n";
  return 0;
}

}  // namespace labelrun::app
