#include "labelrun/server/metrics.hpp"

#include <fmt/format.h>

namespace labelrun::server {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAccepted:
      return "accepted";
    case Outcome::kDuplicate:
      return "duplicate";
    case Outcome::kPing:
      return "ping";
    case Outcome::kIgnored:
      return "ignored";
    case Outcome::kBadSignature:
      return "bad_signature";
    case Outcome::kBadRequest:
      return "bad_request";
    case Outcome::kTooLarge:
      return "too_large";
    case Outcome::kUnsupportedMedia:
      return "unsupported_media_type";
    case Outcome::kUnavailable:
      return "unavailable";
    case Outcome::kOk:
      return "ok";
    case Outcome::kNotFound:
      return "not_found";
    case Outcome::kMethodNotAllowed:
      return "method_not_allowed";
    case Outcome::kHeaderTooLarge:
      return "header_too_large";
    case Outcome::kUnauthorized:
      return "unauthorized";
    case Outcome::kConflict:
      return "conflict";
    case Outcome::kStarted:
      return "started";
    case Outcome::kForbidden:
      return "forbidden";
    case Outcome::kSeeOther:
      return "see_other";
    case Outcome::kCount:
      break;
  }
  return "unknown";
}

size_t Metrics::EventIndex(std::string_view event) {
  if (event.empty()) return kEvents.size() - 1;
  for (size_t i = 0; i + 2 < kEvents.size(); ++i) {
    if (kEvents[i] == event) return i;
  }
  return kEvents.size() - 2;  // "other"
}

void Metrics::RecordDelivery(std::string_view event, Outcome outcome, double seconds) {
  deliveries_[EventIndex(event)][static_cast<size_t>(outcome)].fetch_add(1,
                                                                         std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  latency_buckets_[b].fetch_add(1, std::memory_order_relaxed);
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::string Metrics::Render(const store::InboxStats& inbox) const {
  auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  std::string out;
  out.reserve(8192);
  auto it = std::back_inserter(out);

  out += "# HELP labelrun_webhook_deliveries_total Webhook requests by event and outcome.\n";
  out += "# TYPE labelrun_webhook_deliveries_total counter\n";
  for (size_t e = 0; e < kEvents.size(); ++e) {
    for (size_t o = 0; o < static_cast<size_t>(Outcome::kCount); ++o) {
      uint64_t v = load(deliveries_[e][o]);
      if (v == 0) continue;
      fmt::format_to(it, "labelrun_webhook_deliveries_total{{event=\"{}\",outcome=\"{}\"}} {}\n",
                     kEvents[e], OutcomeName(static_cast<Outcome>(o)), v);
    }
  }
  uint64_t bad_signatures = 0;
  for (size_t e = 0; e < kEvents.size(); ++e) {
    bad_signatures += load(deliveries_[e][static_cast<size_t>(Outcome::kBadSignature)]);
  }
  out +=
      "# HELP labelrun_webhook_signature_failures_total Requests with a missing or wrong "
      "X-Hub-Signature-256.\n# TYPE labelrun_webhook_signature_failures_total counter\n";
  fmt::format_to(it, "labelrun_webhook_signature_failures_total {}\n", bad_signatures);

  out +=
      "# HELP labelrun_webhook_request_duration_seconds Time from request headers to "
      "response.\n# TYPE labelrun_webhook_request_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kBuckets.size(); ++b) {
    cumulative += load(latency_buckets_[b]);
    fmt::format_to(it, "labelrun_webhook_request_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                   kBuckets[b], cumulative);
  }
  cumulative += load(latency_buckets_[kBuckets.size()]);
  fmt::format_to(it, "labelrun_webhook_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n",
                 cumulative);
  fmt::format_to(it, "labelrun_webhook_request_duration_seconds_sum {:.6f}\n",
                 static_cast<double>(load(latency_sum_ns_)) / 1e9);
  fmt::format_to(it, "labelrun_webhook_request_duration_seconds_count {}\n", load(latency_count_));

  auto gauge = [&](std::string_view name, std::string_view help, std::string_view type,
                   auto value) {
    fmt::format_to(it, "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  gauge("labelrun_inbox_depth", "Deliveries stored and not yet processed.", "gauge",
        load(inbox.pending));
  gauge("labelrun_inbox_commits_total", "Group commits of the inbox.", "counter",
        load(inbox.commits));
  gauge("labelrun_inbox_stored_total", "Deliveries stored.", "counter", load(inbox.committed_rows));
  gauge("labelrun_inbox_commit_failures_total", "Inbox commits that failed.", "counter",
        load(inbox.commit_failures));
  gauge("labelrun_inbox_processed_total", "Deliveries processed.", "counter",
        load(inbox.processed));
  gauge("labelrun_inbox_process_failures_total", "Deliveries whose processing failed.", "counter",
        load(inbox.process_failures));
  gauge("labelrun_http_connections", "Open HTTP connections.", "gauge", load(connections_));
  gauge("labelrun_http_connections_rejected_total", "Connections closed at server.max_connections.",
        "counter", load(rejected_));
  if (extra_) extra_(out);
  return out;
}

}  // namespace labelrun::server
