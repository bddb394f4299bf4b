#include <curl/curl.h>

#include <cstdio>
#include <mutex>

#include "labelrun/core/strings.hpp"
#include "labelrun/github/http.hpp"
#include "labelrun/github/token_source.hpp"

namespace labelrun::github {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  CURL* curl = nullptr;
  HttpResponse* res = nullptr;
  FILE* file = nullptr;
  int64_t limit = 0;
  bool over_limit = false;
};

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  auto* sink = static_cast<Sink*>(out);
  long code = 0;
  curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &code);
  if (sink->file == nullptr || code < 200 || code > 299) {
    sink->res->body.append(data, size * n);
    return size * n;
  }
  if (sink->limit > 0 && sink->res->file_bytes + int64_t(size * n) > sink->limit) {
    sink->over_limit = true;
    return 0;  // aborts the transfer
  }
  if (fwrite(data, 1, size * n, sink->file) != size * n) return 0;
  sink->res->file_bytes += int64_t(size * n);
  return size * n;
}

// Keeps the last response only: a redirect's status line restarts headers and body.
size_t AppendHeader(char* data, size_t size, size_t n, void* out) {
  auto* res = static_cast<Sink*>(out)->res;
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    res->headers.clear();
    res->body.clear();
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    res->headers.emplace_back(ToLower(Trim(line.substr(0, colon))),
                              std::string(Trim(line.substr(colon + 1))));
  }
  return size * n;
}

}  // namespace

std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (IEquals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

ErrorCode ErrorCodeForStatus(long status) {
  switch (status) {
    case 400:
    case 422:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
    case 410:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kFailedPrecondition;
    case 429:
      return ErrorCode::kResourceExhausted;
    default:
      return status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInternal;
  }
}

CurlOptions CurlOptionsFrom(const Settings& settings) {
  CurlOptions o;
  o.connect_timeout = settings.connect_timeout;
  o.total_timeout = settings.request_timeout;
  o.ca_file = settings.ca_file;
  o.user_agent = UserAgent();
  return o;
}

// DNS answers and TLS sessions, shared by the transport's handles across threads
// (libcurl locks each kind of data through these callbacks). Connections are not
// shared this way (libcurl does not support that across threads): each stays in
// the handle that opened it.
struct CurlTransport::Shared {
  Shared() : share(curl_share_init()) {
    if (share == nullptr) return;
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Shared::Lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Shared::Unlock);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~Shared() {
    if (share != nullptr) curl_share_cleanup(share);
  }
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<Shared*>(self)->locks[data % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* self) {
    static_cast<Shared*>(self)->locks[data % kLocks].unlock();
  }

  static constexpr int kLocks = CURL_LOCK_DATA_LAST;
  CURLSH* share;
  std::mutex locks[kLocks];
};

CurlTransport::CurlTransport(CurlOptions options) : options_(std::move(options)) {
  GlobalInitOnce();
  shared_ = std::make_unique<Shared>();
}

CurlTransport::~CurlTransport() {
  // Handles first: they refer to the share.
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* CurlTransport::TakeHandle() {
  {
    std::lock_guard lock(idle_mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void CurlTransport::ReturnHandle(void* handle) {
  {
    std::lock_guard lock(idle_mu_);
    if (idle_.size() < kMaxIdle) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

Result<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) return Unexpected(ErrorCode::kInternal, "curl_easy_init failed");
  // A pooled handle comes back with no options set (curl_easy_reset), but with the
  // connections it keeps open.
  if (shared_->share != nullptr) curl_easy_setopt(curl, CURLOPT_SHARE, shared_->share);
  HttpResponse res;
  Sink sink{curl, &res, nullptr, request.max_file_bytes, false};
  if (!request.body_file.empty()) {
    sink.file = std::fopen(request.body_file.c_str(), "wb");
    if (sink.file == nullptr) {
      curl_easy_reset(curl);
      ReturnHandle(curl);
      return Unexpected(ErrorCode::kInternal, "cannot write " + request.body_file.string());
    }
  }
  curl_slist* list = nullptr;
  for (const std::string& h : request.headers) list = curl_slist_append(list, h.c_str());
  // libcurl adds "Expect: 100-continue" to large POSTs; GitHub does not need it.
  list = curl_slist_append(list, "Expect:");
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, long(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, long(options_.total_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  // A redirect to another host must not carry the Authorization header
  // (libcurl's default; stated here because it matters).
  curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.user_agent.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  curl_slist_free_all(list);
  // The handle outlives this request: none of its options may point into this
  // frame once it is back in the pool. Its open connections stay.
  curl_easy_reset(curl);
  ReturnHandle(curl);
  if (sink.file != nullptr && std::fclose(sink.file) != 0 && rc == CURLE_OK) {
    return Unexpected(ErrorCode::kInternal, "cannot write " + request.body_file.string());
  }
  if (sink.over_limit) {
    return Unexpected(ErrorCode::kResourceExhausted,
                      request.method + " " + request.url + ": the download is larger than " +
                          std::to_string(request.max_file_bytes) + " bytes");
  }
  if (rc != CURLE_OK) {
    // The request URL holds no secret: tokens travel in headers, and a redirect
    // target (which may carry one) is never printed.
    std::string why = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
    std::string message = request.method + " " + request.url + ": " + why;
    ErrorCode code =
        rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kDeadlineExceeded : ErrorCode::kUnavailable;
    return Unexpected(code, std::move(message));
  }
  return res;
}

}  // namespace labelrun::github
