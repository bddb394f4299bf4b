#include "labelrun/app/cli.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string_view>
#include <vector>

#include "labelrun/app/deliver.hpp"
#include "labelrun/app/health_cli.hpp"
#include "labelrun/app/jobs_cli.hpp"
#include "labelrun/app/labels_sync.hpp"
#include "labelrun/app/rules_cli.hpp"
#include "labelrun/app/serve.hpp"
#include "labelrun/core/version.hpp"

namespace labelrun::app {
namespace {

// Where a command that needs a subcommand is given a word that is none, the
// word is named with the subcommands there are (CLI11 would only say that a
// subcommand is required). Options' values are skipped, not taken for words.
std::optional<std::string> UnknownSubcommand(CLI::App& app, int argc, char** argv) {
  CLI::App* current = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.size() > 1 && arg[0] == '-') {
      if (arg.find('=') != std::string_view::npos) continue;
      for (CLI::App* a = current; a != nullptr; a = a->get_parent()) {
        if (const CLI::Option* o = a->get_option_no_throw(std::string(arg))) {
          if (o->get_type_size_min() > 0) ++i;  // its value
          break;
        }
      }
      continue;
    }
    const std::vector<CLI::App*> subs = current->get_subcommands({});
    auto sub = std::find_if(subs.begin(), subs.end(),
                            [&](const CLI::App* s) { return s->check_name(std::string(arg)); });
    if (sub != subs.end()) {
      current = *sub;
      continue;
    }
    if (current->get_require_subcommand_min() == 0) return std::nullopt;  // a positional
    std::string command = "labelrun";
    std::vector<std::string> names;
    for (const CLI::App* a = current; a->get_parent() != nullptr; a = a->get_parent()) {
      names.insert(names.begin(), a->get_name());
    }
    for (const std::string& n : names) command += " " + n;
    std::string out =
        command + ": unknown subcommand '" + std::string(arg) + "'; the subcommands are:";
    for (const CLI::App* s : subs) out += " " + s->get_name();
    return out + "\n\n" + current->help();
  }
  return std::nullopt;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"labelrun: GitHub labels in, GPU training runs out", "labelrun"};
  app.require_subcommand(1);
  app.fallthrough(false);
  const std::string version =
      std::string("labelrun ") + kVersion + " (commit " + std::string(kCommit) + ")";
  app.set_version_flag("--version", version, "Print the version and exit");

  ServeOptions serve;
  std::string config_path;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Receive webhooks and run jobs");
  serve_cmd->add_option("--config", config_path, "Configuration file (YAML)")
      ->check(CLI::ExistingFile);
  serve_cmd->add_flag("--dev", serve.dev,
                      "Embedded defaults for development: state in ./state, 127.0.0.1:8080, "
                      "a generated webhook secret");
  serve_cmd->add_option("--state-dir", serve.state_dir,
                        "State folder (overrides state_dir of --config; ./state in --dev mode)");
  serve_cmd->add_option("--listen", serve.listen,
                        "HOST:PORT to listen on (overrides server.listen of --config)");

  std::string check_path;
  CLI::App* check_cmd =
      app.add_subcommand("check-config", "Validate a configuration file and its secrets");
  check_cmd->add_option("--config", check_path, "Configuration file (YAML)")->required();

  CLI::App* version_cmd = app.add_subcommand("version", "Print the version");

  CLI::App* labels_cmd = app.add_subcommand("labels", "Work with the label dictionary (LABELS.md)");
  labels_cmd->require_subcommand(1);
  std::string lint_file = "LABELS.md";
  CLI::App* lint_cmd = labels_cmd->add_subcommand("lint", "Check LABELS.md against the grammar");
  lint_cmd->add_option("--file", lint_file, "The dictionary file (default LABELS.md)");

  LabelsSyncArgs sync;
  CLI::App* sync_cmd =
      labels_cmd->add_subcommand("sync", "Make a repository's labels match LABELS.md");
  sync_cmd->add_option("--config", sync.config_file, "Configuration file")->required();
  sync_cmd->add_option("--repo", sync.repo, "OWNER/NAME")->required();
  sync_cmd->add_option("--installation", sync.installation,
                       "App installation id (default: the one labelrun recorded for the "
                       "repository, else GitHub's answer)");
  sync_cmd->add_flag("--dry-run", sync.dry_run, "Print the plan, change nothing");
  sync_cmd->add_flag("--prune", sync.prune,
                     "Delete labels of a LABELS.md category that it no longer defines");

  ExplainArgs explain;
  CLI::App* explain_cmd = app.add_subcommand(
      "explain", "What a set of labels decides, and why every other rule did not fire");
  explain_cmd->add_option("--config", explain.config_file, "Configuration file")->required();
  explain_cmd->add_option("--labels", explain.labels, "The issue's labels: a,b,c")->required();
  explain_cmd->add_option("--added", explain.added, "The label just added");
  explain_cmd->add_option("--removed", explain.removed, "The label just removed");
  explain_cmd->add_option("--permission", explain.permission,
                          "The sender's permission (default write)");
  explain_cmd->add_option("--sender", explain.sender, "The sender's login");
  explain_cmd->add_flag("--json", explain.json, "Print one JSON object");

  SimulateArgs simulate;
  CLI::App* simulate_cmd =
      app.add_subcommand("simulate", "What a real webhook payload would decide");
  simulate_cmd->add_option("--config", simulate.config_file, "Configuration file")->required();
  simulate_cmd->add_option("--event", simulate.event, "X-GitHub-Event (default issues)");
  simulate_cmd->add_option("--payload", simulate.payload_file, "Payload JSON file")->required();
  simulate_cmd->add_option("--permission", simulate.permission,
                           "The sender's permission (default write)");
  simulate_cmd->add_flag("--json", simulate.json, "Print one JSON object");

  JobsArgs jobs;
  std::string job_id;
  CLI::App* jobs_cmd = app.add_subcommand("jobs", "See and steer jobs through the jobs API");
  jobs_cmd->require_subcommand(1);
  jobs_cmd->add_option("--url", jobs.url, "labelrun's base URL (default http://127.0.0.1:8080)");
  jobs_cmd->add_option("--token-file", jobs.token_file, "File holding the API token")->required();
  jobs_cmd->add_option("--ca-file", jobs.ca_file, "CA certificate for an https URL");
  jobs_cmd->add_flag("--json", jobs.json, "Print the API's JSON");
  CLI::App* jobs_list = jobs_cmd->add_subcommand("list", "Recent jobs, newest first");
  jobs_list->add_option("--repo", jobs.repo, "Only jobs of owner/name");
  jobs_list->add_option("--state", jobs.state, "Only jobs in this state (or: open)");
  CLI::App* jobs_show = jobs_cmd->add_subcommand("show", "One job in full, with its history");
  jobs_show->add_option("id", job_id, "Job id")->required();
  CLI::App* jobs_cancel = jobs_cmd->add_subcommand("cancel", "Stop a job (queued or running)");
  jobs_cancel->add_option("id", job_id, "Job id")->required();
  // `labelrun jobs list --url U --token-file F` works as well as `jobs --url U ... list`.
  for (CLI::App* sub : {jobs_list, jobs_show, jobs_cancel}) sub->fallthrough();

  DeliverArgs deliver;
  CLI::App* deliver_cmd = app.add_subcommand(
      "deliver", "Send a payload as a signed GitHub webhook delivery (testing an installation)");
  deliver_cmd->add_option("--url", deliver.url, "Webhook URL, e.g. https://HOST/webhook")
      ->required();
  deliver_cmd->add_option("--secret-file", deliver.secret_file, "File holding the webhook secret")
      ->required()
      ->check(CLI::ExistingFile);
  deliver_cmd->add_option("--event", deliver.event, "X-GitHub-Event, e.g. issues")->required();
  deliver_cmd->add_option("--payload", deliver.payload_file, "Payload JSON file, sent as it is")
      ->required()
      ->check(CLI::ExistingFile);
  deliver_cmd->add_option("--delivery", deliver.delivery,
                          "X-GitHub-Delivery GUID (default: a random UUID)");
  // One name for a CA file across subcommands; `--cacert` (curl's name) stays accepted.
  deliver_cmd->add_option("--ca-file,--cacert", deliver.ca_file, "CA certificate for an https URL")
      ->check(CLI::ExistingFile);

  HealthArgs health;
  CLI::App* health_cmd =
      app.add_subcommand("health", "Ask a running labelrun whether it is alive (exit 0 if so)");
  health_cmd->add_option("--url", health.url,
                         "Its health URL (default http://127.0.0.1:8080/healthz)");
  health_cmd->add_option("--ca-file", health.ca_file, "CA certificate for an https URL")
      ->check(CLI::ExistingFile);
  health_cmd->add_option("--timeout", health.timeout_s, "Seconds to wait (default 5)")
      ->check(CLI::Range(1, 300));

  if (std::optional<std::string> unknown = UnknownSubcommand(app, argc, argv)) {
    std::cerr << *unknown << "\n";
    return 2;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help requests print and succeed; anything else is a usage error: the
    // message, then the usage, and exit status 2.
    int code = app.exit(e);
    if (code == 0) return 0;
    std::cerr << "\n" << app.help();
    return 2;
  }

  if (*version_cmd) {
    std::cout << version << "\n";
    return 0;
  }
  if (*check_cmd) return RunCheckConfig(check_path);
  if (*lint_cmd) return RunLabelsLint(lint_file, std::cout, std::cerr);
  if (*sync_cmd) return RunLabelsSync(sync, std::cout, std::cerr);
  if (*explain_cmd) return RunExplain(explain, std::cout, std::cerr);
  if (*simulate_cmd) return RunSimulate(simulate, std::cout, std::cerr);
  if (*deliver_cmd) return RunDeliver(deliver, std::cout, std::cerr);
  if (*health_cmd) return RunHealth(health, std::cout, std::cerr);
  if (*jobs_list) return RunJobsList(jobs, std::cout, std::cerr);
  if (*jobs_show) return RunJobsShow(jobs, job_id, std::cout, std::cerr);
  if (*jobs_cancel) return RunJobsCancel(jobs, job_id, std::cout, std::cerr);
  if (*serve_cmd) {
    if (config_path.empty() == !serve.dev) {
      std::cerr << "labelrun serve: give either --config FILE or --dev\n\n" << serve_cmd->help();
      return 2;
    }
    if (!config_path.empty()) serve.config_path = config_path;
    return RunServe(serve);
  }
  return 2;
}

}  // namespace labelrun::app
