#pragma once
// Typed reads from yaml-cpp nodes that record problems with key paths instead of
// throwing. Private to config/.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/config/config.hpp"

namespace labelrun::config {

class YamlReader;
// hosts, scheduler, sources, api, report and dashboard (jobs_config.cpp).
void ParseJobSections(YamlReader& r, const YAML::Node& root, Config& cfg);

class YamlReader {
 public:
  explicit YamlReader(std::vector<Problem>& problems) : problems_(problems) {}

  void Error(const std::string& path, std::string message);
  void Warn(const std::string& path, std::string message);

  // Requires a mapping whose keys are all in `known`; an unknown key is reported
  // with the closest known one ("did you mean ...?"). False if not a mapping.
  bool CheckKeys(const YAML::Node& node, const std::string& path,
                 std::initializer_list<std::string_view> known);

  bool ReadString(const YAML::Node& node, const std::string& path, std::string& out);
  bool ReadBool(const YAML::Node& node, const std::string& path, bool& out);
  bool ReadUint(const YAML::Node& node, const std::string& path, uint32_t& out, uint32_t min,
                uint32_t max);
  // A byte size: a number or "25MiB".
  bool ReadSize(const YAML::Node& node, const std::string& path, uint64_t& out, uint64_t min,
                uint64_t max);
  // A duration: "30s", "10m"; a bare number is seconds. Must be positive.
  bool ReadDuration(const YAML::Node& node, const std::string& path,
                    std::chrono::milliseconds& out);

 private:
  std::vector<Problem>& problems_;
};

}  // namespace labelrun::config
