#pragma once
// A validated, compiled set of rules, ready to evaluate quickly.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "labelrun/labels/dictionary.hpp"
#include "labelrun/rules/rule.hpp"

namespace labelrun::rules {

inline constexpr std::string_view kDefaultHoldLabel = "status:blocked";

// Immutable after Build; thread-safe for concurrent reads. Cheap to move.
class RuleSet {
 public:
  RuleSet() = default;

  // Orders `rules` by priority (higher first) then position, and compiles their patterns
  // into one index. Does not validate (LoadRuleSet does). `dictionary` may be null: then no
  // label is unknown and no suggestions are made.
  static RuleSet Build(std::vector<Rule> rules, std::vector<std::string> hold_labels,
                       std::shared_ptr<const labels::Dictionary> dictionary);

  // In evaluation order.
  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<std::string>& hold_labels() const { return hold_labels_; }
  // May be null.
  const labels::Dictionary* dictionary() const { return dictionary_.get(); }
  // The rule with this name, or nullptr.
  const Rule* Find(std::string_view name) const;

  // --- Evaluation primitives (used by Evaluate; public for tests and benchmarks) ---

  // Fills `hits` (resized to pattern_count()) with 1 for every distinct pattern that some
  // label matches. Allocates only when `hits` must grow.
  void MatchPatterns(std::span<const std::string> labels, std::vector<uint8_t>& hits) const;
  // Sets the hits of the patterns `label` matches, leaving the others as they are.
  void AddHits(std::string_view label, std::vector<uint8_t>& hits) const;
  // Whether rule `index`'s `when` holds given `hits`. No allocation.
  bool Holds(size_t index, const std::vector<uint8_t>& hits) const;
  // Whether `label` matches one of rule `index`'s `all` or `any` patterns, i.e. adding or
  // removing it can complete or break the rule.
  bool IsTrigger(size_t index, std::string_view label) const;
  size_t pattern_count() const { return patterns_.size(); }

 private:
  struct Compiled {
    uint32_t all_begin, all_end, any_begin, any_end, none_begin, none_end;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::vector<Rule> rules_;
  std::vector<std::string> hold_labels_;
  std::shared_ptr<const labels::Dictionary> dictionary_;
  std::vector<Pattern> patterns_;      // distinct patterns
  std::vector<uint32_t> pattern_ids_;  // the pool Compiled ranges point into
  std::vector<Compiled> compiled_;     // parallel to rules_
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> exact_;  // name -> id
  std::vector<uint32_t> globs_;  // ids of non-exact patterns
};

// A problem in the config, with the key path it is about:
// "rules[2].job.image: image 'pytorch' has no tag; pin a tag or digest".
struct ConfigError {
  std::string path;
  std::string message;
  std::string ToString() const { return path.empty() ? message : path + ": " + message; }
};

// Pairs of rules with the same priority that can both hold for one label set. The label
// universe is the dictionary's labels (or, without one, the exact names the rules use); the
// check is exact over that universe and costs O(rules^2 * patterns * universe / 64) at
// worst, per priority group. Each error names the later rule and an example label set.
std::vector<ConfigError> FindOverlaps(const RuleSet& rule_set);

}  // namespace labelrun::rules
