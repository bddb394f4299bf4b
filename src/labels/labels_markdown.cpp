// The LABELS.md parser behind ParseLabelsMarkdown (declared in dictionary.hpp).
#include "labelrun/labels/dictionary.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "labelrun/core/strings.hpp"
#include "labelrun/labels/name.hpp"

namespace labelrun::labels {
namespace {

enum class Field { kMeaning, kTriggers, kTypicalUses, kNotFor, kColour };
constexpr int kFieldCount = 5;
constexpr std::string_view kFieldNames[kFieldCount] = {"Meaning", "Triggers", "Typical uses",
                                                       "Not for", "Colour"};

std::optional<Field> FieldFromName(std::string_view name) {
  std::string lower = ToLower(Trim(name));
  if (lower == "meaning") return Field::kMeaning;
  if (lower == "triggers") return Field::kTriggers;
  if (lower == "typical uses") return Field::kTypicalUses;
  if (lower == "not for") return Field::kNotFor;
  if (lower == "colour" || lower == "color") return Field::kColour;
  return std::nullopt;
}

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// "`#1D76DB`", "#1d76db" or "1d76db" -> "1d76db"; nullopt otherwise.
std::optional<std::string> ParseColour(std::string_view text) {
  text = Trim(text);
  if (text.size() >= 2 && text.front() == '`' && text.back() == '`') {
    text = Trim(text.substr(1, text.size() - 2));
  }
  if (!text.empty() && text.front() == '#') text.remove_prefix(1);
  if (text.size() != 6) return std::nullopt;
  std::string colour = ToLower(text);
  if (!std::all_of(colour.begin(), colour.end(), IsHex)) return std::nullopt;
  return colour;
}

// Level of a Markdown ATX heading ("### x" -> 3), or 0 when the line is not one.
int HeadingLevel(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[n] == '#') ++n;
  if (n == 0 || n > 6) return 0;
  if (n < line.size() && line[n] != ' ' && line[n] != '\t') return 0;
  return static_cast<int>(n);
}

bool IsFence(std::string_view line) {
  std::string_view t = Trim(line);
  return t.substr(0, 3) == "```" || t.substr(0, 3) == "~~~";
}

class Parser {
 public:
  ParseReport Run(std::string_view text) {
    if (text.size() > kMaxDictionaryBytes) {
      Error(0, "", "the file is larger than " + std::to_string(kMaxDictionaryBytes) + " bytes");
      return Finish();
    }
    int line_no = 0;
    int fence_line = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(pos, end - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_no;
      pos = end + 1;
      if (IsFence(line)) {
        fence_line = fence_line == 0 ? line_no : 0;
        continue;
      }
      if (fence_line != 0) continue;
      Line(line_no, line);
      if (report_.sections.size() > kMaxDictionaryLabels) {
        Error(line_no, "", "more than " + std::to_string(kMaxDictionaryLabels) + " labels");
        return Finish();
      }
    }
    if (fence_line != 0) {
      Error(fence_line, "", "this code fence is never closed, so the rest of the file is unread");
    }
    CloseSection();
    return Finish();
  }

 private:
  void Error(int line, std::string label, std::string message) {
    report_.diagnostics.push_back({Severity::kError, line, std::move(label), std::move(message)});
  }
  void Warning(int line, std::string label, std::string message) {
    report_.diagnostics.push_back({Severity::kWarning, line, std::move(label), std::move(message)});
  }

  void Line(int line_no, std::string_view line) {
    // Markdown allows up to three spaces before a heading.
    std::string_view unindented = line;
    for (int i = 0; i < 3 && unindented.starts_with(' '); ++i) unindented.remove_prefix(1);
    int level = HeadingLevel(unindented);
    if (level == 3) return OpenSection(line_no, Trim(unindented.substr(3)));
    if (level == 1 || level == 2) return CloseSection();
    if (level == 0 && unindented.starts_with("###") && !unindented.starts_with("####")) {
      // "###`a:b`" renders as text, not a heading: a section that would silently vanish.
      return Error(line_no, "", "'###' must be followed by a space to start a label section");
    }
    if (!in_section_) return;  // free prose between sections
    std::string_view trimmed = Trim(line);
    if (trimmed.empty()) {
      last_field_ = -1;
      return;
    }
    if (trimmed.starts_with("<!--") && trimmed.ends_with("-->")) return;
    if (level > 3) {
      return Error(line_no, current_.name,
                   "a heading deeper than ### inside the section for `" + current_.name +
                       "`; only bullet fields belong there");
    }
    if (trimmed.starts_with("- ") || trimmed.starts_with("* ")) {
      return FieldLine(line_no, Trim(trimmed.substr(2)));
    }
    if (last_field_ >= 0 && (line[0] == ' ' || line[0] == '\t')) {
      std::string& value = *FieldSlot(static_cast<Field>(last_field_));
      if (!value.empty()) value += ' ';
      value += trimmed;
      return;
    }
    Error(line_no, current_.name,
          "unexpected text in the section for `" + current_.name +
              "`; write fields as bullets like `- **Meaning:** ...`");
  }

