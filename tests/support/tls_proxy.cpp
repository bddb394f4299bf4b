#include "support/tls_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace labelrun::testing {
namespace {

SSL_CTX* Ctx(void* p) { return static_cast<SSL_CTX*>(p); }

bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

int ConnectUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    fd = -1;
  }
  return fd;
}

}  // namespace

TlsUnixProxy::TlsUnixProxy(Options options) : options_(std::move(options)) {
  // OpenSSL writes with write(2): a client gone away must not kill the tests.
  ::signal(SIGPIPE, SIG_IGN);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  ctx_ = ctx;
  if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, options_.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, options_.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(ctx, options_.ca_file.c_str(), nullptr) != 1) {
    throw std::runtime_error("TlsUnixProxy: cannot load the certificates");
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(options_.ca_file.c_str()));

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0) {
    throw std::runtime_error("TlsUnixProxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TlsUnixProxy::~TlsUnixProxy() {
  stopping_ = true;
  char c = 'x';
  (void)!::write(wake_[1], &c, 1);
  if (acceptor_.joinable()) acceptor_.join();
  DropConnections();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
  SSL_CTX_free(Ctx(ctx_));
}

void TlsUnixProxy::DropConnections() {
  std::lock_guard lock(mu_);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
}

void TlsUnixProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu_);
    open_fds_.insert(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TlsUnixProxy::Serve(int fd) {
  SSL* ssl = SSL_new(Ctx(ctx_));
  SSL_set_fd(ssl, fd);
  int upstream = -1;
  if (SSL_accept(ssl) != 1) {
    ++refused_;
  } else {
    ++accepted_;
    upstream = ConnectUnix(options_.socket_path);
  }
  if (upstream >= 0) {
    {
      std::lock_guard lock(mu_);
      open_fds_.insert(upstream);
    }
    char buf[16384];
    while (true) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {upstream, POLLIN, 0}};
      if (SSL_pending(ssl) == 0 && ::poll(fds, 2, -1) < 0) break;
      if (SSL_pending(ssl) > 0 || (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0 || !WriteAll(upstream, buf, static_cast<size_t>(n))) break;
      }
      if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::read(upstream, buf, sizeof buf);
        if (n <= 0 || SSL_write(ssl, buf, static_cast<int>(n)) <= 0) break;
      }
    }
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  std::lock_guard lock(mu_);
  open_fds_.erase(fd);
  ::close(fd);
  if (upstream >= 0) {
    open_fds_.erase(upstream);
    ::close(upstream);
  }
}

}  // namespace labelrun::testing
