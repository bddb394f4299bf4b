#include "labelrun/rules/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "job_loader.hpp"
#include "labelrun/labels/name.hpp"
#include "labelrun/labels/suggest.hpp"

namespace labelrun::rules {
namespace {

using internal::YamlReader;

bool IsRuleName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

class Loader {
 public:
  Loader(std::shared_ptr<const labels::Dictionary> dictionary)
      : dictionary_(std::move(dictionary)),
        r_(
            [this](const std::string& path, std::string message, bool) {
              errors_.push_back({path, std::move(message)});
            },
            yaml::SuggestionStyle::kQuotedKey) {}

  LoadedRules Run(const YAML::Node& config) {
    LoadedRules out;
    if (!config.IsDefined() || config.IsNull()) {
      out.rule_set = RuleSet::Build({}, {std::string(kDefaultHoldLabel)}, dictionary_);
      return out;
    }
    if (!r_.ExpectMap(config, "")) return Finish(out);
    std::vector<std::string> hold = ReadHoldLabels(config["hold_labels"]);
    std::vector<Rule> rules = ReadRules(config["rules"]);
    // Rules with errors were left out; the valid ones are still checked against each other
    // so that one run reports every problem.
    for (const Rule& rule : rules) CheckHeld(rule, hold);
    out.rule_set = RuleSet::Build(std::move(rules), std::move(hold), dictionary_);
    for (ConfigError& e : FindOverlaps(out.rule_set)) errors_.push_back(std::move(e));
    return Finish(out);
  }

 private:
  LoadedRules& Finish(LoadedRules& out) {
    out.errors = std::move(errors_);
    return out;
  }

  // Checks that an exact label name is in the dictionary; records an error if not.
  bool CheckKnown(const std::string& name, const std::string& path) {
    if (dictionary_ == nullptr || dictionary_->Contains(name)) return true;
    std::string message = "label '" + name + "' is not in LABELS.md";
    if (auto suggestion = labels::Suggest(*dictionary_, name)) {
      message += "; did you mean '" + *suggestion + "'?";
    }
    r_.Error(path, message);
    return false;
  }

  std::vector<std::string> ReadHoldLabels(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) return {std::string(kDefaultHoldLabel)};
    auto list = r_.StringList(node, "hold_labels");
    if (!list) return {};
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string path = YamlReader::Index("hold_labels", i);
      if (std::string problem = labels::NameProblem((*list)[i]); !problem.empty()) {
        r_.Error(path, "'" + (*list)[i] + "': " + problem);
      } else {
        CheckKnown((*list)[i], path);
      }
    }
    return *list;
  }

  std::vector<Rule> ReadRules(const YAML::Node& node) {
    std::vector<Rule> rules;
    if (!node.IsDefined() || node.IsNull()) return rules;
    if (!node.IsSequence()) {
      r_.Error("rules", "must be a list of rules");
      return rules;
    }
    if (node.size() > kMaxRules) {
      r_.Error("rules", "has more than " + std::to_string(kMaxRules) + " rules");
      return rules;
    }
    std::set<std::string> names;
    size_t i = 0;
    for (auto it = node.begin(); it != node.end(); ++it, ++i) {
      const std::string path = YamlReader::Index("rules", i);
      std::optional<Rule> rule = ReadRule(*it, path);
      if (!rule) continue;
      rule->position = i;
      if (!names.insert(rule->name).second) {
        r_.Error(YamlReader::Key(path, "name"), "rule '" + rule->name + "' is defined twice");
        continue;
      }
      rules.push_back(std::move(*rule));
    }
    return rules;
  }

  std::optional<Rule> ReadRule(const YAML::Node& node, const std::string& path) {
    if (!r_.ExpectMap(node, path)) return std::nullopt;
    r_.CheckKeys(node, path,
                 {"name", "when", "job", "priority", "min_permission", "allowed_users",
                  "max_concurrent", "unsafe", "allow_forks", "on_new_commits"});
    const size_t errors_before = errors_.size();
    Rule rule;
    auto key = [&](std::string_view k) { return YamlReader::Key(path, k); };
    if (auto name = r_.String(node["name"], key("name"))) {
      if (!IsRuleName(*name)) {
        r_.Error(key("name"), "'" + *name + "' must be 1-64 of a-z, 0-9, '-', '_', '.'");
      }
      rule.name = std::move(*name);
    }
    ReadWhen(node["when"], key("when"), rule.when);
    if (node["unsafe"]) {
      auto unsafe = r_.String(node["unsafe"], key("unsafe"));
      if (unsafe && *unsafe != "true" && *unsafe != "false") {
        r_.Error(key("unsafe"), "must be true or false");
      }
      rule.unsafe = unsafe.value_or("") == "true";
    }
    if (auto job = internal::ReadJob(r_, node["job"], key("job"), dictionary_.get())) {
      rule.job = std::move(*job);
      if (!rule.unsafe) {
        for (const internal::UnsafeSetting& s :
             internal::FindUnsafeSettings(rule.job, key("job"))) {
          r_.Error(s.path, "rule '" + rule.name + "' " + s.reason +
                               "; refused unless the rule says unsafe: true");
        }
      }
    }
    if (node["priority"]) {
      rule.priority = static_cast<int>(
          r_.Int(node["priority"], key("priority"), -1000000, 1000000).value_or(0));
    }
    if (node["min_permission"]) {
      if (auto text = r_.String(node["min_permission"], key("min_permission"))) {
        if (auto permission = ParsePermission(*text)) {
          rule.min_permission = *permission;
        } else {
          r_.Error(key("min_permission"),
                   "'" + *text + "' is not one of read, triage, write, maintain, admin");
        }
      }
    }
    if (node["allowed_users"]) {
      rule.allowed_users = r_.StringList(node["allowed_users"], key("allowed_users"))
                               .value_or(std::vector<std::string>{});
    }
    if (node["max_concurrent"]) {
      rule.max_concurrent = static_cast<int>(
          r_.Int(node["max_concurrent"], key("max_concurrent"), 0, 10000).value_or(0));
    }
    if (node["allow_forks"]) {
      auto allow = r_.String(node["allow_forks"], key("allow_forks"));
      if (allow && *allow != "true" && *allow != "false") {
        r_.Error(key("allow_forks"), "must be true or false");
      }
      rule.allow_forks = allow.value_or("") == "true";
    }
    if (node["on_new_commits"]) {
      if (auto text = r_.String(node["on_new_commits"], key("on_new_commits"))) {
        if (*text == "cancel") {
          rule.on_new_commits = OnNewCommits::kCancel;
        } else if (*text == "keep") {
          rule.on_new_commits = OnNewCommits::kKeep;
        } else {
          r_.Error(key("on_new_commits"), "'" + *text + "' is not one of cancel, keep");
        }
      }
    }
    if (errors_.size() != errors_before) return std::nullopt;
    return rule;
  }

