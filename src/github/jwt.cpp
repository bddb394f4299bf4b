#include "labelrun/github/jwt.hpp"
#include "labelrun/core/json_text.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <cerrno>
#include <cstring>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace labelrun::github {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (rest == 2) v |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int d = DecodeChar(c);
    if (d < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

Result<RsaPrivateKey> RsaPrivateKey::FromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return Unexpected(ErrorCode::kInternal, "out of memory reading a key");
  // A null password callback with an empty passphrase: an encrypted key fails
  // instead of prompting on the terminal.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, const_cast<char*>(""));
  BIO_free(bio);
  ERR_clear_error();  // the queue may hold key-parsing details; never surface them
  if (key == nullptr) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "not a PEM private key (PKCS#1 or PKCS#8, unencrypted)");
  }
  std::shared_ptr<EVP_PKEY> owned(key, EVP_PKEY_free);
  if (!EVP_PKEY_is_a(key, "RSA")) {
    return Unexpected(ErrorCode::kInvalidArgument, "the private key is not an RSA key");
  }
  return RsaPrivateKey(std::move(owned));
}

Result<RsaPrivateKey> RsaPrivateKey::LoadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Unexpected(ErrorCode::kInvalidArgument, "cannot read private key file " + path.string() +
                                                       ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  Result<RsaPrivateKey> key = FromPem(text.str());
  if (!key) {
    return Unexpected(key.error().code(),
                      "private key file " + path.string() + ": " + key.error().message());
  }
  return key;
}

Result<std::string> RsaPrivateKey::SignSha256(std::string_view data) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Unexpected(ErrorCode::kInternal, "out of memory signing");
  std::string sig;
  size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  if (!ok) return Unexpected(ErrorCode::kInternal, "RS256 signing failed");
  return sig;
}

JwtClaims AppJwtClaims(std::string_view issuer, std::chrono::system_clock::time_point now) {
  int64_t secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return JwtClaims{std::string(issuer), secs - 60, secs + 9 * 60};
}

Result<std::string> MakeAppJwt(const RsaPrivateKey& key, const JwtClaims& claims) {
  nlohmann::json payload = {{"iat", claims.iat}, {"exp", claims.exp}};
  if (AllDigits(claims.iss)) {
    payload["iss"] = std::stoll(claims.iss);
  } else {
    payload["iss"] = claims.iss;
  }
  std::string signing_input =
      Base64UrlEncode(R"({"alg":"RS256","typ":"JWT"})") + "." + Base64UrlEncode(JsonText(payload));
  Result<std::string> sig = key.SignSha256(signing_input);
  if (!sig) return sig.error();
  return signing_input + "." + Base64UrlEncode(*sig);
}

}  // namespace labelrun::github
