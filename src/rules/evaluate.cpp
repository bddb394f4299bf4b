#include <algorithm>

#include "labelrun/core/strings.hpp"
#include "labelrun/labels/suggest.hpp"
#include "labelrun/rules/decision.hpp"

namespace labelrun::rules {
namespace {

constexpr size_t kNoRule = static_cast<size_t>(-1);

std::string Quote(std::string_view label) { return "`" + std::string(label) + "`"; }

class Evaluator {
 public:
  Evaluator(const RuleSet& set, const Event& event, const EvaluateOptions& options)
      : set_(set), event_(event), options_(options), labels_(event.labels) {}

  Decision Run() {
    NormalizeLabels();
    set_.MatchPatterns(labels_, hits_);
    selected_ = FirstHolding(hits_);
    switch (event_.kind) {
      case EventKind::kLabeled:
        OnLabeled();
        break;
      case EventKind::kUnlabeled:
        OnUnlabeled();
        break;
      case EventKind::kClosed:
        decision_.kind = DecisionKind::kCancel;
        decision_.reasons.push_back(
            event_.pull_request
                ? "the pull request was closed or merged; any job on it is cancelled"
                : "the issue was closed; any running job on it is cancelled");
        break;
      case EventKind::kCommand:
        OnCommand();
        break;
      case EventKind::kReopened:
        Reason("the issue was reopened; comment `/labelrun retry` to run its rule again");
        break;
      case EventKind::kOpened:
      case EventKind::kOther:
        Reason(std::string("a ") + std::string(EventKindName(event_.kind)) +
               " event starts nothing; labels added to the issue do");
        break;
    }
    if (options_.explain_other_rules || decision_.explain_only) ExplainOthers();
    return std::move(decision_);
  }

 private:
  void Reason(std::string text) { decision_.reasons.push_back(std::move(text)); }

  // GitHub sends the labels after the change, but be robust to a payload that does not.
  // Copies the label list only when it needs fixing.
  void NormalizeLabels() {
    const std::string& changed = event_.changed_label;
    const bool present = std::find(labels_.begin(), labels_.end(), changed) != labels_.end();
    if (event_.kind == EventKind::kLabeled && !present) {
      owned_.assign(labels_.begin(), labels_.end());
      owned_.push_back(changed);
      labels_ = owned_;
    } else if (event_.kind == EventKind::kUnlabeled && present) {
      owned_.assign(labels_.begin(), labels_.end());
      owned_.erase(std::remove(owned_.begin(), owned_.end(), changed), owned_.end());
      labels_ = owned_;
    }
  }

  size_t FirstHolding(const std::vector<uint8_t>& hits) const {
    for (size_t i = 0; i < set_.rules().size(); ++i) {
      if (set_.Holds(i, hits)) return i;
    }
    return kNoRule;
  }

  const std::string* PresentHoldLabel() const {
    for (const std::string& hold : set_.hold_labels()) {
      if (std::find(labels_.begin(), labels_.end(), hold) != labels_.end()) return &hold;
    }
    return nullptr;
  }

  bool IsHoldLabel(std::string_view label) const {
    const auto& hold = set_.hold_labels();
    return std::find(hold.begin(), hold.end(), label) != hold.end();
  }

  void NoRule() {
    Reason("no rule matches the labels " + LabelList());
    decision_.kind = DecisionKind::kNone;
  }

  std::string LabelList() const {
    std::vector<std::string> sorted(labels_.begin(), labels_.end());
    std::sort(sorted.begin(), sorted.end());
    std::string out = "[";
    for (size_t i = 0; i < sorted.size(); ++i) out += (i ? ", " : "") + sorted[i];
    return out + "]";
  }

  void OnLabeled() {
    const std::string& changed = event_.changed_label;
    const labels::Dictionary* dictionary = set_.dictionary();
    if (dictionary != nullptr && !dictionary->Contains(changed)) {
      if (auto suggestion = labels::Suggest(*dictionary, changed)) {
        decision_.kind = DecisionKind::kUnknownLabels;
        decision_.suggestions.push_back({changed, *suggestion});
        Reason("label " + Quote(changed) + " is not in LABELS.md; did you mean " +
               Quote(*suggestion) + "?");
        return;
      }
    }
    if (selected_ == kNoRule) return NoRule();
    const Rule& rule = set_.rules()[selected_];
    if (!set_.IsTrigger(selected_, changed)) {
      decision_.rule = rule.name;
      Reason("rule " + Quote(rule.name) + " matches, but " + Quote(changed) +
             " is not one of its labels, so adding it starts nothing (the rule fired when its "
             "last label was added; comment `/labelrun retry` to run it again)");
      return;
    }
    Fire("label " + Quote(changed) + " was added and completes rule " + Quote(rule.name));
  }

  void OnUnlabeled() {
    const std::string& changed = event_.changed_label;
    if (IsHoldLabel(changed)) {
      if (const std::string* still = PresentHoldLabel()) {
        decision_.kind = DecisionKind::kHold;
        decision_.hold_label = *still;
        if (selected_ != kNoRule) decision_.rule = set_.rules()[selected_].name;
        Reason("hold label " + Quote(changed) + " was removed, but " + Quote(*still) +
               " still holds every rule");
        return;
      }
      if (selected_ == kNoRule) return NoRule();
      Fire("hold label " + Quote(changed) + " was removed and rule " +
           Quote(set_.rules()[selected_].name) + " matches");
      return;
    }
    std::vector<uint8_t> before = hits_;
    set_.AddHits(changed, before);
    size_t was = FirstHolding(before);
    if (was == kNoRule || set_.Holds(was, hits_) || !set_.IsTrigger(was, changed)) {
      Reason("removing " + Quote(changed) + " breaks no rule that held");
      return;
    }
    const Rule& rule = set_.rules()[was];
    decision_.rule = rule.name;
    if (!Allowed(rule, "cancel")) return;
    decision_.kind = DecisionKind::kCancel;
    Reason("label " + Quote(changed) + " was removed, so rule " + Quote(rule.name) +
           " no longer holds; its running job is cancelled");
  }

