#pragma once
// The error a job's log ends in: its last Python traceback, named in words a maintainer
// understands ("CUDA out of memory (torch.OutOfMemoryError)").

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/report/redact.hpp"

namespace labelrun::report {

struct LogError {
  std::string type;     // as printed: "torch.OutOfMemoryError", "ValueError"
  std::string message;  // the exception line after "Type: ", as printed; may be empty
  // The last frame ("  File \"train.py\", line 9, in step", its source line, any carets
  // under it) and the exception line, as printed, oldest first; at most a few lines.
  std::vector<std::string> lines;
  // Lines of the log after the exception line. A traceback followed by much more log was
  // handled (printed and carried on from), so it does not name the failure.
  size_t lines_after = 0;
};

// Finds the last Python traceback in a log, line by line: "Traceback (most recent call
// last):", indented frame lines, then the unindented exception line ("SomeError: text").
// Lines may carry a common prefix (torchrun's "[rank0]: "): the prefix of the Traceback
// line is expected, and dropped, on the lines that follow. Up to kMaxLinesBetween lines
// that fit no traceback (without the prefix, or unindented and not "ClassName: ...") are
// skipped: the program's stdout lands in between its stderr traceback in Docker's log. A
// KeyboardInterrupt is not an error: it forgets the traceback before it. Not thread-safe; memory is
// bounded whatever the input (a few frame lines of at most kMaxLineBytes each).
class TracebackFinder {
 public:
  static constexpr size_t kMaxLineBytes = 2048;
  // A traceback followed by more lines than this is no longer "what the log ends in".
  static constexpr size_t kMaxLinesAfter = 40;
  // Lines of other writers skipped inside one traceback before it is given up.
  static constexpr size_t kMaxLinesBetween = 20;

  // One complete line of the log, without its line end, cleaned as the log tail shows it.
  void AddLine(std::string_view line);
  // The last exception seen, if no more than kMaxLinesAfter lines followed it.
  std::optional<LogError> Last() const;

 private:
  void Abandon();

  bool in_traceback_ = false;
  size_t skipped_ = 0;
  std::string prefix_;
  std::deque<std::string> frame_;  // the lines of the last "File" frame so far
  std::optional<LogError> last_;
};

// The failure in a few words, with the exception's type: "CUDA out of memory
// (torch.OutOfMemoryError)", "Python module 'wandb' is not installed (ModuleNotFoundError)".
// Known kinds get plain words; anything else is the message's first sentence, redacted,
// then cut to at most kMaxSummaryChars characters; an exception without a message is its
// type alone. Plain text: the caller escapes it for where it goes.
inline constexpr size_t kMaxSummaryChars = 100;
std::string ErrorSummary(const LogError& error, const Redactor& redactor);

}  // namespace labelrun::report
