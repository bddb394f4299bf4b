#pragma once
// Private to src/rules: reading a rule's `job` map.

#include <optional>
#include <string>

#include "labelrun/labels/dictionary.hpp"
#include "labelrun/rules/rule.hpp"
#include "yaml_reader.hpp"

namespace labelrun::rules::internal {

// Reads the `job` map at `path` into a JobTemplate; nullopt when any error was recorded.
// `dictionary` may be null.
std::optional<JobTemplate> ReadJob(YamlReader& reader, const YAML::Node& node,
                                   const std::string& path, const labels::Dictionary* dictionary);

}  // namespace labelrun::rules::internal
