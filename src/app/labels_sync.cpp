#include "labelrun/app/labels_sync.hpp"

#include "labelrun/app/installations.hpp"
#include "labelrun/app/rules_cli.hpp"
#include "labelrun/config/config.hpp"
#include "labelrun/core/clock.hpp"
#include "labelrun/github/client.hpp"
#include "labelrun/labels/sync.hpp"

namespace labelrun::app {
namespace {

std::string_view KindName(labels::SyncActionKind kind) {
  switch (kind) {
    case labels::SyncActionKind::kCreate:
      return "create";
    case labels::SyncActionKind::kUpdate:
      return "update";
    case labels::SyncActionKind::kRename:
      return "rename";
    case labels::SyncActionKind::kDelete:
      return "delete";
    case labels::SyncActionKind::kKeep:
      return "keep";
  }
  return "?";
}

Status Apply(github::Client& client, int64_t installation, const github::Repo& repo,
             const labels::SyncAction& a) {
  using labels::SyncActionKind;
  github::Label label{a.kind == SyncActionKind::kRename ? a.new_name : a.name, a.colour,
                      a.description};
  switch (a.kind) {
    case SyncActionKind::kCreate: {
      Result<github::Label> made = client.CreateRepoLabel(installation, repo, label);
      return made ? Ok() : Status(made.error());
    }
    case SyncActionKind::kUpdate:
    case SyncActionKind::kRename: {
      Result<github::Label> changed = client.UpdateRepoLabel(installation, repo, a.name, label);
      return changed ? Ok() : Status(changed.error());
    }
    case SyncActionKind::kDelete:
      return client.DeleteRepoLabel(installation, repo, a.name);
    case SyncActionKind::kKeep:
      return Ok();
  }
  return Ok();
}

}  // namespace

int RunLabelsSync(const LabelsSyncArgs& args, std::ostream& out, std::ostream& err) {
  size_t slash = args.repo.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == args.repo.size()) {
    err << "--repo: expected OWNER/NAME, got '" << args.repo << "'\n";
    return 2;
  }
  github::Repo repo{args.repo.substr(0, slash), args.repo.substr(slash + 1)};
  config::LoadOutcome cfg = config::LoadConfigFile(args.config_file);
  for (const config::Problem& p : cfg.problems) err << p.ToString() << "\n";
  if (!cfg.config) return 2;
  if (!cfg.config->github) {
    err << args.config_file << ": labels sync needs a github section\n";
    return 2;
  }
  Result<ConfigRules> rules = LoadConfigRules(args.config_file);
  if (!rules) {
    err << rules.error().message() << "\n";
    return 2;
  }
  if (!rules->dictionary) {
    err << args.config_file << ": labels sync needs labels_file (the LABELS.md to apply)\n";
    return 2;
  }
  const github::Settings& settings = *cfg.config->github;
  const Clock& clock = SystemClock::Instance();
  github::CurlTransport transport(github::CurlOptionsFrom(settings));
  auto tokens = github::MakeTokenSource(settings, transport, clock);
  if (!tokens) {
    err << tokens.error().message() << "\n";
    return 2;
  }
  int64_t installation = args.installation;
  if (installation == 0 && settings.app_mode()) {
    // What deliveries taught labelrun, else GitHub's answer for the repository.
    Result<int64_t> found = FindInstallation(cfg.config->state_dir / "labelrun.db", args.repo,
                                             dynamic_cast<github::AppTokenSource*>(tokens->get()),
                                             clock.NowUnixMillis());
    if (!found) {
      err << found.error().message()
          << "\npass --installation ID (from the App's installation settings page)\n";
      return found.error().transient() || found.error().code() == ErrorCode::kResourceExhausted ? 1
                                                                                                : 2;
    }
    installation = *found;
  }
  github::Client client(github::ClientOptionsFrom(settings), transport, **tokens, clock);
  Result<std::vector<github::Label>> current = client.ListRepoLabels(installation, repo);
  if (!current) {
    err << "cannot list the labels of " << args.repo << ": " << current.error().message() << "\n";
    return 1;
  }
  std::vector<labels::RepoLabel> have;
  for (const github::Label& l : *current) have.push_back({l.name, l.color, l.description});
  std::vector<labels::SyncAction> plan = labels::PlanSync(*rules->dictionary, have, args.prune);

  size_t changes = 0;
  for (const labels::SyncAction& a : plan) changes += a.kind != labels::SyncActionKind::kKeep;
  if (changes == 0) {
    out << args.repo << ": labels already match LABELS.md\n";
    for (const labels::SyncAction& a : plan)
      out << "  keep   " << a.name << ": " << a.reason << "\n";
    return 0;
  }
  int failures = 0;
  for (const labels::SyncAction& a : plan) {
    out << "  " << KindName(a.kind) << std::string(7 - KindName(a.kind).size(), ' ') << a.name
        << (a.new_name.empty() ? "" : " -> " + a.new_name) << ": " << a.reason;
    if (!args.dry_run && a.kind != labels::SyncActionKind::kKeep) {
      Status s = Apply(client, installation, repo, a);
      out << (s ? "" : " FAILED: " + s.error().message());
      failures += s ? 0 : 1;
    }
    out << "\n";
  }
  if (args.dry_run) {
    out << args.repo << ": " << changes << " change(s) planned (dry run: nothing changed)\n";
    return 0;
  }
  out << args.repo << ": " << changes - failures << " of " << changes << " change(s) applied\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace labelrun::app