  void FieldLine(int line_no, std::string_view bullet) {
    last_field_ = -1;
    // "**Name:** value" or "**Name**: value"
    std::string_view name, value;
    if (bullet.starts_with("**")) {
      std::string_view rest = bullet.substr(2);
      size_t close = rest.find("**");
      if (close != std::string_view::npos) {
        name = rest.substr(0, close);
        value = rest.substr(close + 2);
        if (name.ends_with(":")) {
          name.remove_suffix(1);
        } else if (value.starts_with(":")) {
          value.remove_prefix(1);
        } else {
          name = {};
        }
      }
    }
    if (name.empty()) {
      return Error(line_no, current_.name,
                   "a bullet in the section for `" + current_.name +
                       "` is not a field; write `- **Meaning:** ...`");
    }
    std::optional<Field> field = FieldFromName(name);
    if (!field) {
      return Error(line_no, current_.name,
                   "unknown field '" + std::string(Trim(name)) +
                       "'; the fields are Meaning, Triggers, Typical uses, Not for, Colour");
    }
    int index = static_cast<int>(*field);
    if (seen_[index] != 0) {
      return Error(line_no, current_.name,
                   "field '" + std::string(kFieldNames[index]) + "' given twice for `" +
                       current_.name + "` (first on line " + std::to_string(seen_[index]) + ")");
    }
    seen_[index] = line_no;
    *FieldSlot(*field) = std::string(Trim(value));
    last_field_ = index;
  }

  std::string* FieldSlot(Field f) {
    switch (f) {
      case Field::kMeaning:
        return &current_.meaning;
      case Field::kTriggers:
        return &current_.triggers;
      case Field::kTypicalUses:
        return &current_.typical_uses;
      case Field::kNotFor:
        return &current_.not_for;
      case Field::kColour:
        return &current_.colour;
    }
    return &current_.meaning;
  }

  void OpenSection(int line_no, std::string_view heading) {
    CloseSection();
    in_section_ = true;
    current_ = LabelInfo{};
    current_.line = line_no;
    std::fill(std::begin(seen_), std::end(seen_), 0);
    last_field_ = -1;
    if (heading.size() < 3 || heading.front() != '`' || heading.back() != '`' ||
        heading.substr(1, heading.size() - 2).find('`') != std::string_view::npos) {
      current_.name = std::string(heading.substr(0, 2 * kMaxLabelLength));
      Error(line_no, current_.name,
            "a ### heading starts a label section and must be only the label name in "
            "backticks, like ### `task:training`");
      return;
    }
    current_.name = std::string(heading.substr(1, heading.size() - 2));
    if (IsVagueName(current_.name)) {
      Error(line_no, current_.name,
            "`" + current_.name +
                "` is a vague name with no category; say what it means, e.g. `kind:" +
                ToLower(current_.name) + "`");
    } else if (std::string problem = NameProblem(current_.name); !problem.empty()) {
      Error(line_no, current_.name, "label `" + current_.name + "`: " + problem);
    }
  }

  void CloseSection() {
    if (!in_section_) return;
    in_section_ = false;
    const std::string& name = current_.name;
    for (Field f : {Field::kMeaning, Field::kColour}) {
      if (seen_[static_cast<int>(f)] == 0) {
        Error(
            current_.line, name,
            "`" + name + "` has no '" + std::string(kFieldNames[static_cast<int>(f)]) + "' field");
      }
    }
    for (Field f : {Field::kTriggers, Field::kTypicalUses, Field::kNotFor}) {
      if (seen_[static_cast<int>(f)] == 0) {
        Warning(
            current_.line, name,
            "`" + name + "` has no '" + std::string(kFieldNames[static_cast<int>(f)]) + "' field");
      }
    }
    for (int i = 0; i < kFieldCount; ++i) {
      if (seen_[i] != 0 && FieldSlot(static_cast<Field>(i))->empty()) {
        Error(seen_[i], name, "field '" + std::string(kFieldNames[i]) + "' is empty");
      }
    }
    if (seen_[static_cast<int>(Field::kColour)] != 0 && !current_.colour.empty()) {
      if (auto colour = ParseColour(current_.colour)) {
        current_.colour = *colour;
      } else {
        Error(seen_[static_cast<int>(Field::kColour)], name,
              "colour '" + current_.colour + "' is not 6 hex digits like `#1d76db`");
      }
    }
    report_.sections.push_back(std::move(current_));
  }

  ParseReport Finish() {
    CheckDuplicates();
    std::stable_sort(report_.diagnostics.begin(), report_.diagnostics.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    return std::move(report_);
  }

  void CheckDuplicates() {
    std::unordered_map<std::string, size_t> first;
    for (size_t i = 0; i < report_.sections.size(); ++i) {
      const LabelInfo& label = report_.sections[i];
      auto [it, inserted] = first.emplace(NormalizeName(label.name), i);
      if (inserted) continue;
      const LabelInfo& earlier = report_.sections[it->second];
      std::string what =
          earlier.name == label.name ? "is defined twice" : "duplicates `" + earlier.name + "`";
      Error(label.line, label.name,
            "`" + label.name + "` " + what + " (line " + std::to_string(earlier.line) +
                ") once case and separators are ignored");
    }
  }

  ParseReport report_;
  LabelInfo current_;
  bool in_section_ = false;
  int seen_[kFieldCount] = {};  // line of each field in the current section, 0 = absent
  int last_field_ = -1;         // the field an indented continuation line extends
};

}  // namespace

ParseReport ParseLabelsMarkdown(std::string_view text) { return Parser().Run(text); }

}  // namespace labelrun::labels
