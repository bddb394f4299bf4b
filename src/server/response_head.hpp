#pragma once
// The status line and header of a plain response, written as bytes in one
// pass. The session sends most answers (every webhook reply) this way instead
// of building a Beast message field by field and serialising it. No Asio, no
// Beast. Private to server/.

#include <string>
#include <string_view>

namespace labelrun::server {

struct ResponseHead {
  unsigned status = 200;
  std::string_view reason = {};        // "Accepted"
  unsigned version = 11;               // 10 or 11, as Beast numbers them
  std::string_view content_type = {};  // REQUIRES: no CR or LF
  std::string_view allow = {};         // the Allow header, or "" for none
  bool keep_alive = true;
  size_t content_length = 0;
};

// Appends the status line, labelrun's fixed headers (Server, the security
// headers every answer carries), Content-Type, Allow when set, Connection where
// HTTP/1.0 or closing needs one, Content-Length and the blank line to `out`.
void AppendResponseHead(const ResponseHead& head, std::string& out);

// The headers every answer carries: never sniffed, never framed, never named
// in a Referer (page links carry signatures), and a policy that allows
// nothing; the job pages replace the policy with their own
// (report::PageContentSecurityPolicy).
inline constexpr std::string_view kFixedHeaders[][2] = {
    {"Server", "labelrun"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
};

}  // namespace labelrun::server
