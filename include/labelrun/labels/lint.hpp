#pragma once
// `labelrun labels lint`: everything wrong or doubtful in a LABELS.md.

#include <string>
#include <string_view>
#include <vector>

#include "labelrun/labels/diagnostic.hpp"

namespace labelrun::labels {

// The labels labelrun itself sets on issues; lint warns when LABELS.md lacks one.
inline constexpr std::string_view kLifecycleLabels[] = {
    "status:queued", "status:in-progress", "status:done", "status:failed", "status:blocked"};

// All findings for LABELS.md text, sorted by line: names outside the grammar, vague names
// with no category, duplicates after normalisation, malformed sections, missing or empty
// fields (errors for Meaning and Colour, warnings for the others), missing lifecycle labels
// (warnings). Never throws.
std::vector<Diagnostic> Lint(std::string_view text);

// The lint report a person reads: one FormatDiagnostic line per finding, then a summary
// line ("3 errors, 1 warning in 17 labels" or "LABELS.md: 17 labels, no problems").
// `file` names the file in each line.
std::string RenderLintReport(const std::vector<Diagnostic>& diagnostics, size_t label_count,
                             const std::string& file = "LABELS.md");

}  // namespace labelrun::labels
