#pragma once
// Helpers shared by the rules tests.

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "labelrun/labels/dictionary.hpp"
#include "labelrun/rules/decision.hpp"
#include "labelrun/rules/loader.hpp"

namespace labelrun::rules::testing {

inline labels::LabelInfo MakeLabel(std::string name) {
  labels::LabelInfo info;
  info.name = std::move(name);
  info.meaning = "m";
  info.colour = "000000";
  return info;
}

// The labels of the repository's LABELS.md, plus a few extra categories.
inline std::shared_ptr<const labels::Dictionary> TestDictionary() {
  std::vector<labels::LabelInfo> list;
  for (const char* name :
       {"task:training", "task:inference", "task:benchmarking", "gpu:required", "env:gpu",
        "env:cpu", "framework:pytorch", "cuda:enabled", "priority:high", "priority:low",
        "module:vit", "module:resnet", "status:queued", "status:in-progress", "status:done",
        "status:failed", "status:blocked", "status:on-hold"}) {
    list.push_back(MakeLabel(name));
  }
  return std::make_shared<const labels::Dictionary>(std::move(list));
}

// Loads YAML text; the caller checks errors.
inline LoadedRules LoadYaml(
    const std::string& yaml,
    std::shared_ptr<const labels::Dictionary> dictionary = TestDictionary()) {
  return LoadRuleSet(YAML::Load(yaml), std::move(dictionary));
}

inline std::string ErrorsText(const LoadedRules& loaded) {
  std::string out;
  for (const ConfigError& e : loaded.errors) out += e.ToString() + "\n";
  return out;
}

inline std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(LABELRUN_SOURCE_DIR) + "/" + relative);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline Event Labeled(std::string changed, std::vector<std::string> labels,
                     Permission permission = Permission::kWrite) {
  Event e;
  e.kind = EventKind::kLabeled;
  e.changed_label = std::move(changed);
  e.labels = std::move(labels);
  e.permission = permission;
  e.sender = "octocat";
  return e;
}

inline Event Unlabeled(std::string changed, std::vector<std::string> labels,
                       Permission permission = Permission::kWrite) {
  Event e = Labeled(std::move(changed), std::move(labels), permission);
  e.kind = EventKind::kUnlabeled;
  return e;
}

}  // namespace labelrun::rules::testing
