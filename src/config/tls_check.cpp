#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

#include "labelrun/config/config.hpp"

namespace labelrun::config {
namespace {

std::string LastSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

}  // namespace

Status CheckTlsFiles(const TlsConfig& tls) {
  if (!tls.enabled()) return Ok();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        &SSL_CTX_free);
  if (!ctx) return Unexpected(ErrorCode::kInternal, "cannot create a TLS context");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "server.tls.cert_file: cannot load " + tls.cert_file + ": " + LastSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "server.tls.key_file: cannot load " + tls.key_file + ": " + LastSslError());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "server.tls.key_file: the key does not match the certificate");
  }
  return Ok();
}

}  // namespace labelrun::config
