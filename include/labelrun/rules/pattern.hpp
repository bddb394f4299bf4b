#pragma once
// Label patterns in rules: an exact label name or a glob (`task:*`, `module:v?t`).

#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"

namespace labelrun::rules {

// A compiled pattern. '*' matches any run of characters (':' included), '?' one character;
// there is no escaping. Matching never allocates. Thread-safe for concurrent reads.
class Pattern {
 public:
  enum class Kind { kExact, kPrefix, kSuffix, kAny, kGlob };

  // Compiles `text`. Errors (kInvalidArgument): empty, longer than 100 characters, or a
  // character outside a-z, 0-9, '-', '.', ':', '*', '?'.
  static Result<Pattern> Compile(std::string_view text);

  bool Matches(std::string_view label) const;

  const std::string& text() const { return text_; }
  Kind kind() const { return kind_; }
  bool is_exact() const { return kind_ == Kind::kExact; }

 private:
  Pattern(std::string text, Kind kind, std::string fixed)
      : text_(std::move(text)), kind_(kind), fixed_(std::move(fixed)) {}

  std::string text_;
  Kind kind_;
  std::string fixed_;  // the literal part for kExact, kPrefix and kSuffix
};

}  // namespace labelrun::rules
