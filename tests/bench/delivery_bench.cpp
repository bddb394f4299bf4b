// CPU cost of the delivery hot path, against baselines measured in the same
// run: HMAC-SHA256 alone, and a full nlohmann parse of the same body (what the
// path must not do). Run: build/release/delivery_bench
//
// Input: the issues.labeled example of @octokit/webhooks-examples
// (tests/support/node_modules, installed by scripts/test.sh), or a synthetic
// 12 KB payload when it is absent.

#include <benchmark/benchmark.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "labelrun/webhook/digest.hpp"
#include "labelrun/webhook/parse.hpp"
#include "labelrun/webhook/signature.hpp"
#include "server/webhook_handler.hpp"

namespace {

std::string LabeledBody() {
  std::ifstream in(std::string(LABELRUN_SOURCE_DIR) +
                   "/tests/support/node_modules/@octokit/webhooks-examples/api.github.com/"
                   "index.json");
  if (in) {
    for (const auto& group : nlohmann::json::parse(in)) {
      if (group.at("name") != "issues") continue;
      for (const auto& ex : group.at("examples")) {
        if (ex.value("action", "") == "labeled") return ex.dump();
      }
    }
  }
  nlohmann::json j = {{"action", "labeled"},
                      {"label", {{"name", "gpu:required"}}},
                      {"issue",
                       {{"number", 1},
                        {"state", "open"},
                        {"body", std::string(11000, 'x')},
                        {"labels", nlohmann::json::array({{{"name", "gpu:required"}}})}}},
                      {"repository", {{"id", 1}, {"full_name", "a/b"}}},
                      {"sender", {{"login", "alice"}}}};
  return j.dump();
}

const std::string& Body() {
  static const std::string body = LabeledBody();
  return body;
}

constexpr const char* kSecret = "bench-secret";

void BM_Baseline_Hmac(benchmark::State& state) {
  labelrun::webhook::SignatureVerifier verifier({kSecret});
  std::string sig = labelrun::webhook::SignBody(kSecret, Body());
  for (auto _ : state) benchmark::DoNotOptimize(verifier.Verify(Body(), sig));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Body().size()));
}
BENCHMARK(BM_Baseline_Hmac);

void BM_Baseline_NlohmannFullParse(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(nlohmann::json::parse(Body()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Body().size()));
}
BENCHMARK(BM_Baseline_NlohmannFullParse);

void BM_ParseEvent(benchmark::State& state) {
  std::string padded = Body();
  padded.reserve(padded.size() + 64);
  for (auto _ : state) {
    benchmark::DoNotOptimize(labelrun::webhook::ParseEvent("issues", padded, padded.capacity()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Body().size()));
}
BENCHMARK(BM_ParseEvent);

// Everything the I/O thread does for a delivery between reading the body and
// handing the record to the inbox: signature, parse, digest.
void BM_DecideWebhook(benchmark::State& state) {
  labelrun::webhook::SignatureVerifier verifier({kSecret});
  std::string sig = labelrun::webhook::SignBody(kSecret, Body());
  std::string padded = Body();
  padded.reserve(padded.size() + 64);
  for (auto _ : state) {
    labelrun::server::WebhookRequest req{"application/json", "issues", "guid", sig, padded,
                                         padded.capacity()};
    benchmark::DoNotOptimize(labelrun::server::DecideWebhook(req, verifier, 0, false));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Body().size()));
}
BENCHMARK(BM_DecideWebhook);

}  // namespace

BENCHMARK_MAIN();
