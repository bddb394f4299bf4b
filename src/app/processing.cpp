#include "labelrun/app/processing.hpp"

#include <spdlog/spdlog.h>

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

DeliveryProcessor::DeliveryProcessor(std::shared_ptr<const ConfigRules> rules)
    : rules_(std::move(rules)) {}

void DeliveryProcessor::SetRules(std::shared_ptr<const ConfigRules> rules) {
  std::lock_guard lock(mu_);
  rules_ = std::move(rules);
}

std::shared_ptr<const ConfigRules> DeliveryProcessor::rules() const {
  std::lock_guard lock(mu_);
  return rules_;
}

Status DeliveryProcessor::Process(const store::InboxRow& row) {
  Result<webhook::Event> event = webhook::DecodeDigest(row.event, row.digest);
  if (!event) return event.error();
  const std::string repo = row.repository.empty() ? "-" : row.repository;
  // The sender's permission is checked through the GitHub API before anything
  // runs; until that client is wired in, the decision is computed as for a
  // sender with write access and only logged.
  std::optional<rules::Event> rules_event = ToRulesEvent(*event, rules::Permission::kWrite);
  std::shared_ptr<const ConfigRules> current = rules();
  if (!rules_event || !current) {
    spdlog::info("processed delivery {} event={} action={} repo={}", row.guid, row.event,
                 row.action, repo);
    return Ok();
  }
  rules::Decision decision = rules::Evaluate(current->rule_set, *rules_event);
  spdlog::info("processed delivery {} event={} action={} repo={} decision={}{}{} ({})", row.guid,
               row.event, row.action, repo, rules::DecisionKindName(decision.kind),
               decision.rule.empty() ? "" : " rule=", decision.rule,
               decision.reasons.empty() ? "no rule applies" : Join(decision.reasons, " "));
  return Ok();
}

}  // namespace labelrun::app
