#pragma once
// X-Hub-Signature-256: HMAC-SHA256 of the raw body, "sha256=<64 hex>".

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace labelrun::webhook {

// Verifies signatures against every active secret (several during rotation).
// Keys are prepared once; Verify is thread-safe and compares in constant time.
class SignatureVerifier {
 public:
  // REQUIRES: every secret is non-empty.
  explicit SignatureVerifier(const std::vector<std::string>& secrets);
  ~SignatureVerifier();
  SignatureVerifier(const SignatureVerifier&) = delete;
  SignatureVerifier& operator=(const SignatureVerifier&) = delete;

  // True if `header` is "sha256=<hex>" and matches the body under any secret.
  bool Verify(std::string_view body, std::string_view header) const;
  size_t secret_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "sha256=<hex>" for body under secret: what GitHub sends. For tests and tools.
std::string SignBody(std::string_view secret, std::string_view body);

}  // namespace labelrun::webhook
