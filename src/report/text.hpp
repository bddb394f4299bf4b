#pragma once
// Private text helpers shared by the report/ renderers and parsers: ASCII classes,
// number scanning and formatting, UTF-8 hygiene, ANSI stripping, escaping.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace labelrun::report::text {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }
inline char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool IEqualsAscii(std::string_view a, std::string_view b);

constexpr size_t kNpos = std::string_view::npos;

// Scans a number starting at s[pos]: `[+-]? (digits [. digits] | . digits) [e[+-]digits]`,
// or `nan` / `inf` / `infinity` (any case, inf signed). A word must not go on after it
// ("inference" is not inf). Returns the index after the number, or kNpos.
size_t ScanNumber(std::string_view s, size_t pos, double& out);
// True when the whole of s (trimmed) is one number as ScanNumber reads it.
bool ParseWholeNumber(std::string_view s, double& out);

// Compact, 4 significant digits: "0.4123", "2.31", "5e-05", "1.235e+06", "nan", "inf".
std::string FormatValue(double v);
// Fixed-point, no exponent, about `significant` significant digits, trailing zeros
// trimmed: what Mermaid's number grammar accepts. REQUIRES: v finite.
std::string FormatFixed(double v, int significant = 4);
// Steps: integers without a decimal point, otherwise FormatValue.
std::string FormatStep(double step);

// Length as UTF-16 code units (an astral character counts 2, any byte of an invalid
// sequence counts 1).
size_t Utf16Units(std::string_view utf8);
// Valid UTF-8 with no control characters but tab: invalid sequences become U+FFFD,
// other C0 controls and DEL are dropped. Newlines are dropped too unless keep_newlines.
std::string CleanUtf8(std::string_view in, bool keep_newlines = false);
// The longest prefix of s of at most max_bytes that ends on a character boundary.
std::string_view TruncateUtf8(std::string_view s, size_t max_bytes);
// s cut to at most max_chars code points, with "…" appended when cut.
std::string Ellipsize(std::string_view s, size_t max_chars);

// True when s holds an ESC byte.
inline bool HasEscape(std::string_view s) { return s.find('\x1b') != kNpos; }
// Removes ANSI escape sequences: CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \)
// and two-byte escapes.
std::string StripAnsi(std::string_view s);

// "2025-03-01 14:05:09 UTC".
std::string FormatUtc(int64_t unix_ms);

// &, <, >, " and ' as entities: safe in HTML text and quoted attributes, and in SVG.
std::string HtmlEscape(std::string_view s);
void AppendHtmlEscaped(std::string_view s, std::string& out);

}  // namespace labelrun::report::text
