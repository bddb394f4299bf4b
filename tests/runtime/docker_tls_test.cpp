// tcp:// with TLS client certificates, against a loopback TLS proxy in front of
// the real daemon's socket. Certificates are made by the openssl CLI per test.

#include <fstream>
#include <thread>

#include "runtime/docker_fixture.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_proxy.hpp"

namespace labelrun::runtime {
namespace {

using testing::RunCommand;
using testing::TempDir;
using testing::TlsUnixProxy;

// A CA, a daemon certificate for 127.0.0.1 and a client certificate it signed,
// and a second, unrelated CA with its own client certificate.
class Pki {
 public:
  Pki() {
    MakeCa("ca");
    MakeLeaf("server", "ca",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
             "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
    MakeLeaf("client", "ca", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
    MakeCa("rogue-ca");
    MakeLeaf("rogue-client", "rogue-ca",
             "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
  }

  std::string Pem(const std::string& name) const { return (dir_ / (name + ".pem")).string(); }
  std::string Key(const std::string& name) const { return (dir_ / (name + "-key.pem")).string(); }
  const std::string& error() const { return error_; }

 private:
  void Openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    std::string out;
    if (error_.empty() && RunCommand(args, &out) != 0) error_ = args[1] + ": " + out;
  }
  void MakeCa(const std::string& name) {
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", Key(name), "-out", Pem(name), "-days", "2", "-subj",
             "/CN=labelrun test " + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign"});
  }
  void MakeLeaf(const std::string& name, const std::string& ca, const std::string& ext) {
    std::string csr = (dir_ / (name + ".csr")).string();
    std::string ext_file = dir_.Write(name + ".ext", ext).string();
    Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", Key(name), "-out", csr, "-subj", "/CN=" + name});
    Openssl({"x509", "-req", "-in", csr, "-CA", Pem(ca), "-CAkey", Key(ca), "-set_serial",
             std::to_string(++serial_), "-days", "2", "-out", Pem(name), "-extfile", ext_file});
  }

  TempDir dir_;
  std::string error_;
  int serial_ = 1;
};

class DockerTlsTest : public DockerRuntimeTest {
 protected:
  void SetUp() override {
    DockerRuntimeTest::SetUp();
    ASSERT_TRUE(pki_.error().empty()) << pki_.error();
    std::string daemon = testing::TestDockerUrl();
    ASSERT_EQ(daemon.rfind("unix://", 0), 0u) << "the TLS proxy forwards to a unix socket";
    proxy_.emplace(TlsUnixProxy::Options{pki_.Pem("ca"), pki_.Pem("server"), pki_.Key("server"),
                                         daemon.substr(7)});
    url_ = "tcp://127.0.0.1:" + std::to_string(proxy_->port());
  }

  Result<std::unique_ptr<DockerRuntime>> ConnectAs(const std::string& ca,
                                                   const std::string& client) {
    auto endpoint = ParseDockerEndpoint(url_, pki_.Pem(ca), pki_.Pem(client), pki_.Key(client));
    if (!endpoint) return endpoint.error();
    return DockerRuntime::Connect(*endpoint);
  }

  Pki pki_;
  std::optional<TlsUnixProxy> proxy_;
  std::string url_;
};

TEST_F(DockerTlsTest, RunsAContainerWithAClientCertificate) {
  auto tls = ConnectAs("ca", "client");
  ASSERT_TRUE(tls) << tls.error().ToString();
  EXPECT_EQ((*tls)->ApiVersion().value(), rt().ApiVersion().value());

  ContainerSpec spec = Spec("echo over tls; echo on stderr >&2; sleep 1");
  Result<std::string> id = (*tls)->Create(spec);
  ASSERT_TRUE(id) << id.error().ToString();
  auto exit = (*tls)->WaitNextExit(*id);
  ASSERT_TRUE(exit) << exit.error().ToString();
  ASSERT_TRUE((*tls)->Start(*id));
  Result<ExecOutput> exec = (*tls)->Exec(*id, {"echo", "exec over tls"});
  ASSERT_TRUE(exec) << exec.error().ToString();
  EXPECT_EQ(exec->stdout_text, "exec over tls\n");
  std::vector<std::string> out, err;
  Status logs = (*tls)->Logs(
      *id, 0, true,
      [&](const LogLine& l) {
        (l.stream == LogStream::kStdout ? out : err).emplace_back(l.text);
        return true;
      },
      nullptr);
  ASSERT_TRUE(logs) << logs.error().ToString();
  EXPECT_EQ(out, std::vector<std::string>{"over tls"});
  EXPECT_EQ(err, std::vector<std::string>{"on stderr"});
  EXPECT_EQ((*exit)->Get().value().status_code, 0);
  EXPECT_GE(proxy_->accepted(), 5);
  EXPECT_EQ(proxy_->refused(), 0);
}

TEST_F(DockerTlsTest, AClientCertificateFromAnotherCaIsRefusedClearly) {
  // The client trusts the daemon, but the daemon does not trust the client.
  auto endpoint =
      ParseDockerEndpoint(url_, pki_.Pem("ca"), pki_.Pem("rogue-client"), pki_.Key("rogue-client"));
  ASSERT_TRUE(endpoint);
  auto tls = DockerRuntime::Connect(*endpoint);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code(), ErrorCode::kUnauthenticated) << tls.error().ToString();
  EXPECT_EQ(tls.error().message().rfind("TLS with docker at " + url_ + " failed: ", 0), 0u)
      << tls.error().message();
  EXPECT_NE(tls.error().message().find("check ca_file, cert_file and key_file"), std::string::npos);
  // The proxy counts the refusal on its own thread, maybe after the client saw it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (proxy_->refused() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(proxy_->refused(), 1);
  EXPECT_EQ(proxy_->accepted(), 0);
}

TEST_F(DockerTlsTest, ADaemonTheCaDidNotSignIsRefused) {
  auto tls = ConnectAs("rogue-ca", "client");
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code(), ErrorCode::kUnauthenticated) << tls.error().ToString();
  EXPECT_NE(tls.error().message().find("certificate"), std::string::npos) << tls.error().message();
}

TEST_F(DockerTlsTest, ABrokenConnectionEndsWaitAndLogsAsUnavailable) {
  auto tls = ConnectAs("ca", "client");
  ASSERT_TRUE(tls) << tls.error().ToString();
  std::unique_ptr<PendingExit> exit;
  ContainerSpec spec = Spec("while true; do echo tick; sleep 0.1; done");
  Result<std::string> id = (*tls)->Create(spec);
  ASSERT_TRUE(id) << id.error().ToString();
  auto pending = (*tls)->WaitNextExit(*id);
  ASSERT_TRUE(pending);
  ASSERT_TRUE((*tls)->Start(*id));
  std::atomic<int> ticks{0};
  Status logs;
  std::thread follower([&] {
    logs = (*tls)->Logs(
        *id, 0, true,
        [&](const LogLine&) {
          ++ticks;
          return true;
        },
        nullptr);
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ticks.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(ticks.load(), 3);
  proxy_->DropConnections();  // as if the daemon restarted
  Result<ExitStatus> status = (*pending)->Get();
  follower.join();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), ErrorCode::kUnavailable) << status.error().ToString();
  ASSERT_FALSE(logs);
  EXPECT_EQ(logs.error().code(), ErrorCode::kUnavailable) << logs.error().ToString();
}

}  // namespace
}  // namespace labelrun::runtime
