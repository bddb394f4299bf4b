#include "text.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>

namespace labelrun::report::text {
namespace {

// Decodes one UTF-8 character at s[i]; returns its length (1-4) and sets cp, or 0 when the
// bytes there are not a valid, shortest-form encoding of a scalar value.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t& cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

int64_t DaysToCivil(int64_t z, int& month, int& day) {
  // Howard Hinnant's civil_from_days.
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return month <= 2 ? y + 1 : y;
}

}  // namespace

bool IEqualsAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

size_t ScanNumber(std::string_view s, size_t pos, double& out) {
  const size_t n = s.size();
  size_t i = pos;
  bool negative = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  if (i < n && IsAlpha(s[i])) {
    size_t end = i;
    while (end < n && IsAlpha(s[end])) ++end;
    if (end < n && (IsDigit(s[end]) || s[end] == '_')) return kNpos;
    std::string_view word = s.substr(i, end - i);
    if (IEqualsAscii(word, "nan")) {
      out = std::numeric_limits<double>::quiet_NaN();
      return end;
    }
    if (IEqualsAscii(word, "inf") || IEqualsAscii(word, "infinity")) {
      out = negative ? -std::numeric_limits<double>::infinity()
                     : std::numeric_limits<double>::infinity();
      return end;
    }
    return kNpos;
  }
  const size_t mantissa = i;
  size_t int_digits = 0;
  while (i < n && IsDigit(s[i])) ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i + 1 < n && s[i] == '.' && IsDigit(s[i + 1])) {
    ++i;
    while (i < n && IsDigit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return kNpos;
  bool negative_exponent = false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < n && (s[j] == '+' || s[j] == '-')) negative_exponent = s[j++] == '-';
    if (j < n && IsDigit(s[j])) {
      while (j < n && IsDigit(s[j])) ++j;
      i = j;
    } else {
      negative_exponent = false;
    }
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data() + mantissa, s.data() + i, value);
  if (ec == std::errc::result_out_of_range) {
    value = negative_exponent ? 0.0 : std::numeric_limits<double>::infinity();
  } else if (ec != std::errc() || ptr != s.data() + i) {
    return kNpos;
  }
  out = negative ? -value : value;
  return i;
}

bool ParseWholeNumber(std::string_view s, double& out) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  if (s.empty()) return false;
  return ScanNumber(s, 0, out) == s.size();
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const double mag = std::fabs(v);
  if (mag >= 1e4 && mag < 1e9) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(std::llround(v)));
    return buf;
  }
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 4);
  if (ec != std::errc()) return "?";
  return std::string(buf, ptr);
}

std::string FormatFixed(double v, int significant) {
  if (!std::isfinite(v) || v == 0) return "0";
  const int exponent = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  int decimals = significant - 1 - exponent;
  if (decimals < 0) decimals = 0;
  if (decimals > 20) decimals = 20;
  char buf[400];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  if (ec != std::errc()) return "0";
  std::string out(buf, ptr);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

std::string FormatStep(double step) {
  if (std::isfinite(step) && std::fabs(step) < 1e15 && step == std::floor(step)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(step));
    return buf;
  }
  if (!std::isfinite(step)) return FormatValue(step);
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, step, std::chars_format::general, 6);
  if (ec != std::errc()) return "?";
  return std::string(buf, ptr);
}

size_t Utf16Units(std::string_view utf8) {
  size_t units = 0;
  size_t i = 0;
  while (i < utf8.size()) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(utf8, i, cp);
    if (len == 0) {
      ++units;
      ++i;
      continue;
    }
    units += cp >= 0x10000 ? 2 : 1;
    i += len;
  }
  return units;
}

std::string CleanUtf8(std::string_view in, bool keep_newlines) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(in, i, cp);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    const bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0);
    if (!control || cp == '\t' || (keep_newlines && cp == '\n')) out.append(in.substr(i, len));
    i += len;
  }
  return out;
}

std::string_view TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::string Ellipsize(std::string_view s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (chars == max_chars) return std::string(s.substr(0, i)) + "…";
    ++chars;
  }
  return std::string(s);
}

std::string StripAnsi(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (s[i] != '\x1b') {
      out += s[i++];
      continue;
    }
    if (i + 1 >= n) break;
    const char kind = s[i + 1];
    i += 2;
    if (kind == '[') {
      while (i < n && static_cast<unsigned char>(s[i]) >= 0x20 &&
             static_cast<unsigned char>(s[i]) <= 0x3F) {
        ++i;
      }
      while (i < n && static_cast<unsigned char>(s[i]) >= 0x20 &&
             static_cast<unsigned char>(s[i]) <= 0x2F) {
        ++i;
      }
      if (i < n && static_cast<unsigned char>(s[i]) >= 0x40 &&
          static_cast<unsigned char>(s[i]) <= 0x7E) {
        ++i;
      }
    } else if (kind == ']') {
      while (i < n && s[i] != '\x07' && !(s[i] == '\x1b' && i + 1 < n && s[i + 1] == '\\')) ++i;
      if (i < n) i += s[i] == '\x07' ? 1 : 2;
    } else if (kind == '(' || kind == ')') {
      if (i < n) ++i;
    }
  }
  return out;
}

std::string FormatUtc(int64_t unix_ms) {
  int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int month = 0, day = 0;
  int64_t year = DaysToCivil(days, month, day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d %02lld:%02lld:%02lld UTC",
                static_cast<long long>(year), month, day, static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  return buf;
}

void AppendHtmlEscaped(std::string_view s, std::string& out) {
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  AppendHtmlEscaped(s, out);
  return out;
}

}  // namespace labelrun::report::text
