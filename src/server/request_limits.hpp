#pragma once
// Limits that hold across connections, and framing checks made on a request's
// header before its body is read. No Asio, no Beast: the session calls these.
// Private to server/.

#include <atomic>
#include <cstdint>
#include <string_view>

#include "labelrun/core/result.hpp"

namespace labelrun::server {

// The bytes of request bodies held in memory, all connections together.
// Thread-safe.
class BodyBudget {
 public:
  explicit BodyBudget(uint64_t limit) : limit_(limit) {}
  BodyBudget(const BodyBudget&) = delete;
  BodyBudget& operator=(const BodyBudget&) = delete;

  // Takes `bytes` from the budget; false (and nothing taken) when that would
  // pass the limit.
  bool TryTake(uint64_t bytes);
  void Give(uint64_t bytes);
  uint64_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> in_use_{0};
};

// One request's share of a BodyBudget, given back when it is destroyed.
class BodyReservation {
 public:
  explicit BodyReservation(BodyBudget& budget) : budget_(budget) {}
  ~BodyReservation() { budget_.Give(held_); }
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;

  // Holds at least `total` bytes: takes the difference from the budget when
  // `total` is more than is held now. False when the budget cannot give it
  // (what was held stays held).
  bool GrowTo(uint64_t total);
  uint64_t held() const { return held_; }

 private:
  BodyBudget& budget_;
  uint64_t held_ = 0;
};

// Checks a request's Transfer-Encoding header (its fields joined with ", ", as
// Beast gives them; "" when there is none). Only "chunked" is understood, so
// anything else — another coding, a coding before or after chunked, chunked
// twice, an empty element — is an error: the body's length cannot be known
// (RFC 9112 §6.3) and the connection must close. A Transfer-Encoding beside a
// Content-Length is an error too (a request smuggling vector, §6.1), as is one
// on an HTTP/1.0 request. `version` is 10 or 11.
Status CheckTransferEncoding(std::string_view transfer_encoding, bool has_content_length,
                             unsigned version);

}  // namespace labelrun::server
