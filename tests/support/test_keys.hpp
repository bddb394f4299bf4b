#pragma once
// RSA keys made at test time (never committed): one 2048-bit key per process.

#include <string>

namespace labelrun::testing {

struct TestRsaKey {
  std::string pkcs1_pem;   // -----BEGIN RSA PRIVATE KEY-----
  std::string pkcs8_pem;   // -----BEGIN PRIVATE KEY-----
  std::string public_pem;  // -----BEGIN PUBLIC KEY-----
};

// The process-wide App key, generated on first use.
const TestRsaKey& AppTestKey();
// A second, unrelated key (for "wrong key" tests).
const TestRsaKey& OtherTestKey();

}  // namespace labelrun::testing
