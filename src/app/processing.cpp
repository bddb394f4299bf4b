#include "labelrun/app/processing.hpp"

#include <malloc.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "labelrun/app/installations.hpp"
#include "labelrun/report/comment.hpp"
#include "labelrun/rules/explain.hpp"
#include "labelrun/webhook/digest.hpp"

namespace labelrun::app {
namespace {

rules::EventKind KindOf(std::string_view action) {
  if (action == "labeled") return rules::EventKind::kLabeled;
  if (action == "unlabeled") return rules::EventKind::kUnlabeled;
  if (action == "closed") return rules::EventKind::kClosed;
  if (action == "reopened") return rules::EventKind::kReopened;
  return rules::EventKind::kOther;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::optional<rules::Event> ToRulesEvent(const webhook::Event& event,
                                         rules::Permission permission) {
  rules::Event out;
  out.permission = permission;
  if (const auto* e = std::get_if<webhook::IssuesEvent>(&event)) {
    out.kind = KindOf(e->action);
    out.changed_label = e->label.value_or("");
    out.labels = e->labels;
    out.sender = e->sender.login;
    return out;
  }
  if (const auto* e = std::get_if<webhook::PullRequestEvent>(&event)) {
    out.kind = KindOf(e->action);
    out.changed_label = e->label.value_or("");
    out.labels = e->labels;
    out.sender = e->sender.login;
    out.pull_request = true;
    out.from_fork = e->from_fork();
    return out;
  }
  if (const auto* e = std::get_if<webhook::IssueCommentEvent>(&event)) {
    std::optional<rules::Command> command = rules::ParseCommand(e->comment_body);
    if (!command) return std::nullopt;
    out.kind = rules::EventKind::kCommand;
    out.command = *command;
    out.labels = e->labels;
    out.sender = e->sender.login;
    return out;
  }
  return std::nullopt;
}

bool IsBot(const webhook::Actor& sender) {
  constexpr std::string_view kBotSuffix = "[bot]";
  return sender.type == "Bot" || (sender.login.size() > kBotSuffix.size() &&
                                  sender.login.compare(sender.login.size() - kBotSuffix.size(),
                                                       kBotSuffix.size(), kBotSuffix) == 0);
}

DeliveryProcessor::DeliveryProcessor(std::shared_ptr<const ConfigRules> rules, GithubContext github,
                                     scheduler::Dispatcher* dispatcher)
    : github_(std::move(github)), dispatcher_(dispatcher), rules_(std::move(rules)) {}

void DeliveryProcessor::SetRules(std::shared_ptr<const ConfigRules> rules) {
  std::lock_guard lock(mu_);
  rules_ = std::move(rules);
}

std::shared_ptr<const ConfigRules> DeliveryProcessor::rules() const {
  std::lock_guard lock(mu_);
  return rules_;
}

namespace {

const webhook::Envelope* EnvelopeOf(const webhook::Event& event) {
  return std::visit(
      [](const auto& e) -> const webhook::Envelope* {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_base_of_v<webhook::Envelope, T>)
          return &e;
        else
          return nullptr;
      },
      event);
}

int64_t IssueNumber(const webhook::Event& event) {
  if (const auto* e = std::get_if<webhook::IssuesEvent>(&event)) return e->number;
  if (const auto* e = std::get_if<webhook::IssueCommentEvent>(&event)) return e->number;
  if (const auto* e = std::get_if<webhook::PullRequestEvent>(&event)) return e->number;
  if (const auto* e = std::get_if<webhook::CheckRunEvent>(&event)) return e->pull_request;
  return 0;
}

const rules::Rule* FindRule(const ConfigRules* rules, const std::string& name) {
  if (!rules) return nullptr;
  for (const rules::Rule& r : rules->rule_set.rules()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::string Short(std::string_view sha) { return std::string(sha.substr(0, 7)); }

std::optional<github::Repo> SplitRepo(std::string_view full_name) {
  size_t slash = full_name.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == full_name.size()) {
    return std::nullopt;
  }
  return github::Repo{std::string(full_name.substr(0, slash)),
                      std::string(full_name.substr(slash + 1))};
}

}  // namespace

Result<rules::Permission> DeliveryProcessor::SenderPermission(const webhook::Event& event) {
  const webhook::Envelope* env = EnvelopeOf(event);
  std::optional<github::Repo> repo = env ? SplitRepo(env->repository.full_name) : std::nullopt;
  if (!github_.permissions || !repo) {
    // Local mode (no GitHub to ask): a delivery that carries a valid signature
    // came from a holder of the webhook secret, and is trusted as write access.
    return rules::Permission::kWrite;
  }
  Result<github::PermissionInfo> info =
      github_.permissions->Get(env->installation_id, *repo, env->sender.login);
  if (!info) {
    if (info.error().transient() || info.error().code() == ErrorCode::kResourceExhausted) {
      return Unexpected(ErrorCode::kUnavailable, "permission lookup: " + info.error().message());
    }
    // Not a collaborator, or the App cannot see the repository: no permission.
    spdlog::warn("permission of {} on {}: {}; treating as none", env->sender.login,
                 env->repository.full_name, info.error().message());
    return rules::Permission::kNone;
  }
  return info->level;
}

void DeliveryProcessor::Explain(const webhook::Event& event, const rules::Decision& decision) {
  using rules::DecisionKind;
  if (!github_.outbox && !github_.on_comment) return;
  if (decision.kind != DecisionKind::kDeny && decision.kind != DecisionKind::kHold &&
      decision.kind != DecisionKind::kUnknownLabels && !decision.explain_only) {
    return;
  }
  const webhook::Envelope* env = EnvelopeOf(event);
  if (!env) return;
  store::OutboxWrite write;
  write.installation_id = env->installation_id;
  write.repository = env->repository.full_name;
  write.issue = IssueNumber(event);
  write.kind = store::WriteKind::kComment;
  // One comment per issue and cause: a second delivery with the same cause edits
  // it instead of adding another.
  write.job_key =
      std::string(decision.explain_only ? "explain" : rules::DecisionKindName(decision.kind)) +
      (decision.rule.empty() ? "" : "-" + decision.rule);
  write.payload = rules::RenderExplainComment(decision);
  if (github_.on_comment) github_.on_comment(write);
  if (!github_.outbox) return;
  if (Result<int64_t> queued = github_.outbox->Enqueue(write); !queued) {
    spdlog::error("cannot queue the {} comment on {}#{}: {}", write.job_key, write.repository,
                  write.issue, queued.error().message());
  }
}

Status DeliveryProcessor::Process(const store::InboxRow& row) {
  // A large delivery's decoded copies are freed on this thread: hand the
  // memory back to the system once they are, not at the next large one.
  struct TrimAfter {
    bool large;
    ~TrimAfter() {
      if (large) malloc_trim(0);
    }
  } trim{row.digest.size() >= (1 << 20)};
  Result<webhook::Event> event = webhook::DecodeDigest(row.event, row.digest);
  if (!event) return event.error();
  const std::string repo = row.repository.empty() ? "-" : row.repository;
  std::shared_ptr<const ConfigRules> current = rules();
  if (const auto* installation = std::get_if<webhook::InstallationEvent>(&*event)) {
    return RecordInstallation(github_.installations, row, *installation);
  }
  // New commits end the approval of the old head whoever pushed them, a bot included.
  if (const auto* pr = std::get_if<webhook::PullRequestEvent>(&*event);
      pr && pr->action == "synchronize") {
    return NewCommits(row, *pr);
  }
  const webhook::Envelope* env = EnvelopeOf(*event);
  if (env && IsBot(env->sender)) {
    spdlog::info("processed delivery {} event={} action={} repo={} ignored: sent by {}", row.guid,
                 row.event, row.action, repo, env->sender.login);
    return Ok();
  }
  if (const auto* check = std::get_if<webhook::CheckRunEvent>(&*event)) {
    return CheckRunAction(row, *event, *check);
  }
  std::optional<rules::Event> rules_event = ToRulesEvent(*event, rules::Permission::kNone);
  if (!rules_event || !current || rules_event->kind == rules::EventKind::kOther) {
    spdlog::info("processed delivery {} event={} action={} repo={}", row.guid, row.event,
                 row.action, repo);
    return Ok();
  }
  Result<rules::Permission> permission = SenderPermission(*event);
  if (!permission) return permission.error();
  rules_event->permission = *permission;
  rules::Decision decision = rules::Evaluate(current->rule_set, *rules_event);
  spdlog::info("processed delivery {} event={} action={} repo={} decision={}{}{} ({})", row.guid,
               row.event, row.action, repo, rules::DecisionKindName(decision.kind),
               decision.rule.empty() ? "" : " rule=", decision.rule,
               decision.reasons.empty() ? "no rule applies" : Join(decision.reasons, " "));
  Explain(*event, decision);
  if (decision.kind == rules::DecisionKind::kDispatch && env && github_.on_issue_labels) {
    github_.on_issue_labels(env->repository.full_name, IssueNumber(*event), rules_event->labels);
  }
  return Act(row, *event, decision);
}

std::string DeliveryOrderKey(const store::InboxRow& row) {
  Result<webhook::Event> event = webhook::DecodeDigest(row.event, row.digest);
  if (!event) return "guid:" + row.guid;
  return row.repository + "#" + std::to_string(IssueNumber(*event));
}

namespace {

// GitHub's words, fit for one Markdown code span: no backticks, no line breaks or
// other control characters, no '<' (a quoted `<!-- labelrun:job=... -->` would
// make the comment look like a job's to the outbox), and not too long.
std::string CodeSpanText(std::string_view text) {
  constexpr size_t kMax = 600;
  std::string out;
  for (char c : text) {
    if (out.size() >= kMax) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (c == '<') {
      out += "\u2039";  // ‹
    } else {
      out += c == '`' ? '\'' : (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
  }
  return out;
}

}  // namespace

std::string RenderUnresolvedComment(const std::string& rule, const std::string& repository,
                                    const Error& error, bool gave_up, int64_t attempts) {
  const std::string repo = CodeSpanText(repository);
  std::string out = "**Failed** — labelrun did not start rule `" + CodeSpanText(rule) +
                    "`: it could not find the commit to run in `" + repo + "`.\n\n";
  out += "GitHub answered: `" + CodeSpanText(error.message()) + "`\n\n";
  if (gave_up) {
    out += "GitHub kept failing through " + std::to_string(attempts) +
           " attempts, so labelrun gave up. Once GitHub answers again, remove the trigger "
           "label and add it again.\n";
  } else if (error.code() == ErrorCode::kNotFound) {
    out +=
        "The repository or its default branch does not exist, or this GitHub App is not "
        "installed on `" +
        repo + "` with read access to its contents. No job was started.\n";
  } else if (error.code() == ErrorCode::kPermissionDenied ||
             error.code() == ErrorCode::kUnauthenticated) {
    out += "This GitHub App may not read the contents of `" + repo +
           "`: grant it the Contents (read) permission. No job was started.\n";
  } else {
    out += "No job was started. Once this is fixed, remove the trigger label and add it again.\n";
  }
  return out;
}

void DeliveryProcessor::Write(const store::OutboxWrite& write) {
  if (github_.on_comment) github_.on_comment(write);
  if (!github_.outbox) return;
  if (Result<int64_t> queued = github_.outbox->Enqueue(write); !queued) {
    spdlog::error("cannot queue the {} write on {}#{}: {}", store::WriteKindName(write.kind),
                  write.repository, write.issue, queued.error().message());
  }
}

Status DeliveryProcessor::Unresolved(const store::InboxRow& row, const webhook::Event& event,
                                     const rules::Decision& decision, const Error& error) {
  // A rate limit passes like an outage: the same request succeeds later.
  const bool transient = error.transient() || error.code() == ErrorCode::kResourceExhausted;
  if (transient && !row.last_attempt) {
    spdlog::warn("delivery {}: {}; retrying later", row.guid, error.message());
    return Error(ErrorCode::kUnavailable, error.message());
  }
  const webhook::Envelope* env = EnvelopeOf(event);
  spdlog::warn("delivery {}: rule {} not started on {}#{}: {}", row.guid, decision.rule,
               env->repository.full_name, IssueNumber(event), error.message());
  store::OutboxWrite write;
  write.installation_id = env->installation_id;
  write.repository = env->repository.full_name;
  write.issue = IssueNumber(event);
  write.kind = store::WriteKind::kComment;
  // One comment per issue and rule: a later delivery that fails the same way edits it.
  write.job_key = "unresolved-" + decision.rule;
  write.payload = RenderUnresolvedComment(decision.rule, env->repository.full_name, error,
                                          transient, row.attempts + 1);
  Write(write);
  write.kind = store::WriteKind::kAddLabels;
  write.job_key.clear();
  write.payload = std::string(report::StatusLabel(JobState::kFailed));
  Write(write);
  // Never transient: the delivery is recorded as failed, with the reason.
  return Error(transient ? ErrorCode::kFailedPrecondition : error.code(),
               transient ? "gave up after " + std::to_string(row.attempts + 1) +
                               " attempts: " + error.message()
                         : error.message());
}

Status DeliveryProcessor::Act(const store::InboxRow& row, const webhook::Event& event,
                              const rules::Decision& decision) {
  using rules::DecisionKind;
  const webhook::Envelope* env = EnvelopeOf(event);
  if (!dispatcher_ || !env || decision.explain_only) return Ok();
  const int64_t issue = IssueNumber(event);
  const std::string who = "@" + env->sender.login;
  if (decision.kind == DecisionKind::kCancel) {
    const Result<int> n =
        dispatcher_->CancelOn(env->repository.full_name, issue, decision.rule, who, row.guid);
    if (!n) return n.error();
    if (*n > 0) {
      spdlog::info("delivery {}: cancelling {} job(s) on {}#{}", row.guid, *n,
                   env->repository.full_name, issue);
    }
    return Ok();
  }
  if (decision.kind != DecisionKind::kDispatch || !decision.job) return Ok();
  scheduler::NewJob job;
  job.delivery = row.guid;
  job.repository = env->repository.full_name;
  job.issue = issue;
  job.installation = env->installation_id;
  job.sender = env->sender.login;
  job.spec = *decision.job;
  if (const auto* pr = std::get_if<webhook::PullRequestEvent>(&event)) {
    // The label approves the head as of this delivery, nothing pushed after it;
    // GitHub serves a fork's head through the base repository.
    job.pull_request = true;
    job.from_fork = pr->from_fork();
    job.trigger_label = pr->label.value_or("");
    job.commit = pr->head_sha;
    if (job.commit.empty()) {
      return Unresolved(
          row, event, decision,
          Error(ErrorCode::kInvalidArgument, "the pull_request delivery names no head commit"));
    }
  } else if (const auto* comment = std::get_if<webhook::IssueCommentEvent>(&event);
             comment && comment->is_pull_request && github_.pull_request) {
    // `/labelrun retry` on a pull request runs its head as of now.
    Result<github::PullRequestInfo> info =
        github_.pull_request(job.installation, job.repository, issue);
    if (!info) return Unresolved(row, event, decision, info.error());
    job.pull_request = true;
    job.from_fork = info->head_repo != job.repository;
    job.commit = info->head_sha;
    std::shared_ptr<const ConfigRules> current = rules();
    const rules::Rule* rule = FindRule(current.get(), decision.rule);
    if (job.from_fork && rule) {
      if (std::string why = rules::WhyForkRefused(*rule); !why.empty()) {
        rules::Decision deny;
        deny.kind = rules::DecisionKind::kDeny;
        deny.rule = decision.rule;
        deny.reasons = {why};
        Explain(event, deny);
        return Ok();
      }
    }
  } else {
    // Resolved here rather than in Submit, so that a commit GitHub cannot give is
    // told on the issue, and a passing outage is retried.
    Result<std::string> commit = dispatcher_->ResolveCommit(job.repository, job.installation);
    if (!commit) return Unresolved(row, event, decision, commit.error());
    job.commit = *commit;
  }
  Result<store::JobRecord> submitted = dispatcher_->Submit(std::move(job));
  if (!submitted) {
    if (submitted.error().code() == ErrorCode::kAlreadyExists) {
      spdlog::info("delivery {}: {}", row.guid, submitted.error().message());
      return Ok();
    }
    spdlog::warn("delivery {}: cannot queue the job: {}", row.guid, submitted.error().message());
    return submitted.error();
  }
  spdlog::info("delivery {}: job {} {} for {}#{} (rule {})", row.guid, submitted->id,
               JobStateName(submitted->state), submitted->repository, submitted->issue,
               submitted->spec.rule);
  return Ok();
}

std::string RenderNewCommitsComment(const NewCommitsNotice& notice) {
  std::string out = "**New commits** on this pull request: its head is now `" +
                    CodeSpanText(Short(notice.new_head)) + "`.\n\n";
  out += "labelrun runs only code that someone with permission labelled. ";
  if (notice.cancelled) {
    out += "Job `" + CodeSpanText(notice.job_id) + "` of rule `" + CodeSpanText(notice.rule) +
           "`, for the previous head `" + CodeSpanText(Short(notice.old_head)) +
           "`, was cancelled.";
  } else {
    out += "Job `" + CodeSpanText(notice.job_id) + "` of rule `" + CodeSpanText(notice.rule) +
           "` keeps running for the previous head `" + CodeSpanText(Short(notice.old_head)) +
           "` (the rule says `on_new_commits: keep`).";
  }
  if (!notice.label.empty()) {
    out += " The label `" + CodeSpanText(notice.label) +
           "` was removed: a maintainer adds it again to run the new head.\n";
  } else {
    out += " To run the new head, a maintainer labels the pull request again.\n";
  }
  return out;
}

Status DeliveryProcessor::NewCommits(const store::InboxRow& row,
                                     const webhook::PullRequestEvent& event) {
  if (!dispatcher_) {
    spdlog::info("processed delivery {} event=pull_request action=synchronize repo={}", row.guid,
                 event.repository.full_name);
    return Ok();
  }
  Result<std::vector<store::JobRecord>> open =
      dispatcher_->OpenOn(event.repository.full_name, event.number);
  if (!open) return open.error();
  std::shared_ptr<const ConfigRules> current = rules();
  int n = 0;
  for (const store::JobRecord& job : *open) {
    if (!job.pull_request || job.commit == event.head_sha) continue;
    ++n;
    const rules::Rule* rule = FindRule(current.get(), job.spec.rule);
    const bool cancel = !rule || rule->on_new_commits == rules::OnNewCommits::kCancel;
    // The label that approved the old head; for a job a command started, the first
    // label of its rule still on the pull request.
    std::string label = job.trigger_label;
    if (label.empty() && current && rule) {
      for (size_t i = 0; i < current->rule_set.rules().size() && label.empty(); ++i) {
        if (current->rule_set.rules()[i].name != rule->name) continue;
        for (const std::string& l : event.labels) {
          if (current->rule_set.IsTrigger(i, l)) {
            label = l;
            break;
          }
        }
      }
    }
    const bool on_pr =
        std::find(event.labels.begin(), event.labels.end(), label) != event.labels.end();
    store::OutboxWrite write;
    write.installation_id = event.installation_id;
    write.repository = event.repository.full_name;
    write.issue = event.number;
    write.kind = store::WriteKind::kComment;
    write.job_key = "new-commits-" + job.spec.rule;
    write.payload = RenderNewCommitsComment(
        {job.id, job.spec.rule, job.commit, event.head_sha, cancel, on_pr ? label : ""});
    Write(write);
    if (on_pr) {
      write.kind = store::WriteKind::kRemoveLabel;
      write.job_key.clear();
      write.payload = label;
      Write(write);
    }
    if (cancel) {
      Status s = dispatcher_->Cancel(
          job.id, "new commits (" + Short(event.head_sha) + ") pushed by @" + event.sender.login);
      if (!s && s.error().code() != ErrorCode::kFailedPrecondition &&
          s.error().code() != ErrorCode::kNotFound) {
        return s.error();
      }
    }
  }
  spdlog::info(
      "processed delivery {} event=pull_request action=synchronize repo={} pr={} head={}: "
      "{} job(s) of an older head",
      row.guid, event.repository.full_name, event.number, Short(event.head_sha), n);
  return Ok();
}

Status DeliveryProcessor::CheckRunAction(const store::InboxRow& row, const webhook::Event& event,
                                         const webhook::CheckRunEvent& check) {
  const std::string& repo = check.repository.full_name;
  const bool cancel = check.action == "requested_action";
  if (cancel && check.requested_action != "cancel") {
    spdlog::info("processed delivery {} event=check_run repo={}: unknown action '{}' ignored",
                 row.guid, repo, check.requested_action);
    return Ok();
  }
  if (!dispatcher_) {
    spdlog::info("processed delivery {} event=check_run action={} repo={}", row.guid, check.action,
                 repo);
    return Ok();
  }
  Result<std::optional<store::JobRecord>> found = std::optional<store::JobRecord>();
  if (!check.external_id.empty()) found = dispatcher_->Job(check.external_id);
  if (!found) return found.error();
  if (!*found || (*found)->repository != repo) {
    spdlog::info("processed delivery {} event=check_run repo={}: no labelrun job '{}' there",
                 row.guid, repo, check.external_id);
    return Ok();
  }
  const store::JobRecord& job = **found;
  Result<rules::Permission> permission = SenderPermission(event);
  if (!permission) return permission.error();
  std::shared_ptr<const ConfigRules> current = rules();
  const rules::Rule* rule = FindRule(current.get(), job.spec.rule);
  const std::string& sender = check.sender.login;
  std::string why;
  if (rule) {
    why = rules::WhyRefused(*rule, *permission, sender, cancel ? "cancel" : "run");
    if (why.empty() && !cancel && job.from_fork) why = rules::WhyForkRefused(*rule);
  } else if (!cancel) {
    why = "rule `" + job.spec.rule + "` is no longer in labelrun's configuration";
  } else if (*permission < rules::Permission::kWrite) {
    why = "@" + sender + " has " + std::string(rules::PermissionName(*permission)) +
          " permission; cancelling needs write or above";
  }
  if (!why.empty()) {
    spdlog::info("processed delivery {} event=check_run action={} repo={} job={}: refused: {}",
                 row.guid, check.action, repo, job.id, why);
    rules::Decision deny;
    deny.kind = rules::DecisionKind::kDeny;
    deny.rule = job.spec.rule;
    deny.reasons = {std::string(cancel ? "the check run's Cancel" : "the check run's Re-run") +
                        " for job " + job.id + " was refused",
                    why};
    webhook::CheckRunEvent on_pr = check;
    on_pr.pull_request = job.issue;
    Explain(webhook::Event(on_pr), deny);
    return Ok();
  }
  if (cancel) {
    Status s = dispatcher_->Cancel(job.id, "@" + sender);
    if (!s && s.error().code() != ErrorCode::kFailedPrecondition) return s.error();
    spdlog::info("processed delivery {} event=check_run repo={} job={}: cancel by @{}{}", row.guid,
                 repo, job.id, sender, s ? "" : " (" + s.error().message() + ")");
    return Ok();
  }
  scheduler::NewJob again;
  again.delivery = row.guid;
  again.repository = job.repository;
  again.issue = job.issue;
  again.installation = check.installation_id != 0 ? check.installation_id : job.installation;
  again.sender = sender;
  again.spec = job.spec;
  again.commit = job.commit;
  again.pull_request = job.pull_request;
  again.from_fork = job.from_fork;
  again.trigger_label = job.trigger_label;
  Result<store::JobRecord> submitted = dispatcher_->Submit(std::move(again));
  if (!submitted) {
    if (submitted.error().code() == ErrorCode::kAlreadyExists) {
      spdlog::info("processed delivery {} event=check_run action=rerequested repo={}: {}", row.guid,
                   repo, submitted.error().message());
      return Ok();
    }
    return submitted.error();
  }
  spdlog::info(
      "processed delivery {} event=check_run action=rerequested repo={}: job {} re-runs job {} "
      "on {} for @{}",
      row.guid, repo, submitted->id, job.id, Short(job.commit), sender);
  return Ok();
}

}  // namespace labelrun::app
