#include "labelrun/report/log_tail.hpp"

#include <algorithm>

#include "text.hpp"

namespace labelrun::report {

LogTail::LogTail(Options options) : options_(options) {
  options_.max_lines = std::max<size_t>(1, options_.max_lines);
  options_.max_line_bytes = std::max<size_t>(16, options_.max_line_bytes);
  options_.max_bytes = std::max(options_.max_bytes, options_.max_line_bytes + 8);
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
  if (options_.redactor != nullptr) cleaned = options_.redactor->Redact(cleaned);
  if (cleaned.size() > options_.max_line_bytes) {
    std::string cut(text::TruncateUtf8(cleaned, options_.max_line_bytes - 4));
    cut += " …";
    return cut;
  }
  return cleaned;
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
  Commit(Clean(line));
}

void LogTail::Add(std::string_view text, LineEnd end) {
  if (end == LineEnd::kCarriageReturn) {
    if (text.empty()) return;
    open_line_ = Clean(text);
    open_ = true;
    return;
  }
  if (text.empty() && open_) {
    std::string line = std::move(open_line_);
    open_ = false;
    open_line_.clear();
    Commit(std::move(line));
    return;
  }
  AddLine(text);
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
