#include "labelrun/labels/lint.hpp"

#include <algorithm>

#include "labelrun/labels/dictionary.hpp"

namespace labelrun::labels {

std::vector<Diagnostic> Lint(std::string_view text) {
  ParseReport report = ParseLabelsMarkdown(text);
  std::vector<Diagnostic> out = std::move(report.diagnostics);
  if (text.size() > kMaxDictionaryBytes) return out;
  for (std::string_view lifecycle : kLifecycleLabels) {
    bool found = std::any_of(report.sections.begin(), report.sections.end(),
                             [&](const LabelInfo& l) { return l.name == lifecycle; });
    if (!found) {
      out.push_back({Severity::kWarning, 0, std::string(lifecycle),
                     "`" + std::string(lifecycle) +
                         "` is missing; labelrun sets it on issues, so describe it"});
    }
  }
  return out;
}

std::string RenderLintReport(const std::vector<Diagnostic>& diagnostics, size_t label_count,
                             const std::string& file) {
  std::string out;
  size_t errors = 0, warnings = 0;
  for (const Diagnostic& d : diagnostics) {
    out += FormatDiagnostic(d, file);
    out += '\n';
    (d.severity == Severity::kError ? errors : warnings)++;
  }
  auto plural = [](size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  if (errors == 0 && warnings == 0) {
    out += file + ": " + plural(label_count, "label") + ", no problems\n";
  } else {
    out += file + ": " + plural(errors, "error") + ", " + plural(warnings, "warning") + " in " +
           plural(label_count, "label") + "\n";
  }
  return out;
}

}  // namespace labelrun::labels
