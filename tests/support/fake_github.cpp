#include "support/fake_github.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>

#include "labelrun/core/strings.hpp"
#include "labelrun/github/jwt.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using std::chrono::system_clock;

int64_t UnixSeconds(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string Iso8601(system_clock::time_point t) {
  std::time_t secs = static_cast<std::time_t>(UnixSeconds(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    std::string bytes;
    if (s[i] == '%' && i + 2 < s.size() && HexDecode(s.substr(i + 1, 2), bytes)) {
      out += bytes;
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string ReasonPhrase(long status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    default:
      return "Error";
  }
}

std::string Message(const std::string& m) { return json{{"message", m}}.dump(); }

}  // namespace

FakeGithub::FakeGithub(Options options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 16) != 0) {
    throw std::runtime_error("FakeGithub: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  for (int i = 1; i < options_.connection_threads; ++i) {
    workers_.emplace_back([this] {
      for (;;) {
        int fd;
        {
          std::unique_lock lock(accepted_mu_);
          accepted_cv_.wait(lock, [this] { return stop_ || !accepted_.empty(); });
          if (accepted_.empty()) return;  // stopping
          fd = accepted_.front();
          accepted_.pop_front();
        }
        HandleConnection(fd);
        close(fd);
      }
    });
  }
  thread_ = std::thread([this] { Serve(); });
}

FakeGithub::~FakeGithub() {
  {
    std::lock_guard lock(accepted_mu_);
    stop_ = true;
  }
  accepted_cv_.notify_all();
  thread_.join();
  for (std::thread& t : workers_) t.join();
  for (int fd : accepted_) close(fd);
  close(listen_fd_);
}

std::string FakeGithub::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeGithub::Serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    if (!workers_.empty()) {
      {
        std::lock_guard lock(accepted_mu_);
        accepted_.push_back(fd);
      }
      accepted_cv_.notify_one();
      continue;
    }
    HandleConnection(fd);
    close(fd);
  }
}

void FakeGithub::HandleConnection(int fd) {
  std::string data;
  char buf[16384];
  size_t header_end = std::string::npos;
  size_t content_length = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!stop_ && std::chrono::steady_clock::now() < deadline) {
    if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    data.append(buf, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string lower = ToLower(data.substr(0, header_end));
        size_t cl = lower.find("\r\ncontent-length:");
        if (cl != std::string::npos) content_length = std::stoul(lower.substr(cl + 17));
      }
    }
  }
  if (header_end == std::string::npos || data.size() < header_end + 4 + content_length) return;

  Parsed req;
  std::vector<std::string_view> lines = Split(std::string_view(data).substr(0, header_end), '\n');
  std::vector<std::string_view> first = Split(Trim(lines[0]), ' ');
  if (first.size() < 2) return;
  req.method = std::string(first[0]);
  std::string target(first[1]);
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    req.headers[ToLower(Trim(lines[i].substr(0, colon)))] =
        std::string(Trim(lines[i].substr(colon + 1)));
  }
  req.body = data.substr(header_end + 4, content_length);
  size_t q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) {
    for (std::string_view kv : Split(std::string_view(target).substr(q + 1), '&')) {
      size_t eq = kv.find('=');
      if (eq != std::string_view::npos) {
        req.query[std::string(kv.substr(0, eq))] = PercentDecode(kv.substr(eq + 1));
      }
    }
  }

  // Stamped before the routing lock, which a test reading the log may hold for a
  // while: the time is when the request was read, not when its turn came.
  const int64_t received_ms = clock_.NowUnixMillis();
  std::unique_lock route_lock(route_mu_);
  Response res = Route(req);
  {
    std::lock_guard lock(mu_);
    std::string auth = req.header("authorization");
    requests_.push_back(FakeRequest{req.method, target, auth.substr(0, auth.find(' ')),
                                    req.header("user-agent"), req.header("accept"),
                                    req.header("x-github-api-version"), res.hang ? 0 : res.status,
                                    req.body, received_ms});
  }
  route_lock.unlock();
  if (res.drop) return;
  if (res.hang) {
    // Hold the connection until the client gives up and closes it.
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) > 0 && recv(fd, buf, sizeof buf, 0) <= 0) return;
    }
    return;
  }
  std::string out = "HTTP/1.1 " + std::to_string(res.status) + " " + ReasonPhrase(res.status) +
                    "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: " +
                    std::to_string(res.body.size()) + "\r\nConnection: close\r\n";
  for (const std::string& h : res.headers) out += h + "\r\n";
  out += "\r\n" + res.body;
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

