#include "labelrun/report/log_tail.hpp"

#include <algorithm>

#include "text.hpp"

namespace labelrun::report {

LogTail::LogTail(Options options) : options_(options) {
  options_.max_lines = std::max<size_t>(1, options_.max_lines);
  options_.max_line_bytes = std::max<size_t>(16, options_.max_line_bytes);
  options_.max_bytes = std::max(options_.max_bytes, options_.max_line_bytes + 8);
  if (options_.redactor != nullptr) stream_.emplace(*options_.redactor);
}

std::string LogTail::Clean(std::string_view line) const {
  // What a terminal leaves: the last non-empty segment after '\r' redraws.
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (size_t cr = line.rfind('\r'); cr != std::string_view::npos) line = line.substr(cr + 1);
  std::string cleaned;
  if (line.size() > 4 * options_.max_line_bytes) line = line.substr(0, 4 * options_.max_line_bytes);
  if (text::HasEscape(line)) {
    cleaned = text::CleanUtf8(text::StripAnsi(line));
  } else {
    cleaned = text::CleanUtf8(line);
  }
  return cleaned;
}

std::string LogTail::Shown(const std::string& cleaned, bool advance) {
  std::string shown;
  if (!stream_) {
    shown = cleaned;
  } else if (advance) {
    shown = stream_->RedactLine(cleaned);
  } else {
    shown = stream_->PeekLine(cleaned);
  }
  if (shown.size() > options_.max_line_bytes) {
    std::string cut(text::TruncateUtf8(shown, options_.max_line_bytes - 4));
    cut += " …";
    return cut;
  }
  return shown;
}

void LogTail::Commit(std::string line) {
  ++total_;
  bytes_ += line.size();
  lines_.push_back(std::move(line));
  while (lines_.size() > options_.max_lines || bytes_ > options_.max_bytes) {
    bytes_ -= lines_.front().size();
    lines_.pop_front();
  }
}

void LogTail::AddLine(std::string_view line) {
  open_ = false;
  open_line_.clear();
  open_raw_.clear();
  std::string shown = Shown(Clean(line), /*advance=*/true);
  traceback_.AddLine(shown);
  Commit(std::move(shown));
}

void LogTail::Add(std::string_view text, LineEnd end) {
  if (end == LineEnd::kCarriageReturn) {
    if (text.empty()) return;
    std::string cleaned = Clean(text);
    if (cleaned.find_first_not_of(" \t") == std::string::npos) {
      // "\r" + spaces + "\r": the line cleared for what comes next.
      open_ = false;
      open_line_.clear();
      open_raw_.clear();
      return;
    }
    open_raw_ = std::move(cleaned);
    open_line_ = Shown(open_raw_, /*advance=*/false);
    open_ = true;
    return;
  }
  if (text.empty() && open_) {
    const std::string raw = std::move(open_raw_);
    open_ = false;
    open_line_.clear();
    open_raw_.clear();
    std::string shown = Shown(raw, /*advance=*/true);
    traceback_.AddLine(shown);
    Commit(std::move(shown));
    return;
  }
  AddLine(text);
}

void LogTail::AddStored(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
    // An empty redraw is what a bare '\r' leaves: nothing to show, nothing to clear.
    if (!line.empty()) Add(line, LineEnd::kCarriageReturn);
    return;
  }
  Add(line, LineEnd::kNewline);
}

std::vector<std::string> LogTail::Lines() const {
  std::vector<std::string> out(lines_.begin(), lines_.end());
  if (open_) out.push_back(open_line_);
  return out;
}

std::string LogTail::Text() const {
  std::string out;
  bool first = true;
  auto add = [&](const std::string& line) {
    if (!first) out += '\n';
    out += line;
    first = false;
  };
  for (const std::string& line : lines_) add(line);
  if (open_) add(open_line_);
  return out;
}

}  // namespace labelrun::report
