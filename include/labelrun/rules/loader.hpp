#pragma once
// Loading the `rules` and `hold_labels` config keys into a RuleSet, with every problem
// reported at its key path.

#include <memory>
#include <vector>

#include "labelrun/core/result.hpp"
#include "labelrun/labels/dictionary.hpp"
#include "labelrun/rules/rule_set.hpp"

namespace YAML {
class Node;
}

namespace labelrun::rules {

// Most rules a config may hold; more is an error (bounded load work).
inline constexpr size_t kMaxRules = 10000;

struct LoadedRules {
  RuleSet rule_set;                 // meaningful only when errors is empty
  std::vector<ConfigError> errors;  // every problem found, in config order
  bool ok() const { return errors.empty(); }
};

// Reads `config["rules"]` (a list; absent means no rules) and `config["hold_labels"]` (a
// list of label names; absent means [status:blocked]) from the config's root map. Collects
// all errors rather than stopping at the first: unknown keys, missing or mistyped values,
// patterns naming labels not in `dictionary` (with suggestions), unpinned images, invalid
// durations and sizes, duplicate rule names, and rules that overlap at one priority.
// `dictionary` may be null, which skips the label checks. Never throws.
LoadedRules LoadRuleSet(const YAML::Node& config,
                        std::shared_ptr<const labels::Dictionary> dictionary);

// LoadRuleSet, with the errors joined one per line into one kInvalidArgument error.
Result<RuleSet> LoadRuleSetOrError(const YAML::Node& config,
                                   std::shared_ptr<const labels::Dictionary> dictionary);

}  // namespace labelrun::rules
