#pragma once
// What one issue received from labelrun, read back from the loopback GitHub's
// request log (tests/support/fake_github.hpp), and a check that a job's comment
// and status labels tell its story in order.

#include <cstdint>
#include <string>
#include <vector>

#include "support/fake_github.hpp"

namespace labelrun::testing {

struct IssueWrite {
  enum class Kind { kCommentCreate, kCommentEdit, kAddLabels, kRemoveLabel };
  Kind kind = Kind::kCommentCreate;
  std::string state;                // comments: the state word of the status line
  std::vector<std::string> labels;  // added labels, or the one removed
  long status = 0;
  int64_t at_unix_ms = 0;
};

// The job comment (bodies with a labelrun:job marker) and label writes to
// `repo` issue `issue`, in the order the server received them.
std::vector<IssueWrite> IssueWrites(const std::vector<FakeRequest>& requests,
                                    const std::string& repo, int64_t issue);
// One line per write, with its time after `t0_unix_ms`.
std::string DescribeWrites(const std::vector<IssueWrite>& writes, int64_t t0_unix_ms = 0);
// The states the comment showed, in order, each once ("Queued", "Running", ...);
// "Pulling the image" and "Starting" are left out.
std::vector<std::string> CommentStates(const std::vector<IssueWrite>& writes);

// "" when the writes tell one job's story as a maintainer should read it;
// otherwise what is wrong:
//   - the comment is created once, then edited, and shows Queued, Running and
//     `final_state` in that order, each state as its own edit;
//   - a status label is added only after the edit that shows its state and
//     before the next state's edit (a finished job never gains
//     status:in-progress), and the last one added is the final state's;
//   - no status label write was refused (no DELETE of a label not there).
std::string CheckJobTimeline(const std::vector<IssueWrite>& writes, const std::string& final_state);

}  // namespace labelrun::testing
