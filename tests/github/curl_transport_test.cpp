// CurlTransport checks the server's certificate: against `openssl s_server`
// with a self-signed certificate made at test time.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

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