bool FakeGithub::VerifyJwt(const std::string& jwt, std::string& why) const {
  std::vector<std::string_view> parts = Split(jwt, '.');
  if (parts.size() != 3) return why = "A JSON web token could not be decoded", false;
  auto header = github::Base64UrlDecode(parts[0]);
  auto payload = github::Base64UrlDecode(parts[1]);
  auto sig = github::Base64UrlDecode(parts[2]);
  if (!header || !payload || !sig) return why = "A JSON web token could not be decoded", false;
  json h = json::parse(*header, nullptr, false);
  json c = json::parse(*payload, nullptr, false);
  if (!h.is_object() || h.value("alg", "") != "RS256") {
    return why = "the JWT must be signed with RS256", false;
  }
  if (options_.public_key_pem.empty()) return why = "no App key configured", false;
  BIO* bio = BIO_new_mem_buf(options_.public_key_pem.data(),
                             static_cast<int>(options_.public_key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string input = std::string(parts[0]) + "." + std::string(parts[1]);
  bool ok =
      key != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  ERR_clear_error();
  if (!ok) return why = "A JSON web token could not be decoded (bad signature)", false;
  if (!c.is_object() || !c.contains("iat") || !c.contains("exp") || !c.contains("iss") ||
      !c["iat"].is_number_integer() || !c["exp"].is_number_integer()) {
    return why = "the JWT lacks iat, exp or iss", false;
  }
  std::string iss = c["iss"].is_string() ? c["iss"].get<std::string>() : c["iss"].dump();
  if (iss != options_.app_issuer) return why = "Integration not found (iss)", false;
  int64_t now = UnixSeconds(clock_.Now());
  int64_t iat = c["iat"], exp = c["exp"];
  if (iat > now)
    return why =
               "'Issued at' claim ('iat') must be an Integer representing the time that the "
               "assertion was issued",
           false;
  if (exp <= now)
    return why =
               "'Expiration time' claim ('exp') must be a numeric value representing the future "
               "time at which the assertion expires",
           false;
  if (exp > now + 600 || exp - iat > 660)
    return why = "'Expiration time' claim ('exp') is too far in the future", false;
  return true;
}

FakeGithub::Response FakeGithub::IssueToken(const Parsed& req, const std::string& installation) {
  {
    std::lock_guard lock(mu_);
    if (!token_faults_.empty()) {
      auto [fault, secs] = token_faults_.front();
      token_faults_.pop_front();
      return FaultResponse(fault, secs);
    }
  }
  std::string auth = req.header("authorization");
  std::string why;
  if (auth.rfind("Bearer ", 0) != 0) {
    why = "A JSON web token must be sent as Authorization: Bearer";
  } else if (VerifyJwt(auth.substr(7), why)) {
    {
      std::lock_guard lock(mu_);
      for (int64_t gone : uninstalled_) {
        if (std::to_string(gone) == installation) {
          return {404,
                  json{{"message", "Not Found"},
                       {"documentation_url",
                        "https://docs.github.com/rest/apps/apps#create-an-installation-access-"
                        "token-for-an-app"},
                       {"status", "404"}}
                      .dump(),
                  {},
                  false};
        }
      }
    }
    std::random_device rd;
    std::string token =
        "ghs_fake" + std::to_string(rd()) + std::to_string(rd()) + "_" + installation;
    auto expires = clock_.Now() + options_.token_lifetime;
    std::lock_guard lock(mu_);
    tokens_[token] = expires;
    ++tokens_issued_;
    last_jwt_error_.clear();
    return {201,
            json{{"token", token},
                 {"expires_at", Iso8601(expires)},
                 {"permissions", {{"issues", "write"}}}}
                .dump(),
            {},
            false};
  }
  std::lock_guard lock(mu_);
  last_jwt_error_ = why;
  return {401, Message(why), {}, false};
}

// A form field of an application/x-www-form-urlencoded body ('+' is a space).
static std::string FormField(const std::string& body, const std::string& name) {
  for (std::string_view kv : Split(body, '&')) {
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos || kv.substr(0, eq) != name) continue;
    std::string value(kv.substr(eq + 1));
    std::replace(value.begin(), value.end(), '+', ' ');
    return PercentDecode(value);
  }
  return {};
}

FakeGithub::Response FakeGithub::NewApp(const Parsed& req, const std::string& organization) {
  json manifest = json::parse(FormField(req.body, "manifest"), nullptr, false);
  if (!manifest.is_object() || !manifest.contains("name") || !manifest.contains("redirect_url") ||
      !manifest["hook_attributes"].is_object() || !manifest["hook_attributes"].contains("url")) {
    return {422, Message("Invalid GitHub App configuration"), {}, false};
  }
  std::lock_guard lock(mu_);
  app_manifests_.push_back(manifest.dump());
  const int64_t id = ++next_id_;
  const std::string name = manifest["name"].get<std::string>();
  std::string slug;
  for (char c : name) slug += std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '-';
  const std::string owner = organization.empty() ? "octocat" : organization;
  json app = {{"id", id},
              {"slug", slug},
              {"node_id", "MDM6QXBw" + std::to_string(id)},
              {"owner", {{"login", owner}}},
              {"name", name},
              {"html_url", url() + "/apps/" + slug},
              {"permissions", manifest.value("default_permissions", json::object())},
              {"events", manifest.value("default_events", json::array())},
              {"client_id", "Iv1." + std::to_string(id) + "abcdef"},
              {"client_secret", "client-secret-" + std::to_string(id) + "-0123456789abcdef"},
              {"webhook_secret", "whsec-" + std::to_string(id) + "-0123456789abcdef0123456789"},
              {"pem", options_.app_private_key_pem}};
  const std::string code = "code" + std::to_string(id) + "x" + std::to_string(next_id_ * 7919);
  manifest_codes_[code] = app.dump();
  const auto state = req.query.find("state");
  return {302,
          "",
          {"Location: " + manifest["redirect_url"].get<std::string>() + "?code=" + code +
           (state == req.query.end() ? "" : "&state=" + state->second)},
          false};
}

FakeGithub::Response FakeGithub::ConvertManifest(const std::string& code) {
  std::lock_guard lock(mu_);
  auto it = manifest_codes_.find(code);
  if (it == manifest_codes_.end()) return {404, Message("Not Found"), {}, false};
  std::string app = std::move(it->second);
  manifest_codes_.erase(it);  // single use
  return {201, std::move(app), {}, false};
}

std::vector<std::string> FakeGithub::AppManifests() const {
  std::lock_guard lock(mu_);
  return app_manifests_;
}

// GET /repos/{o}/{r}/installation: App JWT only, as on GitHub.
FakeGithub::Response FakeGithub::RepoInstallation(const Parsed& req, const std::string& repo) {
  std::string auth = req.header("authorization");
  std::string why;
  if (auth.rfind("Bearer ", 0) != 0 || !VerifyJwt(auth.substr(7), why)) {
    if (why.empty()) why = "A JSON web token could not be decoded";
    std::lock_guard lock(mu_);
    last_jwt_error_ = why;
    return {401, Message(why), {}, false};
  }
  std::lock_guard lock(mu_);
  auto it = repo_installations_.find(repo);
  if (it == repo_installations_.end() ||
      std::find(uninstalled_.begin(), uninstalled_.end(), it->second) != uninstalled_.end()) {
    return {404, Message("Not Found"), {}, false};
  }
  std::string owner = repo.substr(0, repo.find('/'));
  return {200,
          json{{"id", it->second},
               {"account", {{"login", owner}, {"id", 5000}, {"type", "Organization"}}},
               {"repository_selection", "selected"},
               {"app_id", 12345},
               {"target_type", "Organization"},
               {"permissions", {{"issues", "write"}, {"metadata", "read"}}},
               {"suspended_at", nullptr}}
              .dump(),
          {},
          false};
}

FakeGithub::Response FakeGithub::FaultResponse(FakeFault fault, int64_t secs) const {
  switch (fault) {
    case FakeFault::kRetryAfter:
      return {403,
              Message("You have exceeded a secondary rate limit. Please wait a few minutes "
                      "before you try again."),
              {"retry-after: " + std::to_string(secs)},
              false};
    case FakeFault::kSecondaryRetryAfter:
      return {403,
              Message("You have exceeded a secondary rate limit. Please wait a few minutes before "
                      "you try again. If you reach out to GitHub Support for help, please include "
                      "the request ID 0C3A:2F1B:5D2E1:6B3F4:6750E1A2."),
              {"retry-after: " + std::to_string(secs)},
              false};
    case FakeFault::kRateLimitReset:
      return {403,
              Message("API rate limit exceeded for installation ID 1."),
              {"x-ratelimit-limit: 5000", "x-ratelimit-remaining: 0", "x-ratelimit-used: 5000",
               "x-ratelimit-reset: " + std::to_string(UnixSeconds(clock_.Now()) + secs)},
              false};
    case FakeFault::kSecondary:
      return {403,
              Message("You have exceeded a secondary rate limit and have been temporarily "
                      "blocked from content creation. Please retry your request again later."),
              {},
              false};
    case FakeFault::kTooMany:
      return {429, Message("Too many requests"), {}, false};
    case FakeFault::kServerError:
      return {500, Message("Server Error"), {}, false};
    case FakeFault::kBadGateway:
      return {502, "<html><body><h1>502 Bad Gateway</h1></body></html>", {}, false};
    case FakeFault::kHang:
      return {0, "", {}, true};
    case FakeFault::kClose:
      return {0, "", {}, false, true};
    case FakeFault::kForbidden:
      return {403, Message("Resource not accessible by integration"), {}, false};
    case FakeFault::kUnprocessable:
      return {422, Message("Validation Failed"), {}, false};
  }
  return {500, Message("Server Error"), {}, false};
}

FakeGithub::Response FakeGithub::Route(const Parsed& req) {
  std::vector<std::string> seg;
  for (std::string_view s : Split(req.path, '/')) {
    if (!s.empty()) seg.push_back(PercentDecode(s));
  }
  if (req.header("user-agent").empty()) {
    return {403,
            Message("Request forbidden by administrative rules. Please make sure your request has "
                    "a User-Agent header"),
            {},
            false};
  }
  if (req.method == "POST" && seg.size() == 4 && seg[0] == "app" && seg[1] == "installations" &&
      seg[3] == "access_tokens") {
    return IssueToken(req, seg[2]);
  }
  // The manifest flow: a browser form post on github.com, then the code exchange.
  if (req.method == "POST" && seg.size() == 3 && seg[0] == "settings" && seg[1] == "apps" &&
      seg[2] == "new") {
    return NewApp(req, "");
  }
  if (req.method == "POST" && seg.size() == 5 && seg[0] == "organizations" &&
      seg[2] == "settings" && seg[3] == "apps" && seg[4] == "new") {
    return NewApp(req, seg[1]);
  }
  if (req.method == "POST" && seg.size() == 3 && seg[0] == "app-manifests" &&
      seg[2] == "conversions") {
    return ConvertManifest(seg[1]);
  }
  if (req.method == "GET" && seg.size() == 4 && seg[0] == "repos" && seg[3] == "installation") {
    return RepoInstallation(req, seg[1] + "/" + seg[2]);
  }
  if (req.method == "GET" && seg.size() == 4 && seg[0] == "_codeload") {
    // The download host: the URL is the credential, as on codeload.github.com.
    std::lock_guard lock(mu_);
    auto it = tarballs_.find(seg[1] + "/" + seg[2] + "@" + seg[3]);
    if (it == tarballs_.end() || req.query.count("token") == 0) {
      return {404, Message("Not Found"), {}, false};
    }
    return {200, it->second, {}, false};
  }
  std::string auth = req.header("authorization");
  size_t space = auth.find(' ');
  std::string scheme = auth.substr(0, space);
  std::string token = space == std::string::npos ? "" : auth.substr(space + 1);
  {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(token);
    bool valid = (scheme == "Bearer" || scheme == "token") &&
                 ((!options_.static_token.empty() && token == options_.static_token) ||
                  (it != tokens_.end() && clock_.Now() < it->second));
    if (!valid) return {401, Message("Bad credentials"), {}, false};
    std::optional<std::pair<FakeFault, int64_t>> due;
    auto path_fault =
        std::find_if(path_faults_.begin(), path_faults_.end(), [&](const PathFault& f) {
          return req.path == f.path || (f.path.ends_with('/') && req.path.starts_with(f.path));
        });
    if (path_fault != path_faults_.end()) {
      due.emplace(path_fault->fault, path_fault->seconds);
      path_faults_.erase(path_fault);
    } else if (!faults_.empty()) {
      due = faults_.front();
      faults_.pop_front();
    }
    if (due) return FaultResponse(due->first, due->second);
  }
  if (seg.size() >= 3 && seg[0] == "repos") return Api(req, seg);
  return {404, Message("Not Found"), {}, false};
}

}  // namespace labelrun::testing
