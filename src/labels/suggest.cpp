#include "labelrun/labels/suggest.hpp"

#include "labelrun/core/strings.hpp"
#include "labelrun/labels/name.hpp"

namespace labelrun::labels {
namespace {

size_t Allowance(size_t length) {
  if (length <= 5) return 1;
  if (length <= 11) return 2;
  return 3;
}

size_t LengthGap(size_t a, size_t b) { return a > b ? a - b : b - a; }

}  // namespace

std::optional<std::string> Dictionary::Suggest(std::string_view label) const {
  return labels::Suggest(*this, label);
}

std::optional<std::string> Suggest(const Dictionary& dictionary, std::string_view label) {
  if (label.empty() || label.size() > 2 * kMaxLabelLength) return std::nullopt;
  if (dictionary.Contains(label)) return std::nullopt;
  const std::string normal = NormalizeName(label);
  if (normal.empty()) return std::nullopt;
  for (const LabelInfo& known : dictionary.labels()) {
    if (NormalizeName(known.name) == normal) return known.name;
  }
  const std::string lower = ToLower(label);
  const size_t allowance = Allowance(normal.size());
  const LabelInfo* best = nullptr;
  size_t best_distance = allowance + 1;
  for (const LabelInfo& known : dictionary.labels()) {
    std::string known_normal = NormalizeName(known.name);
    // Cheap bound first: the distance is at least the length difference.
    if (LengthGap(known_normal.size(), normal.size()) >= best_distance) continue;
    size_t distance = std::min(EditDistance(normal, known_normal), EditDistance(lower, known.name));
    if (distance < best_distance) {
      best_distance = distance;
      best = &known;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->name;
}

}  // namespace labelrun::labels
