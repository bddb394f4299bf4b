#include "labelrun/web/sessions.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "labelrun/core/strings.hpp"

namespace labelrun::web {
namespace {

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

bool IsSessionId(std::string_view id) {
  return id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string RandomHex32() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

bool SecretEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SessionStore::SessionStore(const Clock& clock, std::chrono::milliseconds ttl, size_t max_sessions)
    : clock_(clock), ttl_(ttl), max_sessions_(max_sessions) {}

SessionStore::Created SessionStore::Create(std::string user) {
  Created created;
  created.id = RandomHex32();
  created.session.user = std::move(user);
  created.session.csrf = RandomHex32();
  const int64_t now = clock_.NowUnixMillis();
  created.session.expires_unix_ms = now + ttl_.count();
  std::lock_guard lock(mu_);
  std::erase_if(by_hash_, [now](const auto& kv) { return kv.second.expires_unix_ms <= now; });
  while (by_hash_.size() >= max_sessions_ && !by_hash_.empty()) {
    auto first = by_hash_.begin();
    for (auto it = by_hash_.begin(); it != by_hash_.end(); ++it) {
      if (it->second.expires_unix_ms < first->second.expires_unix_ms) first = it;
    }
    by_hash_.erase(first);
  }
  by_hash_[Sha256Hex(created.id)] = created.session;
  return created;
}

std::optional<Session> SessionStore::Find(std::string_view id) {
  if (!IsSessionId(id)) return std::nullopt;
  const std::string key = Sha256Hex(id);
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(key);
  if (it == by_hash_.end()) return std::nullopt;
  if (it->second.expires_unix_ms <= clock_.NowUnixMillis()) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void SessionStore::Remove(std::string_view id) {
  if (!IsSessionId(id)) return;
  const std::string key = Sha256Hex(id);
  std::lock_guard lock(mu_);
  by_hash_.erase(key);
}

size_t SessionStore::size() const {
  std::lock_guard lock(mu_);
  return by_hash_.size();
}

std::string_view SessionCookieName(bool tls) {
  return tls ? "__Host-labelrun" : "labelrun_session";
}

std::string CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string_view value = pair.substr(eq + 1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    return std::string(value);
  }
  return "";
}

std::string SessionCookie(std::string_view id, std::chrono::milliseconds max_age, bool tls) {
  return std::string(SessionCookieName(tls)) + "=" + std::string(id) +
         "; Path=/; Max-Age=" + std::to_string(max_age.count() / 1000) +
         "; HttpOnly; SameSite=Strict" + (tls ? "; Secure" : "");
}

std::string ClearedSessionCookie(bool tls) {
  return std::string(SessionCookieName(tls)) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" +
         (tls ? "; Secure" : "");
}

bool IsUserName(std::string_view name) {
  if (name.empty() || name.size() > 39) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace labelrun::web
