#include "labelrun/report/link_signing.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <stdexcept>

#include "labelrun/core/strings.hpp"

namespace labelrun::report {
namespace {

constexpr size_t kDigestSize = 32;

bool Mac(std::string_view path, int64_t expires, std::string_view key,
         std::array<unsigned char, kDigestSize>& out) {
  const std::string message =
      "labelrun-link\n" + std::string(path) + "\n" + std::to_string(expires);
  size_t len = 0;
  return EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                   reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                   out.data(), out.size(), &len) != nullptr &&
         len == kDigestSize;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentEncodePath(std::string_view path) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    const auto b = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
        c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kDigits[b >> 4]);
      out.push_back(kDigits[b & 0xf]);
    }
  }
  return out;
}

std::optional<std::string> PercentDecodePath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out.push_back(path[i]);
      continue;
    }
    if (i + 2 >= path.size()) return std::nullopt;
    const int hi = HexDigit(path[i + 1]);
    const int lo = HexDigit(path[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
    i += 2;
  }
  return out;
}

std::string SignLink(std::string_view path, int64_t expires_unix, std::string_view key) {
  std::array<unsigned char, kDigestSize> digest{};
  if (!Mac(path, expires_unix, key, digest)) throw std::runtime_error("HMAC-SHA256 failed");
  return PercentEncodePath(path) + "?exp=" + std::to_string(expires_unix) + "&sig=" +
         HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

Status VerifyLink(std::string_view path, std::string_view exp, std::string_view sig,
                  std::string_view key, int64_t now_unix) {
  if (key.empty()) return Unexpected(ErrorCode::kFailedPrecondition, "no link key is configured");
  int64_t expires = 0;
  auto [ptr, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), expires);
  if (exp.empty() || ec != std::errc() || ptr != exp.data() + exp.size() || exp[0] == '-' ||
      exp[0] == '+') {
    return Unexpected(ErrorCode::kInvalidArgument, "the link's exp is not a time");
  }
  std::string given;
  if (sig.size() != 2 * kDigestSize || !HexDecode(sig, given)) {
    return Unexpected(ErrorCode::kInvalidArgument, "the link's sig is not a signature");
  }
  std::array<unsigned char, kDigestSize> digest{};
  if (!Mac(path, expires, key, digest)) {
    return Unexpected(ErrorCode::kInternal, "HMAC-SHA256 failed");
  }
  if (CRYPTO_memcmp(digest.data(), given.data(), kDigestSize) != 0) {
    return Unexpected(ErrorCode::kUnauthenticated, "the link's signature does not match");
  }
  if (now_unix >= expires) {
    return Unexpected(ErrorCode::kPermissionDenied,
                      "the link expired; open the job from its issue comment for a fresh link");
  }
  return Ok();
}

}  // namespace labelrun::report
