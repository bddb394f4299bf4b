#pragma once
// Near-miss detection: "did you mean `gpu:required`?" for labels that look like a
// misspelling of a dictionary label.

#include <optional>
#include <string>
#include <string_view>

#include "labelrun/labels/dictionary.hpp"

namespace labelrun::labels {

// The dictionary label that `label` most likely misspells, or nullopt when `label` is in
// the dictionary or resembles nothing in it. Matches, in order: the same name once case and
// separators are ignored (`GPU:Required`, `gpu-required`, `gpurequired`); then the closest
// name within a small edit distance (`gpu:requried`), where the allowance grows with the
// length (1 edit up to 5 characters, 2 up to 11, 3 beyond). Ties go to the label listed
// first. Names longer than 2 * kMaxLabelLength get no suggestion. Bounded work:
// O(dictionary size * kMaxLabelLength^2).
std::optional<std::string> Suggest(const Dictionary& dictionary, std::string_view label);

}  // namespace labelrun::labels
