#include "labelrun/labels/diagnostic.hpp"

#include <algorithm>

namespace labelrun::labels {

std::string FormatDiagnostic(const Diagnostic& d, const std::string& file) {
  std::string out = file;
  if (d.line > 0) out += (out.empty() ? "" : ":") + std::to_string(d.line);
  if (!out.empty()) out += ": ";
  out += d.severity == Severity::kError ? "error: " : "warning: ";
  out += d.message;
  return out;
}

bool HasErrors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

}  // namespace labelrun::labels
