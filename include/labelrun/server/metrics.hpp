#pragma once
// Process metrics in Prometheus text format. Counters are relaxed atomics in
// fixed arrays: recording is a few nanoseconds and label sets stay bounded, so a
// sender cannot grow them (unknown events count as "other").

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "labelrun/store/inbox.hpp"

namespace labelrun::server {

// What became of a request. Webhook outcomes are counted per event.
enum class Outcome : uint8_t {
  kAccepted,          // stored, 202
  kDuplicate,         // GUID already stored, 200
  kPing,              // 200 pong
  kIgnored,           // verified, event not acted on, 200
  kBadSignature,      // 401
  kBadRequest,        // 400: missing headers, malformed JSON
  kTooLarge,          // 413
  kUnsupportedMedia,  // 415
  kUnavailable,       // 503: the inbox could not store it; or not ready
  // Replies outside the webhook endpoint.
  kOk,                // 200: health, metrics
  kNotFound,          // 404
  kMethodNotAllowed,  // 405
  kHeaderTooLarge,    // 431
  kUnauthorized,      // 401: /api and /jobs without a valid token or signed link
  kConflict,          // 409: e.g. cancelling a job that already ended
  kStarted,           // 202: e.g. a cancellation asked for, the job stops in the background
  kForbidden,         // 403: signed in, or a signed link, but not allowed this (CSRF, read-only)
  kSeeOther,          // 303: after a form post (login, logout, an action), to a page (Location)
  kCount
};

std::string_view OutcomeName(Outcome outcome);

class Metrics {
 public:
  static constexpr std::array<std::string_view, 8> kEvents = {
      "issues", "issue_comment", "pull_request", "installation", "installation_repositories",
      "ping",   "other",         "none"};

  // `event` is the X-GitHub-Event header value, possibly unverified or empty.
  void RecordDelivery(std::string_view event, Outcome outcome, double seconds);
  void ConnectionOpened() { connections_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionClosed() { connections_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  void ConnectionRejected() { rejected_.fetch_add(1, std::memory_order_relaxed); }

  // The whole exposition, including the inbox's counters.
  std::string Render(const store::InboxStats& inbox) const;

  // More metric families appended to every exposition (other modules' counters).
  // The function runs on an I/O thread: it must only read atomics.
  // REQUIRES: set before the server starts.
  void SetExtra(std::function<void(std::string&)> extra) { extra_ = std::move(extra); }

 private:
  static constexpr std::array<double, 14> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
  static size_t EventIndex(std::string_view event);

  std::array<std::array<std::atomic<uint64_t>, static_cast<size_t>(Outcome::kCount)>,
             kEvents.size()>
      deliveries_{};
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> latency_buckets_{};
  std::atomic<uint64_t> latency_count_{0};
  std::atomic<uint64_t> latency_sum_ns_{0};
  std::atomic<int64_t> connections_{0};
  std::atomic<uint64_t> rejected_{0};
  std::function<void(std::string&)> extra_;
};

}  // namespace labelrun::server
