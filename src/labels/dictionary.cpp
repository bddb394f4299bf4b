#include "labelrun/labels/dictionary.hpp"

#include <utility>

namespace labelrun::labels {

Dictionary::Dictionary(std::vector<LabelInfo> labels) : labels_(std::move(labels)) {
  index_.reserve(labels_.size());
  for (size_t i = 0; i < labels_.size(); ++i) index_.emplace(labels_[i].name, i);
}

const LabelInfo* Dictionary::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &labels_[it->second];
}

Result<Dictionary> ParseDictionary(std::string_view text) {
  ParseReport report = ParseLabelsMarkdown(text);
  if (!HasErrors(report.diagnostics)) return Dictionary(std::move(report.sections));
  constexpr size_t kMaxListed = 20;
  std::string message = "LABELS.md is malformed:";
  size_t listed = 0, errors = 0;
  for (const Diagnostic& d : report.diagnostics) {
    if (d.severity != Severity::kError) continue;
    ++errors;
    if (listed < kMaxListed) {
      message += "\n  " + FormatDiagnostic(d);
      ++listed;
    }
  }
  if (errors > listed) message += "\n  ... and " + std::to_string(errors - listed) + " more";
  return Unexpected(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace labelrun::labels
