#pragma once
// Private to src/rules: typed, non-throwing reads from yaml-cpp nodes that record errors
// with key paths.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/rules/rule_set.hpp"

namespace labelrun::rules::internal {

class YamlReader {
 public:
  explicit YamlReader(std::vector<ConfigError>& errors) : errors_(errors) {}

  void Error(const std::string& path, std::string message) {
    errors_.push_back({path, std::move(message)});
  }

  static std::string Key(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  static std::string Index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  // True when `node` is a map; otherwise records "<path>: must be a map" and returns false.
  bool ExpectMap(const YAML::Node& node, const std::string& path);
  // Records an error for every key of `map` not in `known`, with a suggestion when close.
  void CheckKeys(const YAML::Node& map, const std::string& path,
                 std::initializer_list<std::string_view> known);

  std::optional<std::string> String(const YAML::Node& node, const std::string& path);
  std::optional<int64_t> Int(const YAML::Node& node, const std::string& path, int64_t min,
                             int64_t max);
  std::optional<double> Double(const YAML::Node& node, const std::string& path, double min,
                               double max);
  // A list of scalars; a single scalar is an error that says a list is expected.
  std::optional<std::vector<std::string>> StringList(const YAML::Node& node,
                                                     const std::string& path);
  // A map of scalar keys to scalar values, in file order.
  std::optional<std::vector<std::pair<std::string, std::string>>> StringMap(
      const YAML::Node& node, const std::string& path);

 private:
  std::vector<ConfigError>& errors_;
};

}  // namespace labelrun::rules::internal
