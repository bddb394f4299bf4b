#pragma once
// A comment labelrun would have posted on an issue but kept because no GitHub
// App is configured (local mode): a refusal, a "did you mean" suggestion or a
// `/labelrun explain` answer. Job comments are kept with their job.

#include <cstdint>
#include <string>

namespace labelrun::app {

struct LocalComment {
  std::string repository;  // owner/name
  int64_t issue = 0;
  std::string cause;  // what the comment is about: "deny-train", "unknown_labels", "explain", ...
  std::string body;   // the markdown, redacted as for GitHub
  int64_t at_ms = 0;  // when it was last written (a second one of the same cause replaces it)
};

}  // namespace labelrun::app
