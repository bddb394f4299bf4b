#pragma once
// GitHub App JWTs: RS256 over {iat, exp, iss}, signed with OpenSSL 3 EVP.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "labelrun/core/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace labelrun::github {

std::string Base64UrlEncode(std::string_view bytes);
// nullopt on a character outside the URL-safe alphabet or a bad length.
std::optional<std::string> Base64UrlDecode(std::string_view text);

// An RSA private key. Immutable after loading; Sign is thread-safe. Error
// messages never include key material.
class RsaPrivateKey {
 public:
  // PEM, PKCS#1 ("BEGIN RSA PRIVATE KEY") or PKCS#8 ("BEGIN PRIVATE KEY").
  static Result<RsaPrivateKey> FromPem(std::string_view pem);
  static Result<RsaPrivateKey> LoadFile(const std::filesystem::path& path);

  // RSASSA-PKCS1-v1_5 with SHA-256 over `data`.
  Result<std::string> SignSha256(std::string_view data) const;

 private:
  explicit RsaPrivateKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

struct JwtClaims {
  std::string iss;
  int64_t iat = 0;  // unix seconds
  int64_t exp = 0;
};

// iat 60 s in the past (clock drift), exp 9 minutes ahead (GitHub allows 10).
JwtClaims AppJwtClaims(std::string_view issuer, std::chrono::system_clock::time_point now);

// header.payload.signature, base64url without padding. An all-digit issuer (an
// App id) is written as a JSON number, anything else (a client id) as a string.
Result<std::string> MakeAppJwt(const RsaPrivateKey& key, const JwtClaims& claims);

}  // namespace labelrun::github
