// Evaluating 1,000 rules against an issue with 50 labels (target: well under 100 us).
// BM_Evaluate is labelrun's path (patterns interned once, one hit table per evaluation);
// BM_NaiveBaseline matches every rule's patterns against every label, as a baseline
// measured in the same run.
//
//   cmake --preset release && ninja -C build/release rules_bench && ./build/release/rules_bench
#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include "labelrun/rules/decision.hpp"
#include "labelrun/rules/loader.hpp"

namespace labelrun::rules {
namespace {

constexpr int kCategories = 20;
constexpr int kKeys = 10;
constexpr int kRules = 1000;
constexpr int kIssueLabels = 50;

std::string Label(int category, int key) {
  return "cat" + std::to_string(category) + ":key" + std::to_string(key);
}

struct Fixture {
  RuleSet set;
  Event event;

  Fixture() {
    std::vector<labels::LabelInfo> list;
    for (int c = 0; c < kCategories; ++c) {
      for (int k = 0; k < kKeys; ++k) {
        labels::LabelInfo info;
        info.name = Label(c, k);
        info.meaning = "m";
        info.colour = "000000";
        list.push_back(std::move(info));
      }
    }
    auto dictionary = std::make_shared<const labels::Dictionary>(std::move(list));
    std::mt19937 rng(42);
    auto pick = [&] { return Label(rng() % kCategories, rng() % kKeys); };
    // The issue carries only even keys, so a rule needing an odd key never holds.
    auto pick_absent = [&] { return Label(rng() % kCategories, 1 + 2 * (rng() % (kKeys / 2))); };
    std::string yaml = "rules:\n";
    for (int i = 0; i < kRules - 1; ++i) {
      // Distinct priorities keep the overlap check out of the way; every fourth rule uses a
      // glob, every third a `none` pattern, so all pattern kinds are exercised.
      std::string a = pick_absent(), b = pick(), c = pick(), n = pick();
      while (n == a || n == b || n == c) n = pick();
      yaml += "  - name: r" + std::to_string(i) + "\n    priority: " + std::to_string(i) +
              "\n    when:\n      all: [" + a + ", " + b + ", " + c + "]\n";
      if (i % 4 == 0) yaml += "      any: [\"cat" + std::to_string(rng() % kCategories) + ":*\"]\n";
      if (i % 3 == 0) yaml += "      none: [" + n + "]\n";
      yaml += "    job: {image: \"pytorch/pytorch:2.8.0\", command: [python, train.py]}\n";
    }
    // The last rule in evaluation order is the one that holds: the worst case, every rule
    // is checked before the decision is a dispatch.
    yaml += "  - name: last\n    priority: -1\n    when:\n      all: [" + Label(0, 0) + ", " +
            Label(1, 0) + "]\n    job: {image: \"pytorch/pytorch:2.8.0\", command: [python]}\n";
    LoadedRules loaded = LoadRuleSet(YAML::Load(yaml), dictionary);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.errors[0].ToString().c_str());
      std::abort();
    }
    set = std::move(loaded.rule_set);
    std::vector<std::string> labels;
    for (int c = 0; c < kCategories && labels.size() < kIssueLabels; ++c) {
      for (int k = 0; k < kKeys && labels.size() < kIssueLabels; k += 2)
        labels.push_back(Label(c, k));
    }
    std::shuffle(labels.begin(), labels.end(), rng);
    event.kind = EventKind::kLabeled;
    event.changed_label = Label(1, 0);
    event.labels = labels;
    event.permission = Permission::kWrite;
    event.sender = "bench";
  }
};

const Fixture& GetFixture() {
  static const Fixture fixture;
  return fixture;
}

void BM_Evaluate(benchmark::State& state) {
  const Fixture& f = GetFixture();
  for (auto _ : state) {
    Decision d = Evaluate(f.set, f.event);
    if (d.kind != DecisionKind::kDispatch || d.rule != "last")
      state.SkipWithError("wrong decision");
    benchmark::DoNotOptimize(d);
  }
  state.SetLabel(std::to_string(f.set.rules().size()) + " rules, " +
                 std::to_string(f.event.labels.size()) + " labels, " +
                 std::to_string(f.set.pattern_count()) + " distinct patterns");
}
BENCHMARK(BM_Evaluate)->Unit(benchmark::kMicrosecond);

// Baseline: for each rule, match each pattern against each label.
void BM_NaiveBaseline(benchmark::State& state) {
  const Fixture& f = GetFixture();
  auto any = [&](const Pattern& p) {
    return std::any_of(f.event.labels.begin(), f.event.labels.end(),
                       [&](const std::string& l) { return p.Matches(l); });
  };
  for (auto _ : state) {
    size_t first = f.set.rules().size();
    for (size_t i = 0; i < f.set.rules().size(); ++i) {
      const When& w = f.set.rules()[i].when;
      bool holds = std::all_of(w.all.begin(), w.all.end(), any) &&
                   std::none_of(w.none.begin(), w.none.end(), any) &&
                   (w.any.empty() || std::any_of(w.any.begin(), w.any.end(), any));
      if (holds) {
        first = i;
        break;
      }
    }
    benchmark::DoNotOptimize(first);
  }
}
BENCHMARK(BM_NaiveBaseline)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace labelrun::rules

BENCHMARK_MAIN();
