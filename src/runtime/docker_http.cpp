#include "runtime/docker_http.hpp"

#include <curl/curl.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace labelrun::runtime {

// One exchange's state, shared with curl's callbacks.
struct HttpExchange {
  const HttpCall* call = nullptr;
  HttpReply* reply = nullptr;
  long status = 0;
  bool headers_done = false;
  bool sink_stopped = false;
  bool too_large = false;
};

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;
// How often a running exchange looks at its stop flag.
constexpr int kPollMs = 100;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool Is2xx(long status) { return status >= 200 && status < 300; }

size_t OnHeader(char* data, size_t size, size_t n, void* userdata) {
  auto* ex = static_cast<HttpExchange*>(userdata);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    size_t space = line.find(' ');
    ex->status = space == std::string_view::npos ? 0 : std::atol(line.data() + space + 1);
    ex->headers_done = false;
  } else if ((line == "\r\n" || line == "\n") && ex->status >= 200 && !ex->headers_done) {
    ex->headers_done = true;
    if (ex->call->on_headers) ex->call->on_headers(ex->status);
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* userdata) {
  auto* ex = static_cast<HttpExchange*>(userdata);
  std::string_view chunk(data, size * n);
  std::string& body = ex->reply->body;
  if (!Is2xx(ex->status)) {
    if (body.size() < kMaxErrorBody) body.append(chunk.substr(0, kMaxErrorBody - body.size()));
    return chunk.size();
  }
  if (ex->call->on_body) {
    if (ex->call->on_body(chunk)) return chunk.size();
    ex->sink_stopped = true;
    return 0;  // ends the transfer
  }
  if (body.size() + chunk.size() > kMaxCollectedBody) {
    ex->too_large = true;
    return 0;
  }
  body.append(chunk);
  return chunk.size();
}

bool IsTlsFailure(CURLcode rc) {
  switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
      return true;
    default:
      return false;
  }
}

}  // namespace

void HttpCancel::Cancel() {
  cancelled_ = true;
  std::lock_guard lock(mu_);
  if (multi_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void HttpCancel::Attach(void* multi) {
  std::lock_guard lock(mu_);
  multi_ = multi;
}

void HttpCancel::Detach() {
  std::lock_guard lock(mu_);
  multi_ = nullptr;
}

DockerHttp::DockerHttp(DockerEndpoint endpoint, std::chrono::milliseconds connect_timeout)
    : endpoint_(std::move(endpoint)), connect_timeout_(connect_timeout) {
  GlobalInitOnce();
  std::string_view url = endpoint_.url;
  if (url.rfind("unix://", 0) == 0) {
    socket_path_ = std::string(url.substr(7));
    base_url_ = "http://docker";
  } else {
    base_url_ = "https://" + std::string(url.substr(6));
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  }
}

Result<HttpReply> DockerHttp::Perform(const HttpCall& call) const {
  HttpReply reply;
  HttpExchange ex{&call, &reply};
  CURL* easy = curl_easy_init();
  CURLM* multi = curl_multi_init();
  if (easy == nullptr || multi == nullptr) {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
    return Unexpected(ErrorCode::kInternal, "curl could not start a request");
  }
  std::string url = base_url_ + (call.version.empty() ? "" : "/v" + call.version) + call.path;
  curl_slist* headers = nullptr;
  if (call.method == "POST" || call.method == "PUT") {
    headers = curl_slist_append(headers, ("Content-Type: " + call.content_type).c_str());
  }
  // Large bodies (CopyIn) must not wait for "100 Continue".
  headers = curl_slist_append(headers, "Expect:");
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &ex);
  Configure(easy, call);
  curl_multi_add_handle(multi, easy);
  if (call.cancel != nullptr) call.cancel->Attach(multi);

  int rc = CURLE_OK;
  bool finished = Drive(multi, call, &rc);
  if (call.cancel != nullptr) call.cancel->Detach();
  Failure failure{rc, errbuf, 0, 0, 0};
  curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &failure.os_errno);
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &failure.connect_us);
  curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &failure.tls_us);
  curl_multi_remove_handle(multi, easy);
  curl_easy_cleanup(easy);
  curl_multi_cleanup(multi);
  curl_slist_free_all(headers);

  reply.status = ex.status;
  if (!finished || ex.sink_stopped) {
    reply.aborted = true;
    return reply;
  }
  if (ex.too_large) {
    return Unexpected(ErrorCode::kResourceExhausted,
                      call.what + ": docker's answer is larger than " +
                          std::to_string(kMaxCollectedBody >> 20) + " MiB");
  }
  if (rc == CURLE_OK) return reply;
  return TransportError(call, ex, failure);
}