  void OnCommand() {
    switch (event_.command) {
      case Command::kExplain:
        decision_.explain_only = true;
        Reason("`/labelrun explain`: what labelrun would do for the current labels");
        [[fallthrough]];
      case Command::kRetry:
        if (selected_ == kNoRule) return NoRule();
        Fire("`/labelrun " + std::string(CommandName(event_.command)) + "` runs rule " +
             Quote(set_.rules()[selected_].name) + ", which matches the labels");
        return;
      case Command::kCancel: {
        if (selected_ != kNoRule) {
          const Rule& rule = set_.rules()[selected_];
          decision_.rule = rule.name;
          if (!Allowed(rule, "cancel")) return;
        } else if (event_.permission < Permission::kWrite) {
          Deny("@" + event_.sender + " has " + std::string(PermissionName(event_.permission)) +
               " permission; cancelling needs write or above");
          return;
        }
        decision_.kind = DecisionKind::kCancel;
        Reason("`/labelrun cancel` by @" + event_.sender + ": the running job is cancelled");
        return;
      }
    }
  }

  void Deny(std::string why) {
    decision_.kind = DecisionKind::kDeny;
    Reason(std::move(why));
  }

  // Permission and allowlist checks for `action` on `rule`; records a deny when refused.
  bool Allowed(const Rule& rule, std::string_view action) {
    std::string why = WhyRefused(rule, event_.permission, event_.sender, action);
    if (why.empty()) return true;
    Deny(std::move(why));
    return false;
  }

  void Fire(std::string why) {
    const Rule& rule = set_.rules()[selected_];
    decision_.rule = rule.name;
    Reason(std::move(why));
    if (!Allowed(rule, "run")) return;
    if (event_.pull_request && event_.from_fork) {
      if (std::string why = WhyForkRefused(rule); !why.empty()) return Deny(std::move(why));
    }
    if (const std::string* hold = PresentHoldLabel()) {
      decision_.kind = DecisionKind::kHold;
      decision_.hold_label = *hold;
      Reason("label " + Quote(*hold) + " holds every rule; remove it to start the job");
      return;
    }
    decision_.kind = DecisionKind::kDispatch;
    decision_.job = MakeJobSpec(rule, labels_);
    if (decision_.job->priority != JobPriority::kNormal) {
      Reason("job priority is " + std::string(JobPriorityName(decision_.job->priority)) +
             " from label `priority:" + std::string(JobPriorityName(decision_.job->priority)) +
             "`");
    }
  }

  void ExplainOthers() {
    for (size_t i = 0; i < set_.rules().size(); ++i) {
      const Rule& rule = set_.rules()[i];
      if (rule.name == decision_.rule) continue;
      std::string why;
      if (!set_.Holds(i, hits_)) {
        why = WhyNotMatched(rule, labels_);
      } else if (selected_ != kNoRule && i != selected_) {
        why = "also matches, but rule " + Quote(set_.rules()[selected_].name) +
              " comes first (higher priority or earlier in the list)";
      } else {
        why = "matches the labels";
      }
      decision_.other_rules.push_back({rule.name, std::move(why)});
    }
    if (const labels::Dictionary* dictionary = set_.dictionary()) {
      for (const std::string& label : labels_) {
        if (dictionary->Contains(label)) continue;
        auto suggestion = labels::Suggest(*dictionary, label);
        if (!suggestion) continue;
        if (std::any_of(decision_.suggestions.begin(), decision_.suggestions.end(),
                        [&](const Suggestion& s) { return s.label == label; })) {
          continue;
        }
        decision_.suggestions.push_back({label, *suggestion});
      }
    }
  }

  const RuleSet& set_;
  const Event& event_;
  const EvaluateOptions& options_;
  std::span<const std::string> labels_;  // event_.labels, or owned_ when fixed up
  std::vector<std::string> owned_;
  std::vector<uint8_t> hits_;
  size_t selected_ = kNoRule;
  Decision decision_;
};

}  // namespace

std::string WhyRefused(const Rule& rule, Permission permission, std::string_view sender,
                       std::string_view action) {
  if (permission < rule.min_permission) {
    return "@" + std::string(sender) + " has " + std::string(PermissionName(permission)) +
           " permission; rule " + Quote(rule.name) + " needs " +
           std::string(PermissionName(rule.min_permission)) + " or above to " +
           std::string(action) + " it";
  }
  // GitHub logins are case-insensitive.
  if (!rule.allowed_users.empty() &&
      std::none_of(rule.allowed_users.begin(), rule.allowed_users.end(),
                   [&](const std::string& user) { return IEquals(user, sender); })) {
    return "@" + std::string(sender) + " is not in rule " + Quote(rule.name) +
           "'s allowed_users, so cannot " + std::string(action) + " it";
  }
  return "";
}

std::string WhyForkRefused(const Rule& rule) {
  if (rule.allow_forks) return "";
  return "this pull request comes from a fork, and rule " + Quote(rule.name) +
         " runs only pull requests whose branch is in this repository (`allow_forks: true` "
         "lets it run forks); nothing was started";
}

Decision Evaluate(const RuleSet& rules, const Event& event, const EvaluateOptions& options) {
  return Evaluator(rules, event, options).Run();
}

}  // namespace labelrun::rules
