#pragma once
// Checks shared by the report tests: a strict reader of the Mermaid blocks labelrun emits
// (following Mermaid's xychart grammar: numbers are [+-]?(\d+(\.\d+)?|\.\d+)), Markdown
// code fence balance, and a tag balance check for the SVG and HTML.

#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace labelrun::report::test {

inline size_t Count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

inline std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// True when s is one Mermaid NUMBER_WITH_DECIMAL; sets v.
inline bool MermaidNumber(std::string_view s, double& v) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t frac = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac;
    if (frac == 0) return false;
  } else if (digits == 0) {
    return false;
  }
  if (i != s.size()) return false;
  v = std::strtod(std::string(s).c_str(), nullptr);
  return std::isfinite(v);
}

struct MermaidFacts {
  bool ok = false;
  std::string problem;
  std::string palette;  // the plotColorPalette of the %%{init}%% line
  std::string x_title;
  // A numeric x axis has x_lo < x_hi; a categorical one lists its categories.
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
  std::vector<std::string> x_categories;
  std::vector<std::vector<double>> lines;
  std::vector<double> values;  // every line's values, one line after the other
  size_t points = 0;           // values per line (every line has as many)
};

inline bool Range(std::string_view rest, double& lo, double& hi) {
  const size_t arrow = rest.find(" --> ");
  return arrow != std::string_view::npos && MermaidNumber(rest.substr(0, arrow), lo) &&
         MermaidNumber(rest.substr(arrow + 5), hi);
}

// `["a", "b"]`: quoted categories without quotes, backslashes or newlines inside.
inline bool Categories(std::string_view rest, std::vector<std::string>& out) {
  if (rest.size() < 2 || rest.front() != '[' || rest.back() != ']') return false;
  rest = rest.substr(1, rest.size() - 2);
  size_t i = 0;
  while (i < rest.size()) {
    if (rest[i] != '"') return false;
    const size_t close = rest.find('"', i + 1);
    if (close == std::string_view::npos) return false;
    const std::string_view name = rest.substr(i + 1, close - i - 1);
    if (name.empty() || name.find('\\') != std::string_view::npos) return false;
    out.emplace_back(name);
    i = close + 1;
    if (i == rest.size()) break;
    if (rest.substr(i, 2) != ", ") return false;
    i += 2;
  }
  return !out.empty();
}

// Reads one ```mermaid block as MermaidCharts writes it (the whole of `block`).
inline MermaidFacts ParseMermaid(std::string_view block) {
  MermaidFacts f;
  std::vector<std::string> lines = Lines(block);
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  auto fail = [&](std::string why) {
    f.problem = std::move(why);
    return f;
  };
  if (lines.size() < 8)
    return fail("expected 8 lines or more, got " + std::to_string(lines.size()));
  const std::string init_prefix =
      "%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"";
  const std::string& init = lines[1];
  if (init.rfind(init_prefix, 0) != 0 || init.size() < init_prefix.size() + 7 ||
      init.substr(init.size() - 7) != "\"}}}}%%") {
    return fail("bad init: " + init);
  }
  f.palette = init.substr(init_prefix.size(), init.size() - 7 - init_prefix.size());
  if (lines[0] != "```mermaid" || lines[2] != "xychart-beta" || lines.back() != "```") {
    return fail("bad frame");
  }
  const std::string& title = lines[3];
  if (title.rfind("    title \"", 0) != 0 || title.back() != '"' ||
      title.find('"', 11) != title.size() - 1 || title.find("%%") != std::string::npos) {
    return fail("bad title: " + title);
  }
  const std::string x_prefix = "    x-axis \"";
  const size_t x_name_end = lines[4].find("\" ", x_prefix.size());
  if (lines[4].rfind(x_prefix, 0) != 0 || x_name_end == std::string::npos) {
    return fail("bad x-axis: " + lines[4]);
  }
  f.x_title = lines[4].substr(x_prefix.size(), x_name_end - x_prefix.size());
  const std::string_view x_rest = std::string_view(lines[4]).substr(x_name_end + 2);
  const bool categorical = !x_rest.empty() && x_rest.front() == '[';
  if (categorical ? !Categories(x_rest, f.x_categories) : !Range(x_rest, f.x_lo, f.x_hi)) {
    return fail("bad x-axis: " + lines[4]);
  }
  for (size_t i = 0; i < f.x_categories.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (f.x_categories[i] == f.x_categories[j]) return fail("category twice: " + lines[4]);
    }
  }
  const std::string y_prefix = "    y-axis \"";
  const size_t y_name_end = lines[5].find("\" ", y_prefix.size());
  if (lines[5].rfind(y_prefix, 0) != 0 || y_name_end == std::string::npos ||
      !Range(std::string_view(lines[5]).substr(y_name_end + 2), f.y_lo, f.y_hi)) {
    return fail("bad y-axis: " + lines[5]);
  }
  if ((!categorical && !(f.x_lo < f.x_hi)) || !(f.y_lo < f.y_hi)) {
    return fail("empty axis range");
  }
  for (size_t n = 6; n + 1 < lines.size(); ++n) {
    const std::string& line = lines[n];
    if (line.rfind("    line [", 0) != 0 || line.back() != ']') return fail("bad line: " + line);
    std::string_view list = std::string_view(line).substr(10, line.size() - 11);
    f.lines.emplace_back();
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(", ", start);
      if (comma == std::string_view::npos) comma = list.size();
      double v = 0;
      if (!MermaidNumber(list.substr(start, comma - start), v)) {
        return fail("bad number: " + std::string(list.substr(start, comma - start)));
      }
      if (v < f.y_lo || v > f.y_hi) return fail("value outside the y range");
      f.lines.back().push_back(v);
      f.values.push_back(v);
      start = comma + 2;
    }
    if (f.lines.back().size() < 2) return fail("a line of fewer than 2 values");
    if (f.lines.back().size() != f.lines.front().size()) return fail("lines differ in length");
    if (categorical && f.lines.back().size() != f.x_categories.size()) {
      return fail("values and categories differ in number");
    }
  }
  if (f.lines.empty()) return fail("no line");
  f.points = f.lines.front().size();
  f.ok = true;
  return f;
}