void DockerHttp::Configure(void* handle, const HttpCall& call) const {
  CURL* easy = static_cast<CURL*>(handle);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, long(connect_timeout_.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, long(call.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 64L * 1024);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  if (call.method == "POST" || call.method == "PUT") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call.body.empty() ? "" : call.body.data());
  }
  if (!socket_path_.empty()) {
    curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
    return;
  }
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
  // A wait may idle for days: keepalive notices a remote host that vanished.
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 60L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 30L);
  curl_easy_setopt(easy, CURLOPT_SSLVERSION, long(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  // Only the endpoint's CA vouches for the daemon, not the system store.
  curl_easy_setopt(easy, CURLOPT_CAINFO, endpoint_.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(easy, CURLOPT_SSLCERT, endpoint_.cert_file.c_str());
  curl_easy_setopt(easy, CURLOPT_SSLKEY, endpoint_.key_file.c_str());
}

bool DockerHttp::Drive(void* handle, const HttpCall& call, int* rc) {
  CURLM* multi = static_cast<CURLM*>(handle);
  while (true) {
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      *rc = CURLE_FAILED_INIT;
      return true;
    }
    if (running == 0) {
      int left = 0;
      CURLMsg* msg = curl_multi_info_read(multi, &left);
      *rc = (msg != nullptr && msg->msg == CURLMSG_DONE) ? msg->data.result : CURLE_OK;
      return true;
    }
    if ((call.stop != nullptr && call.stop->load()) ||
        (call.cancel != nullptr && call.cancel->cancelled())) {
      return false;
    }
    curl_multi_poll(multi, nullptr, 0, kPollMs, nullptr);
  }
}

Error DockerHttp::TransportError(const HttpCall& call, const HttpExchange& ex,
                                 const Failure& f) const {
  auto rc = static_cast<CURLcode>(f.rc);
  std::string where = "docker at " + endpoint_.url;
  std::string why = f.errbuf[0] != '\0' ? std::string(f.errbuf) : curl_easy_strerror(rc);
  bool tls = socket_path_.empty();
  if (!tls && rc == CURLE_COULDNT_CONNECT) {
    struct stat st {};
    if (stat(socket_path_.c_str(), &st) != 0) {
      why = "no socket at " + socket_path_ + " (is dockerd running?)";
    } else if (f.os_errno == EACCES) {
      return Error(ErrorCode::kPermissionDenied,
                   where + " refuses this user: permission denied on " + socket_path_ +
                       " (is the user in the docker group?)");
    } else if (f.os_errno != 0) {
      why = std::strerror(static_cast<int>(f.os_errno)) + std::string(" on ") + socket_path_;
    }
  }
  if (rc == CURLE_OPERATION_TIMEDOUT && f.connect_us > 0) {
    return Error(ErrorCode::kDeadlineExceeded, call.what + ": " + where +
                                                   " did not answer within " +
                                                   std::to_string(call.timeout.count()) + " ms");
  }
  if (tls &&
      (IsTlsFailure(rc) || (ex.status == 0 && (why.find("alert") != std::string::npos ||
                                               why.find("certificate") != std::string::npos)))) {
    return Error(ErrorCode::kUnauthenticated, "TLS with " + where + " failed: " + why +
                                                  " (check ca_file, cert_file and key_file)");
  }
  // With TLS 1.3 the client's side of the handshake is done before the daemon has
  // checked the client certificate; refusing it, the daemon closes the fresh
  // connection, often with a reset that loses its alert. A daemon that stops
  // answering otherwise is refused at connect, not after a handshake.
  if (tls && f.tls_us > 0 && ex.status == 0 &&
      (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING)) {
    return Error(ErrorCode::kUnauthenticated,
                 "TLS with " + where +
                     " failed: the daemon closed the connection right after the handshake (" + why +
                     "), as it does when it refuses the client certificate (check ca_file, "
                     "cert_file and key_file)");
  }
  if (f.connect_us == 0 || rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
    return Error(ErrorCode::kUnavailable, where + " is unreachable: " + why);
  }
  return Error(ErrorCode::kUnavailable,
               call.what + ": the connection to " + where +
                   (ex.headers_done ? " broke: " : " ended without an answer: ") + why);
}

}  // namespace labelrun::runtime
