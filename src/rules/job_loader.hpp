#pragma once
// Private to src/rules: reading a rule's `job` map.

#include <optional>
#include <string>
#include <vector>

#include "labelrun/core/yaml_reader.hpp"
#include "labelrun/labels/dictionary.hpp"
#include "labelrun/rules/rule.hpp"

namespace labelrun::rules::internal {

using YamlReader = yaml::Reader;

// Reads the `job` map at `path` into a JobTemplate; nullopt when any error was recorded.
// `dictionary` may be null.
std::optional<JobTemplate> ReadJob(YamlReader& reader, const YAML::Node& node,
                                   const std::string& path, const labels::Dictionary* dictionary);

// A setting of a job that gives it the host: where it is (key path) and why.
struct UnsafeSetting {
  std::string path;
  std::string reason;
};
// The Docker socket or the host's root folder among the mounts (by their host
// side, also through a parent folder such as /run), any cap_add, network: host.
// `path` is the job map's key path.
std::vector<UnsafeSetting> FindUnsafeSettings(const JobTemplate& job, const std::string& path);

}  // namespace labelrun::rules::internal
