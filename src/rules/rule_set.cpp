#include "labelrun/rules/rule_set.hpp"

#include <algorithm>
#include <set>

namespace labelrun::rules {

RuleSet RuleSet::Build(std::vector<Rule> rules, std::vector<std::string> hold_labels,
                       std::shared_ptr<const labels::Dictionary> dictionary) {
  RuleSet set;
  std::stable_sort(rules.begin(), rules.end(), [](const Rule& a, const Rule& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.position < b.position;
  });
  set.rules_ = std::move(rules);
  set.hold_labels_ = std::move(hold_labels);
  set.dictionary_ = std::move(dictionary);

  std::unordered_map<std::string, uint32_t> ids;
  auto intern = [&](const Pattern& p) {
    auto [it, inserted] = ids.emplace(p.text(), static_cast<uint32_t>(set.patterns_.size()));
    if (inserted) {
      set.patterns_.push_back(p);
      if (p.is_exact()) {
        set.exact_.emplace(p.text(), it->second);
      } else {
        set.globs_.push_back(it->second);
      }
    }
    set.pattern_ids_.push_back(it->second);
  };
  auto pos = [&] { return static_cast<uint32_t>(set.pattern_ids_.size()); };
  for (const Rule& rule : set.rules_) {
    Compiled c{};
    c.all_begin = pos();
    for (const Pattern& p : rule.when.all) intern(p);
    c.all_end = c.any_begin = pos();
    for (const Pattern& p : rule.when.any) intern(p);
    c.any_end = c.none_begin = pos();
    for (const Pattern& p : rule.when.none) intern(p);
    c.none_end = pos();
    set.compiled_.push_back(c);
  }
  return set;
}

const Rule* RuleSet::Find(std::string_view name) const {
  for (const Rule& rule : rules_) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

void RuleSet::MatchPatterns(std::span<const std::string> labels, std::vector<uint8_t>& hits) const {
  hits.assign(patterns_.size(), 0);
  for (const std::string& label : labels) AddHits(label, hits);
}

void RuleSet::AddHits(std::string_view label, std::vector<uint8_t>& hits) const {
  if (auto it = exact_.find(label); it != exact_.end()) hits[it->second] = 1;
  for (uint32_t id : globs_) {
    if (!hits[id] && patterns_[id].Matches(label)) hits[id] = 1;
  }
}

bool RuleSet::Holds(size_t index, const std::vector<uint8_t>& hits) const {
  const Compiled& c = compiled_[index];
  const uint32_t* ids = pattern_ids_.data();
  for (uint32_t i = c.all_begin; i < c.all_end; ++i) {
    if (!hits[ids[i]]) return false;
  }
  for (uint32_t i = c.none_begin; i < c.none_end; ++i) {
    if (hits[ids[i]]) return false;
  }
  if (c.any_begin == c.any_end) return true;
  for (uint32_t i = c.any_begin; i < c.any_end; ++i) {
    if (hits[ids[i]]) return true;
  }
  return false;
}

bool RuleSet::IsTrigger(size_t index, std::string_view label) const {
  const Compiled& c = compiled_[index];
  for (uint32_t i = c.all_begin; i < c.any_end; ++i) {
    if (patterns_[pattern_ids_[i]].Matches(label)) return true;
  }
  return false;
}

namespace {

// Bitsets over the label universe.
using Bits = std::vector<uint64_t>;

Bits MatchBits(const Pattern& p, const std::vector<std::string>& universe) {
  Bits bits((universe.size() + 63) / 64, 0);
  for (size_t i = 0; i < universe.size(); ++i) {
    if (p.Matches(universe[i])) bits[i / 64] |= uint64_t{1} << (i % 64);
  }
  return bits;
}

bool Intersects(const Bits& a, const Bits& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] & b[i]) return true;
  }
  return false;
}

struct RuleBits {
  std::vector<Bits> all;
  Bits any;  // union of the `any` patterns' matches
  bool has_any = false;
  Bits forbidden;  // union of the `none` patterns' matches
};

std::string FirstLabel(const Bits& bits, const Bits& allowed,
                       const std::vector<std::string>& universe) {
  for (size_t i = 0; i < universe.size(); ++i) {
    uint64_t bit = uint64_t{1} << (i % 64);
    if ((bits[i / 64] & bit) && (allowed[i / 64] & bit)) return universe[i];
  }
  return {};
}

}  // namespace

std::vector<ConfigError> FindOverlaps(const RuleSet& rule_set) {
  std::vector<std::string> universe;
  if (rule_set.dictionary() != nullptr) {
    for (const auto& label : rule_set.dictionary()->labels()) universe.push_back(label.name);
  } else {
    std::set<std::string> names;
    for (const Rule& rule : rule_set.rules()) {
      for (const auto* list : {&rule.when.all, &rule.when.any, &rule.when.none}) {
        for (const Pattern& p : *list) {
          if (p.is_exact()) names.insert(p.text());
        }
      }
    }
    universe.assign(names.begin(), names.end());
  }
  const size_t words = (universe.size() + 63) / 64;
  std::vector<RuleBits> bits;
  for (const Rule& rule : rule_set.rules()) {
    RuleBits rb;
    rb.any.assign(words, 0);
    rb.forbidden.assign(words, 0);
    for (const Pattern& p : rule.when.all) rb.all.push_back(MatchBits(p, universe));
    for (const Pattern& p : rule.when.any) {
      Bits m = MatchBits(p, universe);
      for (size_t w = 0; w < words; ++w) rb.any[w] |= m[w];
      rb.has_any = true;
    }
    for (const Pattern& p : rule.when.none) {
      Bits m = MatchBits(p, universe);
      for (size_t w = 0; w < words; ++w) rb.forbidden[w] |= m[w];
    }
    bits.push_back(std::move(rb));
  }

  // Both rules hold for some label set iff they hold for the largest set that avoids every
  // `none` pattern of either: `all` and `any` only get easier as labels are added.
  std::vector<ConfigError> errors;
  const auto& rules = rule_set.rules();
  Bits allowed(words);
  for (size_t b = 0; b < rules.size(); ++b) {
    // Rules are sorted by priority, so b's group is the run of equal priorities before it.
    for (size_t a = b; a-- > 0 && rules[a].priority == rules[b].priority;) {
      for (size_t w = 0; w < words; ++w)
        allowed[w] = ~(bits[a].forbidden[w] | bits[b].forbidden[w]);
      bool both = true;
      std::vector<std::string> example;
      for (const RuleBits* rb : {&bits[a], &bits[b]}) {
        for (const Bits& m : rb->all) {
          if (!Intersects(m, allowed)) both = false;
          if (both) example.push_back(FirstLabel(m, allowed, universe));
        }
        if (rb->has_any && !Intersects(rb->any, allowed)) both = false;
        if (both && rb->has_any) example.push_back(FirstLabel(rb->any, allowed, universe));
        if (!both) break;
      }
      if (!both) continue;
      std::sort(example.begin(), example.end());
      example.erase(std::unique(example.begin(), example.end()), example.end());
      std::string list;
      for (const std::string& l : example) list += (list.empty() ? "" : ", ") + l;
      errors.push_back({"rules[" + std::to_string(rules[b].position) + "]",
                        "rule '" + rules[b].name + "' and rule '" + rules[a].name + "' (rules[" +
                            std::to_string(rules[a].position) + "]) both match [" + list +
                            "] at priority " + std::to_string(rules[b].priority) +
                            "; give one a higher priority or a 'none' pattern"});
    }
  }
  return errors;
}

}  // namespace labelrun::rules
