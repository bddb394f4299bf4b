#include "server/request_limits.hpp"

#include <string>

namespace labelrun::server {

bool BodyBudget::TryTake(uint64_t bytes) {
  uint64_t now = in_use_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ || now > limit_ - bytes) return false;
  } while (!in_use_.compare_exchange_weak(now, now + bytes, std::memory_order_relaxed));
  return true;
}

void BodyBudget::Give(uint64_t bytes) { in_use_.fetch_sub(bytes, std::memory_order_relaxed); }

bool BodyReservation::GrowTo(uint64_t total) {
  if (total <= held_) return true;
  if (!budget_.TryTake(total - held_)) return false;
  held_ = total;
  return true;
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsChunked(std::string_view s) {
  constexpr std::string_view kChunked = "chunked";
  if (s.size() != kChunked.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] | 0x20) != kChunked[i]) return false;
  }
  return true;
}

}  // namespace

Status CheckTransferEncoding(std::string_view transfer_encoding, bool has_content_length,
                             unsigned version) {
  if (transfer_encoding.empty()) return Ok();
  if (version < 11) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "Transfer-Encoding is not allowed on an HTTP/1.0 request");
  }
  if (has_content_length) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "Transfer-Encoding and Content-Length together: the body's length is "
                      "ambiguous");
  }
  // One coding, and that one chunked: "gzip, chunked", "chunked, chunked",
  // "xchunked" all leave a body that labelrun cannot read as sent.
  if (transfer_encoding.find(',') != std::string_view::npos ||
      !IsChunked(Trim(transfer_encoding))) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "unsupported Transfer-Encoding: only \"chunked\" is accepted");
  }
  return Ok();
}

}  // namespace labelrun::server
