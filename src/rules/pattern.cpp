#include "labelrun/rules/pattern.hpp"

namespace labelrun::rules {
namespace {

constexpr size_t kMaxPatternLength = 100;

bool IsPatternChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':' ||
         c == '*' || c == '?';
}

// Iterative glob match with one backtrack point: O(len(p) * len(s)) worst case.
bool GlobMatch(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0;
  size_t star = std::string_view::npos, star_si = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      star_si = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++star_si;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace

Result<Pattern> Pattern::Compile(std::string_view text) {
  if (text.empty()) return Unexpected(ErrorCode::kInvalidArgument, "the pattern is empty");
  if (text.size() > kMaxPatternLength) {
    return Unexpected(ErrorCode::kInvalidArgument, "the pattern is longer than 100 characters");
  }
  for (char c : text) {
    if (!IsPatternChar(c)) {
      return Unexpected(ErrorCode::kInvalidArgument,
                        "pattern '" + std::string(text) +
                            "' has a character other than a-z, 0-9, '-', '.', ':', '*', '?'");
    }
  }
  size_t stars = 0;
  bool question = false;
  for (char c : text) {
    stars += c == '*';
    question |= c == '?';
  }
  std::string owned(text);
  if (stars == 0 && !question) return Pattern(owned, Kind::kExact, owned);
  if (!question && stars == text.size()) return Pattern(owned, Kind::kAny, "");
  if (!question && stars == 1 && text.back() == '*') {
    return Pattern(owned, Kind::kPrefix, owned.substr(0, owned.size() - 1));
  }
  if (!question && stars == 1 && text.front() == '*') {
    return Pattern(owned, Kind::kSuffix, owned.substr(1));
  }
  return Pattern(owned, Kind::kGlob, "");
}

bool Pattern::Matches(std::string_view label) const {
  switch (kind_) {
    case Kind::kExact:
      return label == fixed_;
    case Kind::kPrefix:
      return label.starts_with(fixed_);
    case Kind::kSuffix:
      return label.ends_with(fixed_);
    case Kind::kAny:
      return true;
    case Kind::kGlob:
      return GlobMatch(text_, label);
  }
  return false;
}

}  // namespace labelrun::rules
