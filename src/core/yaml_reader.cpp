// The YAML reader shared by the config file and the rules file.

#include "labelrun/core/yaml_reader.hpp"

#include <charconv>
#include <cmath>

#include "labelrun/core/strings.hpp"
#include "labelrun/core/units.hpp"

namespace labelrun::yaml {
namespace {

constexpr size_t kMaxListItems = 1000;
constexpr size_t kMaxScalarBytes = 4096;
constexpr size_t kMaxKeyBytes = 64;  // longer keys are shown cut and get no suggestion

}  // namespace

bool Reader::CheckKeys(const YAML::Node& node, const std::string& path,
                       std::initializer_list<std::string_view> known) {
  if (!node.IsMap()) {
    Error(path, "expected a mapping of keys");
    return false;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      Error(path, "has a key that is not a plain string");
      continue;
    }
    const std::string& key = it->first.Scalar();
    bool found = false;
    std::string_view closest;
    size_t closest_distance = 3;  // suggest only close matches
    for (std::string_view k : known) {
      if (k == key) {
        found = true;
        break;
      }
      if (key.size() > kMaxKeyBytes) continue;
      size_t d = EditDistance(key, k);
      if (d < closest_distance) {
        closest_distance = d;
        closest = k;
      }
    }
    if (found) continue;
    std::string message = "unknown key";
    if (!closest.empty()) {
      message += style_ == SuggestionStyle::kKeyPath
                     ? " (did you mean " + Key(path, closest) + "?)"
                     : "; did you mean '" + std::string(closest) + "'?";
    }
    Error(Key(path, key.substr(0, kMaxKeyBytes)), std::move(message));
  }
  return true;
}

bool Reader::ReadString(const YAML::Node& node, const std::string& path, std::string& out) {
  if (!node.IsScalar()) {
    Error(path, "expected a string");
    return false;
  }
  out = node.Scalar();
  return true;
}

bool Reader::ReadBool(const YAML::Node& node, const std::string& path, bool& out) {
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

bool Reader::ReadUint(const YAML::Node& node, const std::string& path, uint32_t& out, uint32_t min,
                      uint32_t max) {
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

bool Reader::ReadSize(const YAML::Node& node, const std::string& path, uint64_t& out, uint64_t min,
                      uint64_t max) {
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

bool Reader::ReadDuration(const YAML::Node& node, const std::string& path,
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

bool Reader::ExpectMap(const YAML::Node& node, const std::string& path) {
  // A missing key gives a "zombie" node on which everything but IsDefined throws.
  if (!node.IsDefined()) {
    Error(path, "is missing");
    return false;
  }
  if (node.IsMap()) return true;
  Error(path, "must be a map of keys to values");
  return false;
}

std::optional<std::string> Reader::String(const YAML::Node& node, const std::string& path) {
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

std::optional<int64_t> Reader::Int(const YAML::Node& node, const std::string& path, int64_t min,
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

std::optional<double> Reader::Double(const YAML::Node& node, const std::string& path, double min,
                                     double max) {
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

std::optional<std::vector<std::string>> Reader::StringList(const YAML::Node& node,
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

std::optional<std::vector<std::pair<std::string, std::string>>> Reader::StringMap(
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

}  // namespace labelrun::yaml
