#pragma once
// Dashboard sessions: who logged in with the dashboard token, until when.
//
// A session id is 32 random bytes (hex) handed to the browser once, in an
// HttpOnly, SameSite=Strict cookie; the store keeps only its SHA-256, so a
// memory dump or a log line of the map shows no usable id. Sessions live in
// memory only: a restart, or another labelrun instance, knows none of them
// (people log in again). Each session carries its own CSRF token, which the
// pages put in their forms and every POST must echo.
//
// Thread safety: all members may be called from any thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "labelrun/core/clock.hpp"

namespace labelrun::web {

struct Session {
  std::string user;  // the name given at login, shown on actions ("cancelled by <user>")
  std::string csrf;  // 64 hex digits
  int64_t expires_unix_ms = 0;
};

class SessionStore {
 public:
  // Sessions last `ttl` from login (not extended by use); at most `max_sessions`
  // are kept, the one expiring first is dropped to make room.
  SessionStore(const Clock& clock, std::chrono::milliseconds ttl, size_t max_sessions = 10000);

  struct Created {
    std::string id;  // for the cookie; not kept
    Session session;
  };
  Created Create(std::string user);
  // The live session of a cookie's id; nullopt for an unknown, expired or
  // malformed id (an expired one is forgotten).
  std::optional<Session> Find(std::string_view id);
  void Remove(std::string_view id);
  std::chrono::milliseconds ttl() const { return ttl_; }
  size_t size() const;

 private:
  const Clock& clock_;
  std::chrono::milliseconds ttl_;
  size_t max_sessions_;
  mutable std::mutex mu_;
  std::map<std::string, Session> by_hash_;  // SHA-256 of the id (hex) -> session
};

// The cookie's name: "__Host-labelrun" over TLS (the prefix makes browsers insist
// on Secure, Path=/ and no Domain), "labelrun_session" without.
std::string_view SessionCookieName(bool tls);
// The value of cookie `name` in a Cookie header, or "".
std::string CookieValue(std::string_view cookie_header, std::string_view name);
// Set-Cookie values: a session's, and one that removes it.
std::string SessionCookie(std::string_view id, std::chrono::milliseconds max_age, bool tls);
std::string ClearedSessionCookie(bool tls);
// A dashboard user name as the login form takes it: 1 to 39 letters, digits,
// '-', '_' or '.', so that it reads plainly in a comment and needs no escaping.
bool IsUserName(std::string_view name);
// 32 random bytes from OpenSSL's CSPRNG as 64 hex digits.
std::string RandomHex32();
// Constant-time equality of two strings (false when the lengths differ).
bool SecretEquals(std::string_view a, std::string_view b);

}  // namespace labelrun::web
