#pragma once
// What the webhook endpoint decides for one request, without any I/O: the
// session reads the request, calls DecideWebhook, stores the record if there is
// one, and answers with StatusFor(outcome). Private to server/.

#include <optional>
#include <string>
#include <string_view>

#include "labelrun/server/metrics.hpp"
#include "labelrun/store/inbox.hpp"
#include "labelrun/webhook/signature.hpp"

namespace labelrun::server {

struct WebhookRequest {
  std::string_view content_type;
  std::string_view event;      // X-GitHub-Event
  std::string_view guid;       // X-GitHub-Delivery
  std::string_view signature;  // X-Hub-Signature-256
  std::string_view body;
  size_t body_capacity = 0;  // readable bytes at body.data(), for in-place parsing
};

struct WebhookDecision {
  Outcome outcome = Outcome::kBadRequest;
  std::string reason;  // the response body for errors; safe to log
  std::string action;
  std::string repository;
  std::optional<store::InboxRecord> record;  // store this, then answer
};

// Verifies the signature first (nothing else is parsed for an unsigned body),
// then checks headers and content type, then parses.
WebhookDecision DecideWebhook(const WebhookRequest& request,
                              const webhook::SignatureVerifier& verifier, int64_t now_ms,
                              bool keep_bodies);

// The one place HTTP status codes are chosen.
unsigned StatusFor(Outcome outcome);

}  // namespace labelrun::server
