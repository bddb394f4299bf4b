#include "server/response_head.hpp"

#include <charconv>

namespace labelrun::server {
namespace {

void AppendNumber(size_t n, std::string& out) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

void AppendField(std::string_view name, std::string_view value, std::string& out) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

void AppendResponseHead(const ResponseHead& head, std::string& out) {
  out.append(head.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  AppendNumber(head.status, out);
  out.push_back(' ');
  out.append(head.reason);
  out.append("\r\n");
  for (const auto& [name, value] : kFixedHeaders) AppendField(name, value, out);
  AppendField("Content-Type", head.content_type, out);
  if (!head.allow.empty()) AppendField("Allow", head.allow, out);
  // HTTP/1.1 keeps a connection unless told to close; HTTP/1.0 closes unless
  // told to keep it.
  if (head.version == 10 && head.keep_alive) AppendField("Connection", "keep-alive", out);
  if (head.version != 10 && !head.keep_alive) AppendField("Connection", "close", out);
  out.append("Content-Length: ");
  AppendNumber(head.content_length, out);
  out.append("\r\n\r\n");
}

}  // namespace labelrun::server
