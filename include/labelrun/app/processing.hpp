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
  // Queues a write through the outbox (and hands it to on_comment).
  void Write(const store::OutboxWrite& write);

  GithubContext github_;
  scheduler::Dispatcher* dispatcher_ = nullptr;
  mutable std::mutex mu_;
  std::shared_ptr<const ConfigRules> rules_;
};

}  // namespace labelrun::app
