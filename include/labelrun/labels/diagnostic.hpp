#pragma once
// Findings about a LABELS.md file, each tied to a line a person can open.

#include <string>
#include <vector>

namespace labelrun::labels {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  int line = 0;       // 1-based; 0 when the finding is about the whole file
  std::string label;  // the label the finding is about; may be empty
  std::string message;
};

// "LABELS.md:12: error: ..." with `file` as the prefix (omitted when empty).
std::string FormatDiagnostic(const Diagnostic& d, const std::string& file = "LABELS.md");

// True when any diagnostic is an error.
bool HasErrors(const std::vector<Diagnostic>& diagnostics);

}  // namespace labelrun::labels
