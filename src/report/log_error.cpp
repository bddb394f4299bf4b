#include "labelrun/report/log_error.hpp"

#include "text.hpp"

namespace labelrun::report {
namespace {

constexpr std::string_view kTracebackHeader = "Traceback (most recent call last):";
// "  File ..." + source line + carets (Python 3.11+), and room for one more.
constexpr size_t kMaxFrameLines = 4;
// A prefix longer than this is not a per-line tag such as "[rank0]: ".
constexpr size_t kMaxPrefixBytes = 64;
constexpr size_t kMaxTypeBytes = 200;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (text::IsBlank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string Cut(std::string_view line) {
  return std::string(text::TruncateUtf8(line, TracebackFinder::kMaxLineBytes));
}

// "pkg.module.SomeError: message", "SomeError:" or "SomeError" alone.
bool ParseExceptionLine(std::string_view line, std::string_view& type, std::string_view& message) {
  size_t i = 0;
  while (i < line.size() && i <= kMaxTypeBytes &&
         (text::IsAlnum(line[i]) || line[i] == '_' || line[i] == '.')) {
    ++i;
  }
  if (i == 0 || i > kMaxTypeBytes || text::IsDigit(line[0]) || line[0] == '.' ||
      line[i - 1] == '.') {
    return false;
  }
  type = line.substr(0, i);
  // A class name: "loss: 0.41" printed by the program in between is not an exception.
  const size_t dot = type.rfind('.');
  const char first = type[dot == std::string_view::npos ? 0 : dot + 1];
  if (first < 'A' || first > 'Z') return false;
  if (i == line.size()) {
    message = {};
    return true;
  }
  if (line[i] != ':') return false;
  message = line.substr(i + 1);
  while (!message.empty() && text::IsBlank(message.front())) message.remove_prefix(1);
  return true;
}

std::string FirstSentence(std::string_view message) {
  const size_t stop = message.find(". ");
  if (stop != std::string_view::npos) return std::string(message.substr(0, stop));
  if (!message.empty() && message.back() == '.') message.remove_suffix(1);
  return std::string(message);
}

}  // namespace

void TracebackFinder::Abandon() {
  in_traceback_ = false;
  skipped_ = 0;
  prefix_.clear();
  frame_.clear();
}

void TracebackFinder::AddLine(std::string_view line) {
  line = TrimRight(line);
  if (last_) ++last_->lines_after;
  const size_t at = line.find(kTracebackHeader);
  if (at != std::string_view::npos && at + kTracebackHeader.size() == line.size() &&
      at <= kMaxPrefixBytes) {
    in_traceback_ = true;
    skipped_ = 0;
    prefix_ = std::string(line.substr(0, at));
    frame_.clear();
    return;
  }
  if (!in_traceback_) return;
  // Lines of other writers come in between: the program's stdout (Docker orders the two
  // streams only roughly), another process without the prefix. A few are skipped.
  auto skip = [&] {
    if (++skipped_ > kMaxLinesBetween) Abandon();
  };
  if (!StartsWith(line, prefix_)) return skip();
  const std::string_view body = line.substr(prefix_.size());
  if (body.empty()) return skip();
  if (text::IsBlank(body.front())) {
    std::string_view trimmed = body;
    while (!trimmed.empty() && text::IsBlank(trimmed.front())) trimmed.remove_prefix(1);
    if (StartsWith(trimmed, "File \"")) frame_.clear();
    if (frame_.size() < kMaxFrameLines) frame_.push_back(Cut(body));
    return;
  }
  std::string_view type;
  std::string_view message;
  if (!ParseExceptionLine(body, type, message)) return skip();
  if (type == "KeyboardInterrupt") {
    // A stop (Ctrl-C, SIGINT) rather than an error of the program's own.
    last_.reset();
  } else {
    LogError error;
    error.type = std::string(type);
    error.message = Cut(message);
    error.lines.assign(frame_.begin(), frame_.end());
    error.lines.push_back(Cut(body));
    last_ = std::move(error);
  }
  Abandon();
}

std::optional<LogError> TracebackFinder::Last() const {
  if (!last_ || last_->lines_after > kMaxLinesAfter) return std::nullopt;
  return last_;
}

std::string ErrorSummary(const LogError& error, const Redactor& redactor) {
  const std::string_view type = error.type;
  const std::string_view message = error.message;
  std::string words;
  if ((EndsWith(type, "OutOfMemoryError") && StartsWith(message, "CUDA out of memory")) ||
      (type == "RuntimeError" && (StartsWith(message, "CUDA error: out of memory") ||
                                  StartsWith(message, "CUDA out of memory")))) {
    words = "CUDA out of memory";
  } else if (type == "MemoryError") {
    words = "out of memory";
  } else if (type == "ModuleNotFoundError" && StartsWith(message, "No module named ")) {
    words = "Python module " + std::string(message.substr(16)) + " is not installed";
  } else if (type == "FileNotFoundError" &&
             message.find("No such file or directory: ") != std::string_view::npos) {
    constexpr std::string_view kNoSuchFile = "No such file or directory: ";
    words = "file not found: " +
            std::string(message.substr(message.find(kNoSuchFile) + kNoSuchFile.size()));
  } else {
    words = FirstSentence(message);
  }
  const std::string shown_type =
      text::Ellipsize(redactor.Redact(text::CleanUtf8(type)), kMaxSummaryChars);
  if (words.empty()) return shown_type;
  return text::Ellipsize(redactor.Redact(text::CleanUtf8(words)), kMaxSummaryChars) + " (" +
         shown_type + ")";
}

}  // namespace labelrun::report