// Every ```mermaid block of a Markdown body: fenced blocks that open with the line
// "```mermaid" outside any other fence (the same text inside the log's fence is log text).
inline std::vector<std::string> MermaidBlocks(std::string_view body) {
  std::vector<std::string> out;
  size_t fence = 0;  // length of the open fence, 0 when outside
  bool mermaid = false;
  for (const std::string& line : Lines(body)) {
    size_t run = 0;
    while (run < line.size() && line[run] == '`') ++run;
    if (fence == 0) {
      if (run >= 3) {
        fence = run;
        mermaid = line == "```mermaid";
        if (mermaid) out.push_back(line + "\n");
      }
      continue;
    }
    if (mermaid) out.back() += line + "\n";
    if (run >= fence && line.find_first_not_of('`') == std::string::npos) fence = 0;
  }
  return out;
}

// Empty when every fenced code block in the body closes, and no line inside one could end
// it: no line inside starts (after up to three spaces) with a backtick run as long as the
// fence. Otherwise what is wrong.
inline std::string FenceProblem(std::string_view body) {
  size_t fence = 0;  // length of the open fence, 0 when outside
  size_t line_no = 0;
  for (const std::string& line : Lines(body)) {
    ++line_no;
    size_t indent = 0;
    while (indent < line.size() && indent < 4 && line[indent] == ' ') ++indent;
    size_t run = 0;
    while (indent + run < line.size() && line[indent + run] == '`') ++run;
    if (fence == 0) {
      if (indent <= 3 && run >= 3) fence = run;
      continue;
    }
    if (indent <= 3 && run >= fence) {
      if (line.find_first_not_of(' ', indent + run) != std::string::npos) {
        return "line " + std::to_string(line_no) + " inside a fence starts with " +
               std::to_string(run) + " backticks";
      }
      fence = 0;
    }
  }
  return fence == 0 ? "" : "a code fence is never closed";
}

// True when the start and end tags nest properly. Knows HTML's void elements, comments,
// the doctype, self-closing tags, and raw text in <script> and <style>.
inline bool TagsBalanced(std::string_view doc, std::string* why = nullptr) {
  static const std::vector<std::string> kVoid = {"meta", "link", "br", "img", "input", "hr"};
  std::vector<std::string> stack;
  size_t i = 0;
  auto fail = [&](std::string msg) {
    if (why) *why = std::move(msg);
    return false;
  };
  while ((i = doc.find('<', i)) != std::string_view::npos) {
    if (doc.substr(i, 4) == "<!--") {
      i = doc.find("-->", i);
      if (i == std::string_view::npos) return fail("open comment");
      continue;
    }
    const size_t close = doc.find('>', i);
    if (close == std::string_view::npos) return fail("unterminated tag");
    std::string_view tag = doc.substr(i + 1, close - i - 1);
    i = close + 1;
    if (tag.empty() || tag[0] == '!') continue;
    const bool end = tag[0] == '/';
    if (end) tag.remove_prefix(1);
    size_t name_end = 0;
    while (name_end < tag.size() && tag[name_end] != ' ' && tag[name_end] != '/' &&
           tag[name_end] != '\n') {
      ++name_end;
    }
    const std::string name(tag.substr(0, name_end));
    if (end) {
      if (stack.empty() || stack.back() != name) return fail("unexpected </" + name + ">");
      stack.pop_back();
      continue;
    }
    if (tag.back() == '/') continue;
    bool is_void = false;
    for (const std::string& v : kVoid) is_void |= v == name;
    if (is_void) continue;
    if (name == "script" || name == "style") {
      const size_t raw_end = doc.find("</" + name + ">", i);
      if (raw_end == std::string_view::npos) return fail("open " + name);
      i = raw_end + name.size() + 3;
      continue;
    }
    stack.push_back(name);
  }
  if (!stack.empty()) return fail("unclosed <" + stack.back() + ">");
  return true;
}

}  // namespace labelrun::report::test

namespace labelrun::report::test {

// True when s is valid UTF-8 (shortest forms, no surrogates).
inline bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace labelrun::report::test
