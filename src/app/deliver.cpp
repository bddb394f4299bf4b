#include "labelrun/app/deliver.hpp"

#include <curl/curl.h>
#include <openssl/rand.h>
#include <cerrno>
#include <cstring>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "labelrun/core/strings.hpp"
#include "labelrun/webhook/signature.hpp"

namespace labelrun::app {
namespace {

constexpr char kUserAgent[] = "GitHub-Hookshot/labelrun-deliver";

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::optional<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return ss.str();
}

// A header value must not end the header early.
bool IsHeaderSafe(std::string_view value) {
  return !value.empty() && value.find_first_of("\r\n") == std::string_view::npos;
}

}  // namespace

std::string RandomUuidV4() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no random bytes from OpenSSL");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10xx
  std::string hex = HexEncode(std::string_view(reinterpret_cast<const char*>(b), sizeof b));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

int RunDeliver(const DeliverArgs& args, std::ostream& out, std::ostream& err) {
  if (args.url.rfind("https://", 0) != 0 && args.url.rfind("http://", 0) != 0) {
    err << "labelrun deliver: --url must start with https:// or http://\n";
    return 2;
  }
  if (!IsHeaderSafe(args.event)) {
    err << "labelrun deliver: --event must be one line, e.g. issues\n";
    return 2;
  }
  const std::string delivery = args.delivery.empty() ? RandomUuidV4() : args.delivery;
  if (!IsHeaderSafe(delivery)) {
    err << "labelrun deliver: --delivery must be one line\n";
    return 2;
  }
  std::optional<std::string> secret = ReadAll(args.secret_file);
  if (!secret) {
    err << "labelrun deliver: cannot read the secret file " << args.secret_file << ": "
        << std::strerror(errno) << "\n";
    return 2;
  }
  // As labelrun reads a secret file: the whole content, trailing newlines trimmed.
  while (!secret->empty() && (secret->back() == '\n' || secret->back() == '\r')) {
    secret->pop_back();
  }
  if (secret->empty()) {
    err << "labelrun deliver: the secret file " << args.secret_file << " is empty\n";
    return 2;
  }
  std::optional<std::string> payload = ReadAll(args.payload_file);
  if (!payload) {
    err << "labelrun deliver: cannot read the payload file " << args.payload_file << ": "
        << std::strerror(errno) << "\n";
    return 2;
  }

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) {
    err << "labelrun deliver: cannot start libcurl\n";
    return 1;
  }
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, args.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload->data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload->size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  // Verified TLS only; --ca-file adds trust, nothing takes it away.
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!args.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, args.ca_file.c_str());

  const std::string event_header = "X-GitHub-Event: " + args.event;
  const std::string delivery_header = "X-GitHub-Delivery: " + delivery;
  const std::string signature_header =
      "X-Hub-Signature-256: " + webhook::SignBody(*secret, *payload);
  curl_slist* headers = nullptr;
  for (const std::string& h : {std::string("Content-Type: application/json"), event_header,
                               delivery_header, signature_header,
                               // GitHub sends the body at once, without 100-continue.
                               std::string("Expect:")}) {
    headers = curl_slist_append(headers, h.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

  err << "labelrun deliver: " << args.event << " delivery " << delivery << " (" << payload->size()
      << " bytes) to " << args.url << "\n";
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    err << "labelrun deliver: cannot deliver to " << args.url << ": "
        << (error[0] != '\0' ? error : curl_easy_strerror(rc)) << "\n";
    return 1;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  out << "HTTP " << status << "\n" << body;
  if (!body.empty() && body.back() != '\n') out << "\n";
  if (status < 200 || status >= 300) {
    err << "labelrun deliver: the receiver answered " << status
        << (status == 401 ? " (is the secret the one the receiver has?)" : "") << "\n";
    return 1;
  }
  return 0;
}

}  // namespace labelrun::app