  void ReadWhen(const YAML::Node& node, const std::string& path, When& when) {
    if (!r_.ExpectMap(node, path)) return;
    r_.CheckKeys(node, path, {"all", "any", "none"});
    const size_t errors_before = errors_.size();
    ReadPatterns(node["all"], YamlReader::Key(path, "all"), when.all);
    ReadPatterns(node["any"], YamlReader::Key(path, "any"), when.any);
    ReadPatterns(node["none"], YamlReader::Key(path, "none"), when.none);
    // A pattern dropped for an error above would make this a confusing second error.
    if (when.all.empty() && when.any.empty() && errors_.size() == errors_before) {
      r_.Error(path, "needs at least one label in 'all' or 'any'");
    }
    for (const Pattern& forbidden : when.none) {
      for (const Pattern& needed : when.all) {
        if (forbidden.is_exact() && needed.is_exact() && forbidden.text() == needed.text()) {
          r_.Error(path,
                   "'" + needed.text() + "' is in both 'all' and 'none'; the rule can never hold");
        }
      }
    }
  }

  void ReadPatterns(const YAML::Node& node, const std::string& path, std::vector<Pattern>& out) {
    if (!node.IsDefined() || node.IsNull()) return;
    auto list = r_.StringList(node, path);
    if (!list) return;
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string at = YamlReader::Index(path, i);
      auto pattern = Pattern::Compile((*list)[i]);
      if (!pattern) {
        r_.Error(at, pattern.error().message());
        continue;
      }
      if (pattern->is_exact()) {
        if (std::string problem = labels::NameProblem(pattern->text()); !problem.empty()) {
          r_.Error(at, "'" + pattern->text() + "': " + problem);
          continue;
        }
        if (!CheckKnown(pattern->text(), at)) continue;
      } else if (dictionary_ != nullptr &&
                 std::none_of(
                     dictionary_->labels().begin(), dictionary_->labels().end(),
                     [&](const labels::LabelInfo& l) { return pattern->Matches(l.name); })) {
        r_.Error(at, "pattern '" + pattern->text() + "' matches no label in LABELS.md");
        continue;
      }
      out.push_back(std::move(*pattern));
    }
  }

  // A rule that needs a hold label can never fire.
  void CheckHeld(const Rule& rule, const std::vector<std::string>& hold) {
    for (const Pattern& p : rule.when.all) {
      if (p.is_exact() && std::find(hold.begin(), hold.end(), p.text()) != hold.end()) {
        r_.Error(
            "rules[" + std::to_string(rule.position) + "].when.all",
            "'" + p.text() + "' is a hold label, so rule '" + rule.name + "' could never fire");
      }
    }
  }

  std::shared_ptr<const labels::Dictionary> dictionary_;
  std::vector<ConfigError> errors_;
  YamlReader r_;
};

}  // namespace

LoadedRules LoadRuleSet(const YAML::Node& config,
                        std::shared_ptr<const labels::Dictionary> dictionary) {
  try {
    return Loader(std::move(dictionary)).Run(config);
  } catch (const YAML::Exception& e) {
    // Backstop: the reads above check types first, so this means a yaml-cpp surprise.
    LoadedRules out;
    out.errors.push_back({"rules", std::string("could not be read: ") + e.what()});
    return out;
  }
}

Result<RuleSet> LoadRuleSetOrError(const YAML::Node& config,
                                   std::shared_ptr<const labels::Dictionary> dictionary) {
  LoadedRules loaded = LoadRuleSet(config, std::move(dictionary));
  if (loaded.ok()) return std::move(loaded.rule_set);
  std::string message;
  for (const ConfigError& e : loaded.errors) {
    message += (message.empty() ? "" : "\n") + e.ToString();
  }
  return Unexpected(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace labelrun::rules
