#pragma once
// Small string helpers shared by every module.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace labelrun {

std::string_view Trim(std::string_view s);
std::vector<std::string_view> Split(std::string_view s, char sep);
std::string ToLower(std::string_view s);
bool IEquals(std::string_view a, std::string_view b);

// Lower-case hex of bytes.
std::string HexEncode(std::string_view bytes);
// Decodes hex (either case) into out; false on odd length or a non-hex digit.
bool HexDecode(std::string_view hex, std::string& out);

// Percent-encodes everything but unreserved characters (RFC 3986): a query
// value or a path segment.
std::string UrlEncode(std::string_view s);

// application/x-www-form-urlencoded: the decoded value of `name`, or nullopt if
// absent or badly escaped.
std::optional<std::string> FormValue(std::string_view form, std::string_view name);

// The first '\r' or '\n' at or after `from`, or npos: s.find_first_of("\r\n", from)
// at memchr's speed (find_first_of calls memchr on the set once per byte).
size_t FindLineBreak(std::string_view s, size_t from = 0);

// Levenshtein distance with adjacent transpositions (optimal string alignment).
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace labelrun
