#pragma once
// What the inbox processor does with each stored delivery: decode it, ignore
// bots, look up the sender's permission, turn it into a rules::Event, and
// decide. Refusals (deny, hold, misspelt labels) are explained in one comment
// per issue and cause, through the outbox. Dispatch decisions are logged until
// the dispatcher is wired in.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "labelrun/app/rules_cli.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/github/outbox_worker.hpp"
#include "labelrun/github/permission_cache.hpp"
#include "labelrun/rules/decision.hpp"
#include "labelrun/scheduler/dispatcher.hpp"
#include "labelrun/store/inbox.hpp"
#include "labelrun/store/installations.hpp"
#include "labelrun/webhook/event.hpp"

namespace labelrun::app {

// The rules::Event a typed delivery means, or nullopt for deliveries that decide
// nothing (installation changes, pull request events without labels...).
// `permission` is the sender's repository permission as GitHub reported it.
std::optional<rules::Event> ToRulesEvent(const webhook::Event& event, rules::Permission permission);

// The inbox's order key of a stored delivery: "owner/repo#issue", so that the
// deliveries of one issue are handled in the order received while another
// issue's wait for a retry holds none of them back. Deliveries without an issue
// share "owner/repo#0"; one that cannot be decoded gets its own key.
std::string DeliveryOrderKey(const store::InboxRow& row);

// The comment that says why a decided job was not started: its commit could not
// be resolved. Names the rule, the repository and what GitHub answered (from
// `error`, cleaned for Markdown), and what to do. `gave_up`: a transient error
// that lasted through every retry (`attempts` of them).
std::string RenderUnresolvedComment(const std::string& rule, const std::string& repository,
                                    const Error& error, bool gave_up, int64_t attempts);

// What a push to a pull request did to one of its open jobs, for its comment.
struct NewCommitsNotice {
  std::string job_id;
  std::string rule;
  std::string old_head;
  std::string new_head;
  bool cancelled = false;  // false: the rule keeps it running
  std::string label;       // the trigger label removed; "" when none was on the PR
};
// "**New commits** on this pull request: ..." — what happened to the job, which
// label was removed, and that labelling again runs the new head.
std::string RenderNewCommitsComment(const NewCommitsNotice& notice);

// True for senders that must never start jobs: bots, labelrun's own App included
// (its status labels would otherwise loop).
bool IsBot(const webhook::Actor& sender);

// The GitHub side of processing; both null without a `github` config section.
struct GithubContext {
  github::PermissionCache* permissions = nullptr;
  github::OutboxWorker* outbox = nullptr;
  // Refusal comments are also handed here (local mode keeps them); may be null.
  std::function<void(const store::OutboxWrite&)> on_comment;
  // The labels a delivery lists for its issue, handed over before the job it
  // decides is submitted (the reporter removes only status labels that are
  // there); may be null.
  std::function<void(const std::string& repository, int64_t issue,
                     const std::vector<std::string>& labels)>
      on_issue_labels;
  // A pull request's head now (GET /repos/{o}/{r}/pulls/{n}), for `/labelrun
  // retry` on a pull request; null: such a retry runs the default branch.
  std::function<Result<github::PullRequestInfo>(int64_t installation, const std::string& repository,
                                                int64_t number)>
      pull_request;
  // Where `installation` / `installation_repositories` deliveries are recorded;
  // may be null (then they are only logged).
  store::InstallationStore* installations = nullptr;
};

// Thread-safe: SetRules may run on an I/O thread (SIGHUP) while the processor
// thread calls Process.
class DeliveryProcessor {
 public:
  // `dispatcher` runs dispatch decisions and cancels jobs; null: decisions are
  // only logged.
  DeliveryProcessor(std::shared_ptr<const ConfigRules> rules, GithubContext github = {},
                    scheduler::Dispatcher* dispatcher = nullptr);

  void SetRules(std::shared_ptr<const ConfigRules> rules);
  // The inbox handler: Ok marks the delivery done.
  Status Process(const store::InboxRow& row);

 private:
  std::shared_ptr<const ConfigRules> rules() const;
  // The sender's permission from GitHub; transient failures are returned so the
  // delivery is retried later.
  Result<rules::Permission> SenderPermission(const webhook::Event& event);
  void Explain(const webhook::Event& event, const rules::Decision& decision);
  // Submits or cancels jobs; transient failures are returned for a retry.
  Status Act(const store::InboxRow& row, const webhook::Event& event,
             const rules::Decision& decision);
  // A job whose commit could not be resolved: a transient error is returned for a
  // retry while the inbox has attempts left; otherwise the issue gets a comment
  // and status:failed, and the delivery fails with the reason.
  Status Unresolved(const store::InboxRow& row, const webhook::Event& event,
                    const rules::Decision& decision, const Error& error);
  // `pull_request.synchronize`: every open job of an older head is cancelled (or
  // kept, as its rule says), its trigger label removed, and the PR told why.
  Status NewCommits(const store::InboxRow& row, const webhook::PullRequestEvent& event);
  // `check_run` rerequested (Re-run: the job again on its commit) and
  // requested_action `cancel`, each after the sender's permission for the rule.
  Status CheckRunAction(const store::InboxRow& row, const webhook::Event& event,
                        const webhook::CheckRunEvent& check);
  // Queues a write through the outbox (and hands it to on_comment).
  void Write(const store::OutboxWrite& write);

  GithubContext github_;
  scheduler::Dispatcher* dispatcher_ = nullptr;
  mutable std::mutex mu_;
  std::shared_ptr<const ConfigRules> rules_;
};

}  // namespace labelrun::app
