#pragma once
// Cuts a byte stream (a container's stdout or stderr, in chunks of any size) into lines.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace labelrun::report {

// How a piece of text handed out by LineBuffer ended.
enum class LineEnd {
  kNewline,  // '\n'
  // '\r': a progress bar redrawn in place; the next non-empty text replaces it. "text\r\n"
  // is "text" ending kCarriageReturn, then "" ending kNewline, which keeps "text".
  kCarriageReturn,
  kCut,          // longer than the limit: the rest follows as another piece
  kEndOfStream,  // Flush() handed out an unterminated last piece
};

// Not thread-safe; one per stream.
class LineBuffer {
 public:
  using Sink = std::function<void(std::string_view text, LineEnd end)>;
  static constexpr size_t kDefaultMaxLine = 64 * 1024;

  explicit LineBuffer(size_t max_line = kDefaultMaxLine) : max_line_(max_line ? max_line : 1) {}

  // Hands every complete piece of `chunk` (together with what earlier chunks left) to sink.
  // Memory stays under max_line bytes whatever the input.
  void Feed(std::string_view chunk, const Sink& sink);
  // Hands out what is left, if anything, as kEndOfStream.
  void Flush(const Sink& sink);

  size_t pending() const { return pending_.size(); }

 private:
  size_t max_line_;
  std::string pending_;
};

}  // namespace labelrun::report
