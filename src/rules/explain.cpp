#include "labelrun/rules/explain.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "labelrun/core/units.hpp"

namespace labelrun::rules {
namespace {

nlohmann::json Object(const KeyValues& pairs) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : pairs) out[k] = v;
  return out;
}

// An argv element as it would need to be written in a shell, for reading only.
std::string ShellWord(const std::string& arg) {
  if (!arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?;&|<>(){}[]#~!") == std::string::npos) {
    return arg;
  }
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

nlohmann::json JobSpecToJson(const JobSpec& job) {
  return {
      {"rule", job.rule},
      {"image", job.image},
      {"command", job.command},
      {"env", Object(job.env)},
      {"gpus", job.gpus},
      {"cpus", job.cpus},
      {"memory_bytes", job.memory_bytes},
      {"shm_bytes", job.shm_bytes},
      {"timeout_ms", job.timeout.count()},
      {"host_selector", Object(job.host_selector)},
      {"outputs", job.outputs},
      // One name as a string, several as a list, as the config writes them.
      {"metric",
       job.metrics.size() == 1 ? nlohmann::json(job.metrics[0]) : nlohmann::json(job.metrics)},
      {"priority", JobPriorityName(job.priority)},
      {"max_concurrent", job.max_concurrent},
  };
}

nlohmann::json DecisionToJson(const Decision& d) {
  nlohmann::json out;
  out["decision"] = DecisionKindName(d.kind);
  if (!d.rule.empty()) out["rule"] = d.rule;
  if (d.job) out["job"] = JobSpecToJson(*d.job);
  if (!d.hold_label.empty()) out["hold_label"] = d.hold_label;
  out["reasons"] = d.reasons;
  if (!d.suggestions.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const Suggestion& s : d.suggestions) {
      list.push_back({{"label", s.label}, {"suggestion", s.suggestion}});
    }
    out["suggestions"] = std::move(list);
  }
  if (!d.other_rules.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const RuleNote& n : d.other_rules) list.push_back({{"rule", n.rule}, {"why", n.why}});
    out["other_rules"] = std::move(list);
  }
  if (d.explain_only) out["explain_only"] = true;
  return out;
}

std::string RenderExplainText(const Decision& d) {
  std::string out = fmt::format("decision: {}\n", DecisionKindName(d.kind));
  if (!d.rule.empty()) out += fmt::format("rule: {}\n", d.rule);
  if (!d.hold_label.empty()) out += fmt::format("held by: {}\n", d.hold_label);
  out += "reasons:\n";
  for (const std::string& r : d.reasons) out += fmt::format("  - {}\n", r);
  if (!d.suggestions.empty()) {
    out += "suggestions:\n";
    for (const Suggestion& s : d.suggestions) {
      out += fmt::format("  - {} -> {}\n", s.label, s.suggestion);
    }
  }
  if (d.job) {
    const JobSpec& j = *d.job;
    out += "job:\n";
    out += fmt::format("  image: {}\n", j.image);
    std::string argv;
    for (const std::string& a : j.command) argv += (argv.empty() ? "" : " ") + ShellWord(a);
    out += fmt::format("  command: {}\n", argv);
    for (const auto& [k, v] : j.env) out += fmt::format("  env: {} (value not shown)\n", k);
    out += fmt::format("  gpus: {}\n", j.gpus);
    if (j.cpus > 0) out += fmt::format("  cpus: {}\n", j.cpus);
    if (j.memory_bytes > 0) out += fmt::format("  memory: {}\n", FormatBytes(j.memory_bytes));
    if (j.shm_bytes > 0) out += fmt::format("  shm_size: {}\n", FormatBytes(j.shm_bytes));
    out += fmt::format("  timeout: {}\n", FormatDuration(j.timeout));
    for (const auto& [k, v] : j.host_selector) out += fmt::format("  host: {}={}\n", k, v);
    if (!j.outputs.empty()) out += fmt::format("  outputs: {}\n", j.outputs);
    out += fmt::format("  metric: {}\n", fmt::join(j.metrics, ", "));
    out += fmt::format("  priority: {}\n", JobPriorityName(j.priority));
    if (j.max_concurrent > 0) out += fmt::format("  max_concurrent: {}\n", j.max_concurrent);
  }
  if (!d.other_rules.empty()) {
    out += "other rules:\n";
    for (const RuleNote& n : d.other_rules) out += fmt::format("  - {}: {}\n", n.rule, n.why);
  }
  return out;
}

std::string RenderExplainComment(const Decision& decision) {
  const std::string text = RenderExplainText(decision);
  size_t longest = 0;
  size_t run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(std::max<size_t>(3, longest + 1), '`');
  std::string out = "**labelrun**\n\n" + fence + "text\n" + text;
  if (!text.empty() && text.back() != '\n') out += '\n';
  return out + fence + "\n";
}

}  // namespace labelrun::rules
