#include "markdown.hpp"

#include <cstdio>

#include "text.hpp"

namespace labelrun::report::markdown {
namespace {

// One line of valid UTF-8, redacted, cut: see the header.
std::string OneLine(const Redactor& r, std::string_view s, size_t max_chars) {
  std::string spaced(s);
  for (char& c : spaced) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text::Ellipsize(r.Redact(text::CleanUtf8(spaced)), max_chars);
}

}  // namespace

std::string Code(const Redactor& r, std::string_view s, size_t max_chars, bool in_table) {
  const std::string clean = OneLine(r, s, max_chars);
  std::string out = "`";
  for (char c : clean) {
    if (c == '`') {
      out += '\'';
    } else if (c == '|' && in_table) {
      out += "\\|";
    } else {
      out += c;
    }
  }
  out += '`';
  if (out == "``") return "` `";
  return out;
}

std::string Prose(const Redactor& r, std::string_view s, size_t max_chars) {
  const std::string clean = OneLine(r, s, max_chars);
  std::string out;
  out.reserve(clean.size() + 8);
  for (char c : clean) {
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '<':
      case '>':
      case '|':
      case '#':
      case '~':
      case '!':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Destination(std::string_view url) {
  if (url.empty() || url.size() > 4096) return "";
  std::string out = "<";
  char buf[4];
  for (char c : url) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F || c == '<' || c == '>' || c == '\\') {
      std::snprintf(buf, sizeof buf, "%%%02X", b);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '>';
  return out;
}

size_t LongestBacktickRun(std::string_view s) {
  size_t best = 0, run = 0;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace labelrun::report::markdown
