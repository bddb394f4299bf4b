#pragma once
// The label dictionary: LABELS.md parsed into the set of labels labelrun knows.
//
// Format (see LABELS.md at the repository root): every level-3 heading starts a label
// section and is exactly the label name in backticks; the section holds bullet fields
//
//   ### `task:training`
//   - **Meaning:** ...
//   - **Triggers:** ...
//   - **Typical uses:** ...
//   - **Not for:** ...
//   - **Colour:** `#1d76db`
//
// A bullet's text may wrap onto indented lines. Level-1 and level-2 headings end a section
// and may be followed by free prose; fenced code blocks are never parsed. Anything else
// inside a section is an error with its line number: a malformed section is never skipped.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "labelrun/core/result.hpp"
#include "labelrun/labels/diagnostic.hpp"

namespace labelrun::labels {

// Inputs larger than this are refused whole, to keep parsing work bounded.
inline constexpr size_t kMaxDictionaryBytes = 1 << 20;
// More sections than this are refused.
inline constexpr size_t kMaxDictionaryLabels = 2000;

struct LabelInfo {
  std::string name;
  std::string meaning;
  std::string triggers;
  std::string typical_uses;
  std::string not_for;
  std::string colour;  // six lower-case hex digits, no '#', as GitHub's API takes it
  int line = 0;        // the line of the section heading
};

// An immutable, validated set of labels in file order. Thread-safe for concurrent reads.
class Dictionary {
 public:
  Dictionary() = default;
  // REQUIRES: every name is valid (IsValidName) and names are unique.
  explicit Dictionary(std::vector<LabelInfo> labels);

  // The label with exactly this name, or nullptr. The pointer lives as long as *this.
  const LabelInfo* Find(std::string_view name) const;
  bool Contains(std::string_view name) const { return Find(name) != nullptr; }
  // The label `label` most likely misspells; see labels::Suggest in suggest.hpp.
  std::optional<std::string> Suggest(std::string_view label) const;

  const std::vector<LabelInfo>& labels() const { return labels_; }
  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<LabelInfo> labels_;
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> index_;
};

// Everything the parser found: every section it read (valid or not, in file order) and
// every diagnostic, sorted by line.
struct ParseReport {
  std::vector<LabelInfo> sections;
  std::vector<Diagnostic> diagnostics;
};

// Parses LABELS.md text. Never throws; work is linear in the input size.
ParseReport ParseLabelsMarkdown(std::string_view text);

// Parses LABELS.md text into a Dictionary. Warnings are ignored; any error fails the whole
// parse with kInvalidArgument and a message listing the errors with their line numbers.
Result<Dictionary> ParseDictionary(std::string_view text);

}  // namespace labelrun::labels
