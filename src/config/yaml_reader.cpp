#include "config/yaml_reader.hpp"

#include "labelrun/core/strings.hpp"
#include "labelrun/core/units.hpp"

namespace labelrun::config {
namespace {

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

}  // namespace

void YamlReader::Error(const std::string& path, std::string message) {
  problems_.push_back({path, std::move(message), false});
}

void YamlReader::Warn(const std::string& path, std::string message) {
  problems_.push_back({path, std::move(message), true});
}

bool YamlReader::CheckKeys(const YAML::Node& node, const std::string& path,
                           std::initializer_list<std::string_view> known) {
  if (!node.IsMap()) {
    Error(path, "expected a mapping of keys");
    return false;
  }
  for (const auto& kv : node) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    bool found = false;
    std::string_view best;
    size_t best_distance = 3;  // suggest only close matches
    for (std::string_view k : known) {
      if (k == key) {
        found = true;
        break;
      }
      size_t d = EditDistance(key, k);
      if (d < best_distance) {
        best_distance = d;
        best = k;
      }
    }
    if (found) continue;
    std::string msg = "unknown key";
    if (!best.empty()) msg += " (did you mean " + Join(path, std::string(best)) + "?)";
    Error(Join(path, key), std::move(msg));
  }
  return true;
}

bool YamlReader::ReadString(const YAML::Node& node, const std::string& path, std::string& out) {
  if (!node.IsScalar()) {
    Error(path, "expected a string");
    return false;
  }
  out = node.Scalar();
  return true;
}

bool YamlReader::ReadBool(const YAML::Node& node, const std::string& path, bool& out) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "yes" || s == "on") {
      out = true;
      return true;
    }
    if (s == "false" || s == "no" || s == "off") {
      out = false;
      return true;
    }
  }
  Error(path, "expected true or false");
  return false;
}

bool YamlReader::ReadUint(const YAML::Node& node, const std::string& path, uint32_t& out,
                          uint32_t min, uint32_t max) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (!s.empty() && s.size() <= 10 && s.find_first_not_of("0123456789") == std::string::npos) {
      uint64_t v = std::stoull(s);
      if (v < min || v > max) {
        Error(path, std::to_string(v) + " out of range (" + std::to_string(min) + "-" +
                        std::to_string(max) + ")");
        return false;
      }
      out = static_cast<uint32_t>(v);
      return true;
    }
  }
  Error(path, "expected a whole number");
  return false;
}

bool YamlReader::ReadSize(const YAML::Node& node, const std::string& path, uint64_t& out,
                          uint64_t min, uint64_t max) {
  if (!node.IsScalar()) {
    Error(path, "expected a size such as 25MiB");
    return false;
  }
  Result<uint64_t> v = ParseSize(node.Scalar());
  if (!v) {
    Error(path, v.error().message());
    return false;
  }
  if (*v < min || *v > max) {
    Error(path,
          FormatBytes(*v) + " out of range (" + FormatBytes(min) + " to " + FormatBytes(max) + ")");
    return false;
  }
  out = *v;
  return true;
}

bool YamlReader::ReadDuration(const YAML::Node& node, const std::string& path,
                              std::chrono::milliseconds& out) {
  if (!node.IsScalar()) {
    Error(path, "expected a duration such as 30s");
    return false;
  }
  Result<std::chrono::milliseconds> v = ParseDuration(node.Scalar());
  if (!v) {
    Error(path, v.error().message());
    return false;
  }
  if (v->count() <= 0) {
    Error(path, "must be longer than zero");
    return false;
  }
  out = *v;
  return true;
}

}  // namespace labelrun::config
