#pragma once
// Private Markdown helpers for the comment: user-derived text made safe for a context.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "labelrun/report/redact.hpp"

namespace labelrun::report::markdown {

// Both clean first (one line: breaks and tabs become spaces; valid UTF-8, other controls
// dropped), then redact, then cut to max_chars characters, then escape: cleaning cannot
// join the pieces of a secret after redaction looked, nor a cut leave part of one.
//
// Inline code: backticks replaced by "'" so the span cannot end early; in a table, '|'
// is escaped too.
std::string Code(const Redactor& r, std::string_view s, size_t max_chars, bool in_table);
// Prose: Markdown and HTML punctuation backslash-escaped (mentions such as @alice kept).
std::string Prose(const Redactor& r, std::string_view s, size_t max_chars);
// A link destination: `<url>` with spaces, controls, non-ASCII bytes, '<', '>' and '\\'
// percent-encoded; empty
// when the URL is empty or longer than 4096 bytes.
std::string Destination(std::string_view url);
// The longest run of consecutive backticks in s.
size_t LongestBacktickRun(std::string_view s);
// 3 digits grouped: 1234567 -> "1,234,567".
std::string Grouped(uint64_t n);

}  // namespace labelrun::report::markdown
