#include "yaml_reader.hpp"

#include <charconv>
#include <cmath>

#include "labelrun/core/strings.hpp"

namespace labelrun::rules::internal {
namespace {

constexpr size_t kMaxListItems = 1000;
constexpr size_t kMaxScalarBytes = 4096;

}  // namespace

bool YamlReader::ExpectMap(const YAML::Node& node, const std::string& path) {
  // A missing key gives a "zombie" node on which everything but IsDefined throws.
  if (!node.IsDefined()) {
    Error(path, "is missing");
    return false;
  }
  if (node.IsMap()) return true;
  Error(path, "must be a map of keys to values");
  return false;
}

void YamlReader::CheckKeys(const YAML::Node& map, const std::string& path,
                           std::initializer_list<std::string_view> known) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      Error(path, "has a key that is not a plain string");
      continue;
    }
    const std::string& key = it->first.Scalar();
    bool found = false;
    std::string_view closest;
    size_t closest_distance = 3;
    for (std::string_view k : known) {
      if (k == key) found = true;
      if (key.size() > 64) continue;
      size_t d = EditDistance(key, k);
      if (d < closest_distance) {
        closest_distance = d;
        closest = k;
      }
    }
    if (found) continue;
    std::string message = "unknown key";
    if (!closest.empty()) message += "; did you mean '" + std::string(closest) + "'?";
    Error(Key(path, key.substr(0, 64)), message);
  }
}

std::optional<std::string> YamlReader::String(const YAML::Node& node, const std::string& path) {
  if (!node.IsDefined() || node.IsNull()) {
    Error(path, "is missing");
    return std::nullopt;
  }
  if (!node.IsScalar()) {
    Error(path, "must be a string");
    return std::nullopt;
  }
  if (node.Scalar().size() > kMaxScalarBytes) {
    Error(path, "is longer than " + std::to_string(kMaxScalarBytes) + " characters");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<int64_t> YamlReader::Int(const YAML::Node& node, const std::string& path, int64_t min,
                                       int64_t max) {
  auto text = String(node, path);
  if (!text) return std::nullopt;
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) {
    Error(path, "'" + *text + "' is not a whole number");
    return std::nullopt;
  }
  if (value < min || value > max) {
    Error(path, std::to_string(value) + " is outside " + std::to_string(min) + ".." +
                    std::to_string(max));
    return std::nullopt;
  }
  return value;
}

std::optional<double> YamlReader::Double(const YAML::Node& node, const std::string& path,
                                         double min, double max) {
  auto text = String(node, path);
  if (!text) return std::nullopt;
  double value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    Error(path, "'" + *text + "' is not a number");
    return std::nullopt;
  }
  if (value < min || value > max) {
    Error(path, "'" + *text + "' is outside " + std::to_string(min) + ".." + std::to_string(max));
    return std::nullopt;
  }
  return value;
}

std::optional<std::vector<std::string>> YamlReader::StringList(const YAML::Node& node,
                                                               const std::string& path) {
  if (!node.IsDefined()) {
    Error(path, "is missing");
    return std::nullopt;
  }
  if (!node.IsSequence()) {
    Error(path, node.IsScalar() ? "must be a list, like [a, b]" : "must be a list");
    return std::nullopt;
  }
  if (node.size() > kMaxListItems) {
    Error(path, "has more than " + std::to_string(kMaxListItems) + " items");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    auto value = String(*it, Index(path, i));
    if (value) {
      out.push_back(std::move(*value));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> YamlReader::StringMap(
    const YAML::Node& node, const std::string& path) {
  if (!ExpectMap(node, path)) return std::nullopt;
  if (node.size() > kMaxListItems) {
    Error(path, "has more than " + std::to_string(kMaxListItems) + " entries");
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> out;
  bool ok = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      Error(path, "has a key that is not a plain string");
      ok = false;
      continue;
    }
    std::string key = it->first.Scalar().substr(0, 256);
    auto value = String(it->second, Key(path, key));
    if (value) {
      out.emplace_back(std::move(key), std::move(*value));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace labelrun::rules::internal
