#include "labelrun/labels/dictionary.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "labelrun/labels/lint.hpp"

namespace labelrun::labels {
namespace {

constexpr const char* kGood = R"(# Labels

Intro text with `inline` code and a list:
- not a field, because no section is open

## Grammar

```markdown
### `not:parsed`
- garbage inside a code fence is ignored
```

### `task:training`

- **Meaning:** Train a model.
- **Triggers:** Queues a job
  on a GPU host.
- **Typical uses:** Reproducing.
- **Not for:** Chat.
- **Colour:** `#1D76DB`

### `gpu:required`
<!-- a comment line -->
* **Meaning**: Needs a GPU.
- **Triggers:** Completes GPU rules.
- **Typical uses:** Training.
- **Not for:** CPU work.
- **Color:** b60205
)";

TEST(DictionaryTest, ParsesSectionsFieldsAndColours) {
  auto dictionary = ParseDictionary(kGood);
  ASSERT_TRUE(dictionary) << dictionary.error().message();
  ASSERT_EQ(dictionary->size(), 2u);
  const LabelInfo* training = dictionary->Find("task:training");
  ASSERT_NE(training, nullptr);
  EXPECT_EQ(training->meaning, "Train a model.");
  EXPECT_EQ(training->triggers, "Queues a job on a GPU host.");
  EXPECT_EQ(training->colour, "1d76db");
  EXPECT_EQ(training->line, 13);
  const LabelInfo* gpu = dictionary->Find("gpu:required");
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ(gpu->meaning, "Needs a GPU.");
  EXPECT_EQ(gpu->colour, "b60205");
  EXPECT_FALSE(dictionary->Contains("not:parsed"));
}

struct ErrorCase {
  const char* name;
  const char* text;
  int line;
  const char* message_part;
};

constexpr const char* kFields =
    "- **Meaning:** m\n- **Triggers:** t\n- **Typical uses:** u\n- **Not for:** n\n"
    "- **Colour:** `#000000`\n";

class DictionaryErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(DictionaryErrorTest, ReportsLineAndFailsWhole) {
  const ErrorCase& c = GetParam();
  ParseReport report = ParseLabelsMarkdown(c.text);
  bool found = false;
  for (const Diagnostic& d : report.diagnostics) {
    if (d.severity == Severity::kError && d.line == c.line &&
        d.message.find(c.message_part) != std::string::npos) {
      found = true;
    }
  }
  std::string all;
  for (const Diagnostic& d : report.diagnostics) all += FormatDiagnostic(d) + "\n";
  EXPECT_TRUE(found) << "expected line " << c.line << " '" << c.message_part << "' in:\n" << all;
  auto dictionary = ParseDictionary(c.text);
  ASSERT_FALSE(dictionary);
  EXPECT_NE(dictionary.error().message().find("LABELS.md:" + std::to_string(c.line)),
            std::string::npos)
      << dictionary.error().message();
}

std::string Section(const std::string& heading, const std::string& body = kFields) {
  return "### " + heading + "\n" + body;
}

const std::string kHeadingNoTicks = "# L\n\n" + Section("task:training");
const std::string kUpper = Section("`GPU:Required`");
const std::string kVague = "intro\n" + Section("`bug`");
const std::string kDup = Section("`gpu:required`") + "\n" + Section("`gpu-required`");
const std::string kExactDup = Section("`a:b`") + Section("`a:b`");
const std::string kNoColour = Section("`a:b`", "- **Meaning:** m\n");
const std::string kBadColour = Section("`a:b`", "- **Meaning:** m\n- **Colour:** blue\n");
const std::string kUnknownField = Section("`a:b`", std::string(kFields) + "- **Owner:** me\n");
const std::string kStray = Section("`a:b`", std::string(kFields) + "stray words\n");
const std::string kTwice = Section("`a:b`", std::string(kFields) + "- **Meaning:** again\n");
const std::string kEmpty = Section("`a:b`", "- **Meaning:**\n- **Colour:** 000000\n");
const std::string kNotField = Section("`a:b`", std::string(kFields) + "- just a bullet\n");
const std::string kFence = Section("`a:b`") + "```\n### `c:d`\n";
const std::string kDeep = Section("`a:b`") + "#### Notes\n";
const std::string kNoSpace = "intro\n\n###`a:b`\n";

INSTANTIATE_TEST_SUITE_P(
    Table, DictionaryErrorTest,
    testing::Values(ErrorCase{"heading_without_backticks", kHeadingNoTicks.c_str(), 3, "backticks"},
                    ErrorCase{"upper_case", kUpper.c_str(), 1, "upper-case"},
                    ErrorCase{"vague", kVague.c_str(), 2, "vague"},
                    ErrorCase{"normalised_duplicate", kDup.c_str(), 8, "duplicates `gpu:required`"},
                    ErrorCase{"exact_duplicate", kExactDup.c_str(), 7, "defined twice"},
                    ErrorCase{"missing_colour", kNoColour.c_str(), 1, "no 'Colour'"},
                    ErrorCase{"bad_colour", kBadColour.c_str(), 3, "6 hex digits"},
                    ErrorCase{"unknown_field", kUnknownField.c_str(), 7, "unknown field 'Owner'"},
                    ErrorCase{"stray_text", kStray.c_str(), 7, "unexpected text"},
                    ErrorCase{"field_twice", kTwice.c_str(), 7, "given twice"},
                    ErrorCase{"empty_field", kEmpty.c_str(), 2, "is empty"},
                    ErrorCase{"bullet_not_field", kNotField.c_str(), 7, "not a field"},
                    ErrorCase{"unclosed_fence", kFence.c_str(), 7, "never closed"},
                    ErrorCase{"deep_heading", kDeep.c_str(), 7, "deeper than ###"},
                    ErrorCase{"heading_without_space", kNoSpace.c_str(), 3, "followed by a space"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(DictionaryTest, MissingOptionalFieldsAreWarnings) {
  ParseReport report = ParseLabelsMarkdown("### `a:b`\n- **Meaning:** m\n- **Colour:** 000000\n");
  ASSERT_EQ(report.diagnostics.size(), 3u);
  for (const Diagnostic& d : report.diagnostics) EXPECT_EQ(d.severity, Severity::kWarning);
  EXPECT_TRUE(ParseDictionary("### `a:b`\n- **Meaning:** m\n- **Colour:** 000000\n"));
}

TEST(DictionaryTest, EmptyAndOversizedInputs) {
  auto empty = ParseDictionary("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  std::string huge(kMaxDictionaryBytes + 1, 'x');
  EXPECT_FALSE(ParseDictionary(huge));
  EXPECT_FALSE(ParseDictionary("### \n"));
  EXPECT_FALSE(ParseDictionary("### ``\n"));
  EXPECT_FALSE(ParseDictionary("### `a`b`\n"));
}

TEST(DictionaryTest, IndentedHeadingIsAHeading) {
  auto dictionary = ParseDictionary("   ### `a:b`\n- **Meaning:** m\n- **Colour:** 000000\n");
  ASSERT_TRUE(dictionary) << dictionary.error().message();
  EXPECT_TRUE(dictionary->Contains("a:b"));
}

TEST(DictionaryTest, CrLfLineEndings) {
  auto dictionary = ParseDictionary("### `a:b`\r\n- **Meaning:** m\r\n- **Colour:** 000000\r\n");
  ASSERT_TRUE(dictionary) << dictionary.error().message();
  EXPECT_EQ(dictionary->Find("a:b")->colour, "000000");
}

std::string ReadRepoFile(const std::string& relative) {
  std::ifstream in(std::string(LABELRUN_SOURCE_DIR) + "/" + relative);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(DictionaryTest, RepositoryLabelsMdIsCleanAndComplete) {
  const std::string text = ReadRepoFile("LABELS.md");
  ASSERT_FALSE(text.empty());
  std::vector<Diagnostic> findings = Lint(text);
  EXPECT_TRUE(findings.empty()) << RenderLintReport(findings, 0);
  auto dictionary = ParseDictionary(text);
  ASSERT_TRUE(dictionary) << dictionary.error().message();
  for (const char* name :
       {"task:training", "task:inference", "task:benchmarking", "gpu:required", "env:gpu",
        "env:cpu", "framework:pytorch", "cuda:enabled", "priority:high", "priority:low",
        "module:vit", "module:resnet", "status:queued", "status:in-progress", "status:done",
        "status:failed", "status:blocked"}) {
    const LabelInfo* label = dictionary->Find(name);
    ASSERT_NE(label, nullptr) << name;
    EXPECT_FALSE(label->meaning.empty()) << name;
    EXPECT_FALSE(label->triggers.empty()) << name;
    EXPECT_FALSE(label->typical_uses.empty()) << name;
    EXPECT_FALSE(label->not_for.empty()) << name;
    EXPECT_EQ(label->colour.size(), 6u) << name;
  }
}

TEST(LintTest, ReportsEverythingWithSeverities) {
  const std::string text = "### `bug`\n- **Meaning:** m\n- **Colour:** 000000\n" +
                           Section("`gpu:required`") + Section("`GPU-Required`");
  std::vector<Diagnostic> findings = Lint(text);
  ASSERT_TRUE(HasErrors(findings));
  std::string report = RenderLintReport(findings, 3);
  EXPECT_NE(report.find("LABELS.md:1: error: `bug` is a vague name"), std::string::npos) << report;
  EXPECT_NE(report.find("LABELS.md:1: warning: `bug` has no 'Triggers' field"), std::string::npos)
      << report;
  EXPECT_NE(report.find("LABELS.md:10: error: label `GPU-Required`"), std::string::npos) << report;
  EXPECT_NE(report.find("duplicates `gpu:required`"), std::string::npos) << report;
  EXPECT_NE(report.find("LABELS.md: warning: `status:queued` is missing"), std::string::npos)
      << report;
  EXPECT_NE(report.find("errors,"), std::string::npos) << report;
}

TEST(LintTest, CleanReportSaysSo) {
  EXPECT_EQ(RenderLintReport({}, 17, "docs/LABELS.md"), "docs/LABELS.md: 17 labels, no problems\n");
}

}  // namespace
}  // namespace labelrun::labels
