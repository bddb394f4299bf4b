#pragma once
// Decisions: what one event on an issue means, given the rules. Pure and deterministic.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/rules/rule.hpp"
#include "labelrun/rules/rule_set.hpp"

namespace labelrun::rules {

enum class EventKind {
  kLabeled,    // a label was added (`changed_label`)
  kUnlabeled,  // a label was removed (`changed_label`)
  kClosed,     // the issue or pull request was closed
  kReopened,
  kOpened,
  kCommand,  // a `/labelrun ...` comment (`command`)
  kOther,    // any other action; decides nothing
};

// Comment commands: `/labelrun retry`, `/labelrun cancel`, `/labelrun explain`.
enum class Command { kRetry, kCancel, kExplain };

std::string_view EventKindName(EventKind kind);  // "labeled", "unlabeled", ...
std::string_view CommandName(Command command);   // "retry", "cancel", "explain"

// The first `/labelrun <command>` line of a comment body (leading spaces allowed, case
// of the command ignored), or nullopt when there is none or the command is unknown.
// Only the first 64 KiB of the body are read.
std::optional<Command> ParseCommand(std::string_view comment_body);

struct Event {
  EventKind kind = EventKind::kOther;
  std::string changed_label;                  // for kLabeled / kUnlabeled
  std::vector<std::string> labels;            // the labels after the change, any order
  Permission permission = Permission::kNone;  // the sender's repository permission
  std::string sender;                         // login, for allowed_users and messages
  Command command = Command::kRetry;          // for kCommand
  // On a pull request: whether its head is in a fork (see Rule::allow_forks).
  bool pull_request = false;
  bool from_fork = false;
};

enum class DecisionKind { kDispatch, kHold, kCancel, kDeny, kUnknownLabels, kNone };

// "dispatch", "hold", "cancel", "deny", "unknown_labels", "none".
std::string_view DecisionKindName(DecisionKind kind);

struct Suggestion {
  std::string label;       // as it is on the issue
  std::string suggestion;  // the dictionary label it probably means
};

// Why a rule other than the decided one did not fire.
struct RuleNote {
  std::string rule;
  std::string why;
};

struct Decision {
  DecisionKind kind = DecisionKind::kNone;
  // The rule dispatched, held, denied or cancelled. Empty for a cancel that covers every
  // job on the issue (closed, or `/labelrun cancel` with no matching rule).
  std::string rule;
  std::optional<JobSpec> job;           // kDispatch only
  std::string hold_label;               // kHold only
  std::vector<Suggestion> suggestions;  // kUnknownLabels (and explanations)
  std::vector<std::string> reasons;     // sentences a person reads, in order
  std::vector<RuleNote> other_rules;    // filled when EvaluateOptions::explain_other_rules
  bool explain_only = false;            // `/labelrun explain`: report it, do not act on it
};

struct EvaluateOptions {
  // Also say, for every rule that was not decided, why it did not fire (for `explain`).
  bool explain_other_rules = false;
};

// Why `sender` with `permission` may not `action` ("run", "cancel", ...) `rule`'s jobs:
// below min_permission, or not in allowed_users; empty when allowed.
std::string WhyRefused(const Rule& rule, Permission permission, std::string_view sender,
                       std::string_view action);
// Why `rule` may not run a pull request from a fork; empty when it may.
std::string WhyForkRefused(const Rule& rule);

// Decides what `event` means under `rules`:
// - labeled: an unknown label that looks like a misspelling -> unknown_labels. Otherwise
//   the first rule (by priority, then position) whose `when` holds for the labels is
//   selected; it fires only if the added label is one of its own patterns (the completing
//   label), so a second delivery that sees the full set for another label decides none.
//   Firing gives deny (permission below min_permission, or sender not in allowed_users,
//   or a pull request from a fork that the rule does not allow), hold (a hold label is
//   present) or dispatch, checked in that order.
// - unlabeled: a hold label removed fires the selected rule; a trigger label removed so
//   that the rule selected before no longer holds -> cancel (or deny for a sender below
//   the rule's min_permission).
// - closed -> cancel every job on the issue. /labelrun retry fires the selected rule
//   regardless of which label came last; /labelrun cancel cancels it; /labelrun explain
//   decides like retry with explain_only set and every rule explained.
// Never throws; the per-rule loop does not allocate.
Decision Evaluate(const RuleSet& rules, const Event& event, const EvaluateOptions& options = {});

// The concrete job for `rule` on an issue with `labels`: the template, the job priority
// from `priority:high` / `priority:low`, and env_from_labels values.
JobSpec MakeJobSpec(const Rule& rule, std::span<const std::string> labels);

// Why `rule`'s `when` does not hold for `labels` (empty when it holds), e.g.
// "needs all of [task:training, gpu:required]; missing gpu:required".
std::string WhyNotMatched(const Rule& rule, std::span<const std::string> labels);

}  // namespace labelrun::rules
