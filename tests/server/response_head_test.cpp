#include "server/response_head.hpp"

#include <gtest/gtest.h>

namespace labelrun::server {
namespace {

constexpr std::string_view kFixed =
    "Server: labelrun\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n";

std::string Render(const ResponseHead& head) {
  std::string out = "kept|";
  AppendResponseHead(head, out);
  return out;
}

TEST(ResponseHead, AcceptedKeepAliveIsTheStatusLineTheFixedHeadersAndTheLength) {
  EXPECT_EQ(Render({.status = 202,
                    .reason = "Accepted",
                    .version = 11,
                    .content_type = "text/plain; charset=utf-8",
                    .keep_alive = true,
                    .content_length = 9}),
            "kept|HTTP/1.1 202 Accepted\r\n" + std::string(kFixed) +
                "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\n\r\n");
}

TEST(ResponseHead, ConnectionFollowsTheVersionsDefault) {
  ResponseHead head{.status = 200, .reason = "OK", .content_type = "text/plain"};
  auto connection = [&](unsigned version, bool keep_alive) {
    head.version = version;
    head.keep_alive = keep_alive;
    std::string out = Render(head);
    size_t at = out.find("Connection: ");
    return at == std::string::npos ? std::string("-") : out.substr(at, out.find('\r', at) - at);
  };
  EXPECT_EQ(connection(11, true), "-");
  EXPECT_EQ(connection(11, false), "Connection: close");
  EXPECT_EQ(connection(10, true), "Connection: keep-alive");
  EXPECT_EQ(connection(10, false), "-");
  head.version = 10;
  EXPECT_EQ(Render(head).substr(5, 16), "HTTP/1.0 200 OK\r");
}

TEST(ResponseHead, AllowAndLargeLengths) {
  std::string out = Render({.status = 405,
                            .reason = "Method Not Allowed",
                            .content_type = "text/plain",
                            .allow = "GET, HEAD",
                            .keep_alive = false,
                            .content_length = 26'214'400});
  EXPECT_NE(out.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nConnection: close\r\n"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\r\nContent-Length: 26214400\r\n\r\n")) << out;
  EXPECT_EQ(Render({.status = 200, .reason = "OK", .content_type = "x"}).find("Allow"),
            std::string::npos);
}

}  // namespace
}  // namespace labelrun::server
