#pragma once
// The real client stack (CurlTransport, AppTokenSource, Client) against the
// loopback GitHub, all on one ManualClock. Waits the client asks for are
// recorded and advance the clock instead of sleeping.

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "labelrun/core/clock.hpp"
#include "labelrun/github/client.hpp"
#include "labelrun/github/http.hpp"
#include "labelrun/github/token_source.hpp"
#include "support/fake_github.hpp"
#include "support/test_keys.hpp"

namespace labelrun::github::testing {

using labelrun::testing::AppTestKey;
using labelrun::testing::FakeFault;
using labelrun::testing::FakeGithub;
using labelrun::testing::FakeRequest;

inline FakeGithub::Options DefaultFakeOptions() {
  FakeGithub::Options o;
  o.app_issuer = "12345";
  o.public_key_pem = AppTestKey().public_pem;
  return o;
}

struct GithubEnv {
  explicit GithubEnv(FakeGithub::Options fake_options = DefaultFakeOptions(), CurlOptions curl = {},
                     int max_attempts = 4)
      : fake(std::move(fake_options), clock),
        transport(curl),
        tokens(AppAuth{"12345", *RsaPrivateKey::FromPem(AppTestKey().pkcs1_pem), fake.url(),
                       UserAgent()},
               transport, clock),
        client(MakeOptions(max_attempts), transport, tokens, clock) {}

  ClientOptions MakeOptions(int max_attempts) {
    ClientOptions o;
    o.api_url = fake.url();
    o.max_attempts = max_attempts;
    o.max_inline_wait = std::chrono::minutes(5);
    o.jitter = [] { return 0.5; };
    o.sleep = [this](std::chrono::milliseconds d) {
      std::lock_guard lock(mu);
      waits.push_back(d);
      clock.Advance(d);
    };
    return o;
  }

  std::vector<std::chrono::milliseconds> Waits() {
    std::lock_guard lock(mu);
    return waits;
  }

  static constexpr int64_t kInstallation = 77;
  const Repo repo{"acme", "vision"};

  ManualClock clock;
  FakeGithub fake;
  CurlTransport transport;
  AppTokenSource tokens;
  std::mutex mu;
  std::vector<std::chrono::milliseconds> waits;
  Client client;
};

}  // namespace labelrun::github::testing
