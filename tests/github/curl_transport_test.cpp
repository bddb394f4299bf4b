// CurlTransport checks the server's certificate (against `openssl s_server` with
// a self-signed certificate made at test time) and keeps connections open for the
// requests after (against a loopback HTTP/1.1 server that counts its connections).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "labelrun/github/http.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::github {
namespace {

using labelrun::testing::Process;
using labelrun::testing::RunCommand;
using labelrun::testing::TempDir;

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

HttpRequest Get(const std::string& url) {
  HttpRequest req;
  req.method = "GET";
  req.url = url;
  req.headers = {"User-Agent: labelrun-test"};
  return req;
}

// HTTP/1.1 on loopback that answers every request on a connection in turn
// (keep-alive) and counts the connections it accepted. A request whose path is
// /close is answered with "Connection: close" and its connection closed.
class KeepAliveServer {
 public:
  KeepAliveServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listen_fd_, 64);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    acceptor_ = std::thread([this] {
      for (;;) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;  // the listening socket was shut down
        ++connections_;
        connection_threads_.emplace_back([this, fd] { Serve(fd); });
      }
    });
  }
  ~KeepAliveServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    acceptor_.join();
    for (std::thread& t : connection_threads_) t.join();
  }
  const std::string& url() const { return url_; }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

 private:
  void Serve(int fd) {
    std::string data;
    char buf[4096];
    for (;;) {
      const size_t end = data.find("\r\n\r\n");
      if (end == std::string::npos) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;  // the client closed the connection
        data.append(buf, static_cast<size_t>(n));
        continue;
      }
      const std::string head = data.substr(0, end);
      size_t body = 0;
      if (size_t at = head.find("Content-Length: "); at != std::string::npos) {
        body = std::stoul(head.substr(at + 16));
      }
      while (data.size() < end + 4 + body) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
      }
      data.erase(0, end + 4 + body);
      ++requests_;
      const bool closing = head.find(" /close ") != std::string::npos;
      const std::string answer = std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n") +
                                 (closing ? "Connection: close\r\n" : "") + "\r\nok";
      if (send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) < 0 || closing) break;
    }
    close(fd);
  }

  int listen_fd_ = -1;
  std::string url_;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::vector<std::thread> connection_threads_;  // the acceptor's only, joined after it
};

// A write to GitHub needs no new TCP (and TLS) handshake while a connection is
// open: sequential requests share one connection, concurrent ones use one each,
// and a connection the server closes is replaced without an error.
TEST(GithubTransportKeepAlive, RequestsReuseOpenConnections) {
  KeepAliveServer server;
  CurlTransport transport({});
  for (int i = 0; i < 20; ++i) {
    HttpRequest req = Get(server.url() + "/repos/acme/vision/issues/comments/" + std::to_string(i));
    req.method = i % 2 ? "PATCH" : "GET";
    if (i % 2) req.body = R"({"body":"edit )" + std::to_string(i) + R"("})";
    Result<HttpResponse> res = transport.Send(req);
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "ok");
  }
  EXPECT_EQ(server.requests(), 20);
  EXPECT_EQ(server.connections(), 1);

  ASSERT_TRUE(transport.Send(Get(server.url() + "/close")));  // the server closes this one
  ASSERT_TRUE(transport.Send(Get(server.url() + "/after")));
  EXPECT_EQ(server.connections(), 2);

  // Four threads at once, ten requests each: one connection per request in flight.
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!transport.Send(Get(server.url() + "/concurrent"))) ++failed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(server.requests(), 62);
  EXPECT_LE(server.connections(), 2 + 4);
}

TEST(GithubTransportTls, VerifiesTheServerCertificate) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(
      RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                  (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(), "-days", "1",
                  "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                 &out),
      0)
      << out;
  uint16_t port = FreePort();
  Process server({"/usr/bin/openssl", "s_server", "-quiet", "-www", "-accept", std::to_string(port),
                  "-cert", (dir / "cert.pem").string(), "-key", (dir / "key.pem").string()},
                 dir / "s_server.log");
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/";

  CurlOptions trusting;
  trusting.ca_file = (dir / "cert.pem").string();
  CurlTransport with_ca(trusting);
  Result<HttpResponse> ok = Unexpected(ErrorCode::kUnavailable, "not tried");
  for (int i = 0; i < 100; ++i) {  // until s_server listens
    ok = with_ca.Send(Get(url));
    if (ok) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->status, 200);

  // The system store does not know this certificate: refused, not ignored.
  CurlTransport system_store({});
  auto refused = system_store.Send(Get(url));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message().find("certificate"), std::string::npos)
      << refused.error().message();
}

}  // namespace
}  // namespace labelrun::github
