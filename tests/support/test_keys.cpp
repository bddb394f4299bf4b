#include "support/test_keys.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdexcept>

namespace labelrun::testing {
namespace {

std::string Drain(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

TestRsaKey Generate() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (key == nullptr) throw std::runtime_error("EVP_RSA_gen failed");
  TestRsaKey out;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey_traditional(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.pkcs1_pem = Drain(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.pkcs8_pem = Drain(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, key);
  out.public_pem = Drain(b);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace

const TestRsaKey& AppTestKey() {
  static const TestRsaKey key = Generate();
  return key;
}

const TestRsaKey& OtherTestKey() {
  static const TestRsaKey key = Generate();
  return key;
}

}  // namespace labelrun::testing
