#pragma once
// Label names: the `category:key` grammar that LABELS.md and rules follow.

#include <cstddef>
#include <string>
#include <string_view>

namespace labelrun::labels {

// GitHub refuses label names longer than this.
inline constexpr size_t kMaxLabelLength = 50;

// True when `name` is `category:key`: exactly one ':', both parts non-empty, made of
// lower-case ASCII letters, digits, '-' and '.', each part starting with a letter or digit,
// and at most kMaxLabelLength bytes in all.
bool IsValidName(std::string_view name);

// Why `name` is not valid, as a sentence for a person; empty when it is valid.
std::string NameProblem(std::string_view name);

// True for a bare word with no category that says nothing to automation (`bug`, `help`,
// `urgent`, `wip`, ...). Compared case-insensitively.
bool IsVagueName(std::string_view name);

// The spelling-insensitive form used to find duplicates and near misses: ASCII lower case
// with every separator (':', '-', '_', '.', '/', space) removed. `GPU:Required`,
// `gpu-required` and `gpurequired` all normalise to `gpurequired`.
std::string NormalizeName(std::string_view name);

// The part before the ':' (the whole name when there is none).
std::string_view CategoryOf(std::string_view name);
// The part after the first ':' (empty when there is none).
std::string_view KeyOf(std::string_view name);

}  // namespace labelrun::labels
