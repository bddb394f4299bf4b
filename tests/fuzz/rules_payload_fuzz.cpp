// libFuzzer target: JSON text -> nlohmann -> EventFromPayload -> Evaluate, for the
// `simulate` path and the server's dispatch path. Never crashes or throws.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "labelrun/rules/decision.hpp"
#include "labelrun/rules/payload.hpp"
#include "labelrun/rules/rule_set.hpp"

using namespace labelrun;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  nlohmann::json payload = nlohmann::json::parse(data, data + size, nullptr, false);
  if (payload.is_discarded()) return 0;
  static const rules::RuleSet empty = rules::RuleSet::Build({}, {"status:blocked"}, nullptr);
  for (const char* event_name : {"issues", "issue_comment", "pull_request"}) {
    auto event = rules::EventFromPayload(event_name, payload, rules::Permission::kWrite);
    if (!event) continue;
    rules::Decision d = rules::Evaluate(empty, *event);
    if (d.reasons.empty()) std::abort();
  }
  return 0;
}
