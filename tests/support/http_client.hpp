#pragma once
// HTTP for tests: libcurl for well-formed requests, raw sockets for the rest.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace labelrun::testing {

struct HttpResponse {
  long status = 0;  // 0: no response (the error says why)
  std::string body;
  std::string headers;
  std::string error;
};

struct HttpOptions {
  std::string ca_file;  // trust this CA (HTTPS)
  long tls_max = 0;     // CURL_SSLVERSION_MAX_* to cap the client's TLS version
  long tls_min = 0;     // CURL_SSLVERSION_* minimum
  std::string ciphers;  // OpenSSL cipher list; "DEFAULT@SECLEVEL=0" lets a client offer TLS 1.1
  long timeout_ms = 10'000;
};

HttpResponse HttpRequest(const std::string& method, const std::string& url,
                         const std::vector<std::string>& headers, const std::string& body,
                         const HttpOptions& options = {});

// Connects to 127.0.0.1:port, sends `bytes`, and reads until the server closes
// or `timeout` passes. Returns what was read; `closed` says whether the server
// closed the connection.
std::string RawExchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout,
                        bool* closed = nullptr);

// A client socket for requests sent in pieces.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port);  // connects to 127.0.0.1:port
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool Send(const std::string& bytes);
  // Reads until the server closes or `timeout` passes.
  std::string ReadAll(std::chrono::milliseconds timeout, bool* closed = nullptr);

 private:
  int fd_ = -1;
};

}  // namespace labelrun::testing
