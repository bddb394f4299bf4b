#include "labelrun/app/health_cli.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

namespace labelrun::app {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* user) {
  std::string* body = static_cast<std::string*>(user);
  // A health answer is a line; more than a page of it is not read.
  if (body->size() < 4096) body->append(data, std::min(size * n, 4096 - body->size()));
  return size * n;
}

}  // namespace

int RunHealth(const HealthArgs& args, std::ostream& out, std::ostream& err) {
  if (args.url.rfind("https://", 0) != 0 && args.url.rfind("http://", 0) != 0) {
    err << "labelrun health: --url must start with http:// or https://\n";
    return 2;
  }
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    err << "labelrun health: cannot start libcurl\n";
    return 1;
  }
  CURL* c = curl.get();
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, args.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, args.timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!args.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, args.ca_file.c_str());
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    err << "labelrun health: " << args.url << ": "
        << (error[0] != '\0' ? error : curl_easy_strerror(rc)) << "\n";
    return 1;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    err << "labelrun health: " << args.url << " answered " << status << "\n";
    return 1;
  }
  out << args.url << ": " << status << " " << body;
  if (body.empty() || body.back() != '\n') out << "\n";
  return 0;
}

}  // namespace labelrun::app
