#include "server/webhook_handler.hpp"

#include "labelrun/webhook/digest.hpp"
#include "labelrun/webhook/parse.hpp"

namespace labelrun::server {
namespace {

constexpr size_t kMaxGuidBytes = 128;
constexpr size_t kMaxEventBytes = 64;

bool PrintableToken(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

WebhookDecision Reject(Outcome outcome, std::string reason) {
  WebhookDecision d;
  d.outcome = outcome;
  d.reason = std::move(reason);
  return d;
}

}  // namespace

WebhookDecision DecideWebhook(const WebhookRequest& request,
                              const webhook::SignatureVerifier& verifier, int64_t now_ms,
                              bool keep_bodies) {
  if (request.signature.empty()) {
    return Reject(Outcome::kBadSignature, "missing X-Hub-Signature-256");
  }
  if (!verifier.Verify(request.body, request.signature)) {
    return Reject(Outcome::kBadSignature, "X-Hub-Signature-256 does not match the body");
  }
  Result<webhook::BodyFormat> format = webhook::ClassifyContentType(request.content_type);
  if (!format) return Reject(Outcome::kUnsupportedMedia, format.error().message());
  if (request.event.empty()) return Reject(Outcome::kBadRequest, "missing X-GitHub-Event");
  if (request.guid.empty()) return Reject(Outcome::kBadRequest, "missing X-GitHub-Delivery");
  if (request.event.size() > kMaxEventBytes || !PrintableToken(request.event)) {
    return Reject(Outcome::kBadRequest, "invalid X-GitHub-Event");
  }
  if (request.guid.size() > kMaxGuidBytes || !PrintableToken(request.guid)) {
    return Reject(Outcome::kBadRequest, "invalid X-GitHub-Delivery");
  }

  std::string scratch;
  Result<std::string_view> json = webhook::ExtractJson(*format, request.body, scratch);
  if (!json) return Reject(Outcome::kBadRequest, json.error().message());
  size_t readable = *format == webhook::BodyFormat::kJson ? request.body_capacity : 0;
  Result<webhook::Event> event = webhook::ParseEvent(request.event, *json, readable);
  if (!event) return Reject(Outcome::kBadRequest, event.error().message());

  WebhookDecision d;
  d.action = std::string(webhook::ActionOf(*event));
  d.repository = std::string(webhook::RepositoryOf(*event));
  if (std::holds_alternative<webhook::PingEvent>(*event)) {
    d.outcome = Outcome::kPing;
    return d;
  }
  if (!webhook::IsActionable(*event)) {
    d.outcome = Outcome::kIgnored;
    return d;
  }
  d.outcome = Outcome::kAccepted;
  store::InboxRecord& r = d.record.emplace();
  r.guid = std::string(request.guid);
  r.event = std::string(request.event);
  r.action = d.action;
  r.repository = d.repository;
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_base_of_v<webhook::Envelope, T>) {
          r.installation_id = e.installation_id;
          r.sender = e.sender.login;
        }
      },
      *event);
  r.received_at_ms = now_ms;
  r.body_bytes = static_cast<int64_t>(request.body.size());
  r.digest = webhook::EncodeDigest(*event);
  if (keep_bodies) r.body = std::string(request.body);
  return d;
}

unsigned StatusFor(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAccepted:
      return 202;
    case Outcome::kDuplicate:
    case Outcome::kPing:
    case Outcome::kIgnored:
    case Outcome::kOk:
      return 200;
    case Outcome::kBadSignature:
      return 401;
    case Outcome::kBadRequest:
      return 400;
    case Outcome::kTooLarge:
      return 413;
    case Outcome::kUnsupportedMedia:
      return 415;
    case Outcome::kUnavailable:
      return 503;
    case Outcome::kNotFound:
      return 404;
    case Outcome::kMethodNotAllowed:
      return 405;
    case Outcome::kHeaderTooLarge:
      return 431;
    case Outcome::kUnauthorized:
      return 401;
    case Outcome::kConflict:
      return 409;
    case Outcome::kStarted:
      return 202;
    case Outcome::kForbidden:
      return 403;
    case Outcome::kSeeOther:
      return 303;
    case Outcome::kCount:
      break;
  }
  return 500;
}

}  // namespace labelrun::server
