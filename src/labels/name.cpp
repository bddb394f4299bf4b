#include "labelrun/labels/name.hpp"

#include <array>

#include "labelrun/core/strings.hpp"

namespace labelrun::labels {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsNameChar(char c) { return IsLowerAlnum(c) || c == '-' || c == '.'; }

// Checks one side of the ':'; returns a problem or empty.
std::string PartProblem(std::string_view part, std::string_view which) {
  if (part.empty()) return std::string(which) + " is empty";
  if (!IsLowerAlnum(part.front())) {
    return std::string(which) + " must start with a lower-case letter or digit";
  }
  for (char c : part) {
    if (!IsNameChar(c)) {
      return std::string(which) + " has a character other than a-z, 0-9, '-' or '.'";
    }
  }
  return {};
}

constexpr std::array<std::string_view, 15> kVagueNames = {
    "bug",  "help",     "urgent",  "wip",     "todo",        "important", "question", "fix",
    "misc", "critical", "blocker", "feature", "enhancement", "later",     "asap"};

}  // namespace

bool IsValidName(std::string_view name) { return NameProblem(name).empty(); }

std::string NameProblem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.size() > kMaxLabelLength) {
    return "the name is longer than " + std::to_string(kMaxLabelLength) + " characters";
  }
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') return "the name has upper-case letters; labels are all lower case";
  }
  size_t colon = name.find(':');
  if (colon == std::string_view::npos) {
    return "the name has no category; write it as `category:key`";
  }
  if (name.find(':', colon + 1) != std::string_view::npos) {
    return "the name has more than one ':'";
  }
  std::string problem = PartProblem(name.substr(0, colon), "the category");
  if (!problem.empty()) return problem;
  return PartProblem(name.substr(colon + 1), "the key");
}

bool IsVagueName(std::string_view name) {
  if (name.find(':') != std::string_view::npos) return false;
  for (std::string_view vague : kVagueNames) {
    if (IEquals(name, vague)) return true;
  }
  return false;
}

std::string NormalizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == ':' || c == '-' || c == '_' || c == '.' || c == '/' || c == ' ') continue;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(c);
  }
  return out;
}

std::string_view CategoryOf(std::string_view name) { return name.substr(0, name.find(':')); }

std::string_view KeyOf(std::string_view name) {
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? std::string_view() : name.substr(colon + 1);
}

}  // namespace labelrun::labels
