// libFuzzer target: YAML text through yaml-cpp, then the rule loader, then evaluation.
// Loading must never crash or throw, whatever the YAML holds.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "labelrun/core/json_text.hpp"
#include "labelrun/rules/decision.hpp"
#include "labelrun/rules/explain.hpp"
#include "labelrun/rules/loader.hpp"

using namespace labelrun;

namespace {

std::shared_ptr<const labels::Dictionary> Dictionary() {
  static const auto dictionary = [] {
    std::vector<labels::LabelInfo> list;
    for (const char* name : {"task:training", "task:inference", "gpu:required", "env:cpu",
                             "module:vit", "module:resnet", "priority:high", "status:blocked"}) {
      labels::LabelInfo info;
      info.name = name;
      info.meaning = "m";
      info.colour = "000000";
      list.push_back(std::move(info));
    }
    return std::make_shared<const labels::Dictionary>(std::move(list));
  }();
  return dictionary;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return 0;  // not YAML: the config loader reports that before rules are read
  }
  for (auto dictionary : {Dictionary(), std::shared_ptr<const labels::Dictionary>()}) {
    rules::LoadedRules loaded = rules::LoadRuleSet(node, dictionary);
    if (!loaded.ok()) continue;
    for (const labels::LabelInfo& label : Dictionary()->labels()) {
      rules::Event event;
      event.kind = rules::EventKind::kLabeled;
      event.changed_label = label.name;
      event.labels = {"task:training", "gpu:required", "module:vit", label.name};
      event.permission = rules::Permission::kWrite;
      event.sender = "fuzz";
      rules::Decision d = rules::Evaluate(loaded.rule_set, event, {.explain_other_rules = true});
      if (d.reasons.empty()) std::abort();
      (void)rules::RenderExplainText(d);
      (void)rules::RenderExplainComment(d);
      (void)JsonText(rules::DecisionToJson(d));
      event.kind = rules::EventKind::kUnlabeled;
      (void)rules::Evaluate(loaded.rule_set, event);
    }
  }
  return 0;
}
