#include "labelrun/rules/rule.hpp"

#include <algorithm>

#include "labelrun/core/strings.hpp"

namespace labelrun::rules {
namespace {

bool IsTagChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}
bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

Unexpected BadImage(std::string_view image, std::string_view why) {
  return Unexpected(ErrorCode::kInvalidArgument,
                    "image '" + std::string(image) + "' " + std::string(why));
}

}  // namespace

std::string_view OnNewCommitsName(OnNewCommits v) {
  return v == OnNewCommits::kKeep ? "keep" : "cancel";
}

std::string_view JobPriorityName(JobPriority p) {
  switch (p) {
    case JobPriority::kLow:
      return "low";
    case JobPriority::kNormal:
      return "normal";
    case JobPriority::kHigh:
      return "high";
  }
  return "normal";
}

Status CheckImagePinned(std::string_view image) {
  if (image.empty()) return BadImage(image, "is empty");
  if (image.size() > 512) return BadImage(image.substr(0, 64), "is longer than 512 characters");
  for (char c : image) {
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f) {
      return BadImage(image, "has a space or control character");
    }
  }
  size_t at = image.find('@');
  if (at != std::string_view::npos) {
    std::string_view digest = image.substr(at + 1);
    if (!digest.starts_with("sha256:") || digest.size() != 7 + 64 ||
        !std::all_of(digest.begin() + 7, digest.end(), IsLowerHex)) {
      return BadImage(image, "has a malformed digest; write @sha256:<64 hex digits>");
    }
    if (at == 0) return BadImage(image, "has no repository name");
    return Ok();
  }
  size_t slash = image.rfind('/');
  std::string_view last = slash == std::string_view::npos ? image : image.substr(slash + 1);
  size_t colon = last.rfind(':');
  if (colon == std::string_view::npos) return BadImage(image, "has no tag; pin a tag or digest");
  std::string_view tag = last.substr(colon + 1);
  if (colon == 0) return BadImage(image, "has no repository name");
  if (tag.empty() || tag.size() > 128 || tag.front() == '.' || tag.front() == '-' ||
      !std::all_of(tag.begin(), tag.end(), IsTagChar)) {
    return BadImage(image, "has a malformed tag");
  }
  if (tag == "latest") {
    return BadImage(image, "uses the moving tag 'latest'; pin a version tag or digest");
  }
  return Ok();
}

}  // namespace labelrun::rules
