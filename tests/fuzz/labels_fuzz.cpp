// libFuzzer target: LABELS.md parsing, lint and near-miss suggestions must never crash,
// and must agree with each other.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "labelrun/labels/dictionary.hpp"
#include "labelrun/labels/lint.hpp"
#include "labelrun/labels/name.hpp"
#include "labelrun/labels/suggest.hpp"

using namespace labelrun::labels;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseReport report = ParseLabelsMarkdown(text);
  auto dictionary = ParseDictionary(text);
  // The dictionary parses exactly when the report has no errors.
  if (dictionary.has_value() == HasErrors(report.diagnostics)) std::abort();
  std::vector<Diagnostic> findings = Lint(text);
  (void)RenderLintReport(findings, report.sections.size());
  for (const Diagnostic& d : report.diagnostics) {
    if (d.line < 0) std::abort();
  }
  (void)IsValidName(text.substr(0, 200));
  (void)NormalizeName(text.substr(0, 200));
  if (dictionary) {
    for (const LabelInfo& label : dictionary->labels()) {
      if (!IsValidName(label.name) || label.colour.size() != 6) std::abort();
      // A known label never gets a suggestion; its normalised twin suggests it back.
      if (Suggest(*dictionary, label.name)) std::abort();
    }
    (void)Suggest(*dictionary, text.substr(0, 120));
  }
  return 0;
}
