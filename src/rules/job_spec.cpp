// MakeJobSpec, WhyNotMatched, ParseCommand and the enum names of decision.hpp.
#include <algorithm>

#include "labelrun/core/strings.hpp"
#include "labelrun/labels/name.hpp"
#include "labelrun/rules/decision.hpp"

namespace labelrun::rules {
namespace {

bool AnyMatches(const Pattern& p, std::span<const std::string> labels) {
  return std::any_of(labels.begin(), labels.end(),
                     [&](const std::string& l) { return p.Matches(l); });
}

std::string List(const std::vector<Pattern>& patterns) {
  std::string out = "[";
  for (size_t i = 0; i < patterns.size(); ++i) out += (i ? ", " : "") + patterns[i].text();
  return out + "]";
}

}  // namespace

std::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kLabeled:
      return "labeled";
    case EventKind::kUnlabeled:
      return "unlabeled";
    case EventKind::kClosed:
      return "closed";
    case EventKind::kReopened:
      return "reopened";
    case EventKind::kOpened:
      return "opened";
    case EventKind::kCommand:
      return "command";
    case EventKind::kOther:
      return "other";
  }
  return "other";
}

std::string_view CommandName(Command command) {
  switch (command) {
    case Command::kRetry:
      return "retry";
    case Command::kCancel:
      return "cancel";
    case Command::kExplain:
      return "explain";
  }
  return "retry";
}

std::string_view DecisionKindName(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kDispatch:
      return "dispatch";
    case DecisionKind::kHold:
      return "hold";
    case DecisionKind::kCancel:
      return "cancel";
    case DecisionKind::kDeny:
      return "deny";
    case DecisionKind::kUnknownLabels:
      return "unknown_labels";
    case DecisionKind::kNone:
      return "none";
  }
  return "none";
}

std::optional<Command> ParseCommand(std::string_view body) {
  constexpr std::string_view kPrefix = "/labelrun";
  body = body.substr(0, 64 * 1024);
  for (std::string_view line : Split(body, '\n')) {
    line = Trim(line);
    if (!line.starts_with(kPrefix)) continue;
    std::string_view rest = line.substr(kPrefix.size());
    if (!rest.empty() && rest[0] != ' ' && rest[0] != '\t') continue;  // "/labelrunner"
    rest = Trim(rest);
    std::string_view word = rest.substr(0, rest.find_first_of(" \t"));
    if (IEquals(word, "retry")) return Command::kRetry;
    if (IEquals(word, "cancel")) return Command::kCancel;
    if (IEquals(word, "explain")) return Command::kExplain;
    return std::nullopt;
  }
  return std::nullopt;
}

JobSpec MakeJobSpec(const Rule& rule, std::span<const std::string> labels) {
  const JobTemplate& t = rule.job;
  JobSpec spec;
  spec.rule = rule.name;
  spec.image = t.image;
  spec.command = t.command;
  spec.env = t.env;
  spec.gpus = t.gpus;
  spec.cpus = t.cpus;
  spec.memory_bytes = t.memory_bytes;
  spec.shm_bytes = t.shm_bytes;
  spec.timeout = t.timeout;
  spec.host_selector = t.host_selector;
  spec.outputs = t.outputs;
  spec.outputs_max_bytes = t.outputs_max_bytes;
  spec.metrics = t.metrics;
  spec.max_concurrent = rule.max_concurrent;
  spec.working_dir = t.working_dir;
  spec.cap_add = t.cap_add;
  spec.mounts = t.mounts;
  spec.user = t.user;
  spec.network = t.network;
  bool high = false, low = false;
  for (const std::string& label : labels) {
    high |= label == "priority:high";
    low |= label == "priority:low";
  }
  // Both labels at once: the louder one wins rather than silently averaging.
  spec.priority = high ? JobPriority::kHigh : low ? JobPriority::kLow : JobPriority::kNormal;
  for (const EnvFromLabel& mapping : t.env_from_labels) {
    std::vector<std::string_view> keys;
    for (const std::string& label : labels) {
      if (mapping.pattern.Matches(label)) keys.push_back(labels::KeyOf(label));
    }
    if (keys.empty()) continue;
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::string value;
    for (std::string_view key : keys) (value += value.empty() ? "" : ",") += key;
    spec.env.emplace_back(mapping.variable, std::move(value));
  }
  std::sort(spec.env.begin(), spec.env.end());
  return spec;
}

std::string WhyNotMatched(const Rule& rule, std::span<const std::string> labels) {
  std::vector<std::string> problems;
  std::string missing;
  for (const Pattern& p : rule.when.all) {
    if (!AnyMatches(p, labels)) missing += (missing.empty() ? "" : ", ") + p.text();
  }
  if (!missing.empty()) {
    problems.push_back("needs all of " + List(rule.when.all) + "; missing " + missing);
  }
  if (!rule.when.any.empty() &&
      std::none_of(rule.when.any.begin(), rule.when.any.end(),
                   [&](const Pattern& p) { return AnyMatches(p, labels); })) {
    problems.push_back("needs one of " + List(rule.when.any) + "; none present");
  }
  for (const Pattern& p : rule.when.none) {
    for (const std::string& label : labels) {
      if (p.Matches(label)) {
        problems.push_back("excluded by label " + label + " (none: " + List(rule.when.none) + ")");
        break;
      }
    }
  }
  std::string out;
  for (const std::string& p : problems) out += (out.empty() ? "" : "; and ") + p;
  return out;
}

}  // namespace labelrun::rules
