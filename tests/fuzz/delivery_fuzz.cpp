// libFuzzer target for the delivery path: content type, form decoding, event
// parsing, and the digest round trip. The first byte picks the event name.
//
// Invariants checked beyond "no crash": a parsed actionable event survives
// EncodeDigest -> DecodeDigest unchanged.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "labelrun/webhook/digest.hpp"
#include "labelrun/webhook/parse.hpp"

namespace {

constexpr std::string_view kEvents[] = {
    "issues", "issue_comment", "pull_request", "installation", "installation_repositories",
    "ping",   "star",          "push"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace labelrun::webhook;
  if (size < 1) return 0;
  std::string_view event = kEvents[data[0] % std::size(kEvents)];
  bool form = (data[0] & 0x80) != 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  std::string scratch;
  auto json = ExtractJson(form ? BodyFormat::kForm : BodyFormat::kJson, body, scratch);
  if (!json) return 0;
  auto parsed = ParseEvent(event, *json);
  if (!parsed || !IsActionable(*parsed)) return 0;
  std::string digest = EncodeDigest(*parsed);
  auto back = DecodeDigest(event, digest);
  if (!back || !(*back == *parsed)) std::abort();
  return 0;
}
