#include "labelrun/webhook/signature.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <mutex>
#include <stdexcept>

#include "labelrun/core/strings.hpp"

namespace labelrun::webhook {
namespace {

constexpr size_t kDigestSize = 32;
constexpr std::string_view kPrefix = "sha256=";

struct MacDeleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// One HMAC-SHA256 context keyed with a secret. Compute takes a keyed context
// from a small pool (duplicating the prototype when the pool is empty) and
// re-initialises it with the key it already holds, so that a delivery costs
// neither the key schedule nor the allocations of a fresh context; the pool
// holds at most one context per thread that computed at the same time.
class KeyedMac {
 public:
  KeyedMac(EVP_MAC* mac, std::string_view secret) : ctx_(EVP_MAC_CTX_new(mac)) {
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                           OSSL_PARAM_construct_end()};
    if (!ctx_ || EVP_MAC_init(ctx_.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size(), params) != 1) {
      throw std::runtime_error("cannot initialise HMAC-SHA256");
    }
  }
  KeyedMac(KeyedMac&&) = default;

  bool Compute(std::string_view body, std::array<unsigned char, kDigestSize>& out) const {
    std::unique_ptr<EVP_MAC_CTX, MacDeleter> ctx = Take();
    size_t len = 0;
    // A NULL key re-initialises HMAC with the key the context already holds.
    const bool ok = ctx && EVP_MAC_init(ctx.get(), nullptr, 0, nullptr) == 1 &&
                    EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(body.data()),
                                   body.size()) == 1 &&
                    EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1 &&
                    len == kDigestSize;
    if (ok) Give(std::move(ctx));  // a context in an unknown state is freed
    return ok;
  }

 private:
  std::unique_ptr<EVP_MAC_CTX, MacDeleter> Take() const {
    {
      std::lock_guard lock(pool_->mu);
      if (!pool_->free.empty()) {
        std::unique_ptr<EVP_MAC_CTX, MacDeleter> ctx = std::move(pool_->free.back());
        pool_->free.pop_back();
        return ctx;
      }
    }
    return std::unique_ptr<EVP_MAC_CTX, MacDeleter>(EVP_MAC_CTX_dup(ctx_.get()));
  }

  void Give(std::unique_ptr<EVP_MAC_CTX, MacDeleter> ctx) const {
    std::lock_guard lock(pool_->mu);
    pool_->free.push_back(std::move(ctx));
  }

  struct Pool {
    std::mutex mu;
    std::vector<std::unique_ptr<EVP_MAC_CTX, MacDeleter>> free;
  };
  std::unique_ptr<EVP_MAC_CTX, MacDeleter> ctx_;  // the prototype, never computed with
  std::unique_ptr<Pool> pool_ = std::make_unique<Pool>();
};

}  // namespace

struct SignatureVerifier::Impl {
  std::unique_ptr<EVP_MAC, MacDeleter> mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  std::vector<KeyedMac> keys;
};

SignatureVerifier::SignatureVerifier(const std::vector<std::string>& secrets)
    : impl_(std::make_unique<Impl>()) {
  if (!impl_->mac) throw std::runtime_error("OpenSSL has no HMAC");
  impl_->keys.reserve(secrets.size());
  for (const std::string& s : secrets) impl_->keys.emplace_back(impl_->mac.get(), s);
}

SignatureVerifier::~SignatureVerifier() = default;

size_t SignatureVerifier::secret_count() const { return impl_->keys.size(); }

bool SignatureVerifier::Verify(std::string_view body, std::string_view header) const {
  if (header.size() != kPrefix.size() + 2 * kDigestSize ||
      header.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  std::string expected;
  if (!HexDecode(header.substr(kPrefix.size()), expected)) return false;
  bool match = false;
  std::array<unsigned char, kDigestSize> digest{};
  // Every key is tried, so the time taken does not tell which secret matched.
  for (const KeyedMac& key : impl_->keys) {
    if (!key.Compute(body, digest)) continue;
    match |= CRYPTO_memcmp(digest.data(), expected.data(), kDigestSize) == 0;
  }
  return match;
}

std::string SignBody(std::string_view secret, std::string_view body) {
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  KeyedMac key(mac.get(), secret);
  std::array<unsigned char, kDigestSize> digest{};
  if (!key.Compute(body, digest)) throw std::runtime_error("HMAC failed");
  return std::string(kPrefix) +
         HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

}  // namespace labelrun::webhook
