#include "labelrun/report/line_buffer.hpp"

namespace labelrun::report {

void LineBuffer::Feed(std::string_view chunk, const Sink& sink) {
  size_t i = 0;
  while (i < chunk.size()) {
    const size_t stop = chunk.find_first_of("\r\n", i);
    const size_t end = stop == std::string_view::npos ? chunk.size() : stop;
    std::string_view piece = chunk.substr(i, end - i);
    // Fill up to the limit; a full buffer is handed out as a cut piece.
    while (!piece.empty()) {
      const size_t room = max_line_ - pending_.size();
      if (piece.size() < room || (piece.size() == room && stop != std::string_view::npos)) {
        pending_.append(piece);
        break;
      }
      // Cut on a character boundary when the input is UTF-8.
      size_t take = room;
      while (take > 0 && room - take < 3 &&
             (static_cast<unsigned char>(piece[take]) & 0xC0) == 0x80) {
        --take;
      }
      if (take == 0 || (static_cast<unsigned char>(piece[take]) & 0xC0) == 0x80) take = room;
      pending_.append(piece.substr(0, take));
      piece.remove_prefix(take);
      sink(pending_, LineEnd::kCut);
      pending_.clear();
    }
    if (stop == std::string_view::npos) return;
    sink(pending_, chunk[stop] == '\n' ? LineEnd::kNewline : LineEnd::kCarriageReturn);
    pending_.clear();
    i = stop + 1;
  }
}

void LineBuffer::Flush(const Sink& sink) {
  if (!pending_.empty()) sink(pending_, LineEnd::kEndOfStream);
  pending_.clear();
}

}  // namespace labelrun::report
