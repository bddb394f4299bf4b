#pragma once
// Typed reads from yaml-cpp nodes that record problems with key paths instead
// of throwing: the one reader behind labelrun.yaml (config/) and the rules
// file (rules/). A problem names where it is ("server.listen",
// "rules[2].job.image") and what is wrong; an unknown key comes with the
// closest known key ("did you mean ...?").

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace labelrun::yaml {

// How an unknown key's suggestion reads. The config file names the full key
// path ("server.lisen: unknown key (did you mean server.listen?)"), the rules
// file the key alone ("rules[2].job.imgae: unknown key; did you mean 'image'?").
enum class SuggestionStyle { kKeyPath, kQuotedKey };

class Reader {
 public:
  // Receives each problem: its key path, the message, and whether it is only a warning.
  using Sink = std::function<void(const std::string& path, std::string message, bool warning)>;

  Reader(Sink sink, SuggestionStyle style) : sink_(std::move(sink)), style_(style) {}

  void Error(const std::string& path, std::string message) {
    sink_(path, std::move(message), false);
  }
  void Warn(const std::string& path, std::string message) { sink_(path, std::move(message), true); }

  // "a.b" from "a" and "b"; "b" from "" and "b".
  static std::string Key(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  // "a[3]".
  static std::string Index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  // Every key of the mapping `node` must be in `known`; an unknown key is
  // reported with the closest known one when it is close (edit distance < 3).
  // False, with "expected a mapping of keys", when `node` is not a mapping.
  bool CheckKeys(const YAML::Node& node, const std::string& path,
                 std::initializer_list<std::string_view> known);

  // The config file's reads: each records a problem and returns false when the
  // value is missing or wrong, and leaves `out` as it was.
  bool ReadString(const YAML::Node& node, const std::string& path, std::string& out);
  // true/yes/on, false/no/off.
  bool ReadBool(const YAML::Node& node, const std::string& path, bool& out);
  bool ReadUint(const YAML::Node& node, const std::string& path, uint32_t& out, uint32_t min,
                uint32_t max);
  // A byte size: a number or "25MiB".
  bool ReadSize(const YAML::Node& node, const std::string& path, uint64_t& out, uint64_t min,
                uint64_t max);
  // A duration: "30s", "10m"; a bare number is seconds. Must be positive.
  bool ReadDuration(const YAML::Node& node, const std::string& path,
                    std::chrono::milliseconds& out);

  // The rules file's reads: nullopt, with a problem recorded, when the value is
  // missing or wrong. Scalars are at most 4096 bytes, lists and maps at most
  // 1000 items (rules come from repositories, not only from operators).
  //
  // True when `node` is a map; otherwise records "is missing" or "must be a map
  // of keys to values".
  bool ExpectMap(const YAML::Node& node, const std::string& path);
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
  Sink sink_;
  SuggestionStyle style_;
};

}  // namespace labelrun::yaml
