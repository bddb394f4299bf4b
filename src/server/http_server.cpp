// The Beast/Asio listener and sessions. The only translation unit that includes
// Beast: it is slow to compile, and the logic it calls lives elsewhere
// (webhook_handler.cpp, metrics.cpp) with its own tests.

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstring>

#include <list>
#include <mutex>
#include <thread>

#include "labelrun/server/server.hpp"
#include "labelrun/webhook/parse.hpp"
#include "server/async_ops.hpp"
#include "server/request_limits.hpp"
#include "server/response_head.hpp"
#include "server/webhook_handler.hpp"

namespace labelrun::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadBufferBytes = 16 * 1024;
constexpr size_t kFileChunkBytes = 64 * 1024;  // a file body is read and sent in these
// After a request body this large, free memory goes back to the system: a
// 25 MB delivery must not leave the process 25 MB (or, with its parse, many
// times that) bigger for good.
constexpr size_t kTrimAfterBodyBytes = 1 << 20;
// A request body's buffer up to this capacity is kept for the connection's
// next request (a larger one is freed).
constexpr size_t kKeepBodyBytes = 32 * 1024;
// The most one async_read_some reads from the socket (Beast's own read size).
constexpr uint64_t kReadBytes = 65536;

// Gives the heap's free memory back to the system after a large body, at most
// once a second: malloc_trim walks the heap on an I/O thread, and any client can
// send large bodies.
void TrimHeap() {
  static std::atomic<int64_t> last_ms{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_ms.load(std::memory_order_relaxed);
  if (now - last < 1000 || !last_ms.compare_exchange_strong(last, now)) return;
  malloc_trim(0);
}
// What a client is told to wait when the body budget is spent.
constexpr const char* kRetryAfterSeconds = "5";

// Printable, bounded text from an untrusted header, for log lines.
std::string ForLog(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out.push_back(c > 0x20 && c < 0x7f ? c : '?');
  return out.empty() ? "-" : out;
}

struct Reply {
  Outcome outcome = Outcome::kOk;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  bool close = false;  // the request body was not read, or the server is stopping
  bool abort = false;  // the client is gone: close without answering
  bool head = false;   // answer a HEAD request: headers only
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::optional<FileSlice> file = {};  // the body, read from disk as it is sent
};

// What Shutdown() needs to reach a session: its executor and a way to cancel its
// socket while it waits for the next request.
struct SessionControl {
  asio::any_io_executor executor;
  std::function<void()> cancel;  // run on `executor` only
  bool busy = false;             // touched on `executor` only
  // Read from the accept loop to pick a connection to close at max_connections:
  // whether the session waits for a request, and since when (steady clock).
  std::atomic<bool> idle{true};
  std::atomic<int64_t> idle_since_ns{0};
  std::atomic<bool> evicted{false};
};

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class ServerImpl final : public Server {
 public:
  ServerImpl(const config::ServerConfig& config, bool keep_bodies,
             std::shared_ptr<const webhook::SignatureVerifier> verifier, ServerDeps deps)
      : config_(config),
        keep_bodies_(keep_bodies),
        deps_(deps),
        body_budget_(config.max_inflight_body_bytes),
        verifier_(std::move(verifier)),
        ioc_(static_cast<int>(config.threads)),
        control_(asio::make_strand(ioc_)),
        acceptor_(control_),
        signals_(control_),
        drain_timer_(control_),
        tick_timer_(control_) {}

  Status Init() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(config_.host, ec);
    if (ec) {
      return Unexpected(ErrorCode::kInvalidArgument,
                        "server.listen: '" + config_.host + "' is not an IP address");
    }
    tcp::endpoint endpoint(address, config_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unexpected(ErrorCode::kUnavailable, "cannot listen on " + config_.host + ":" +
                                                     std::to_string(config_.port) + ": " +
                                                     ec.message());
    }
    if (config_.tls.enabled()) {
      ssl_ = std::make_unique<ssl::context>(ssl::context::tls_server);
      ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                        ssl::context::single_dh_use);
      SSL_CTX_set_min_proto_version(ssl_->native_handle(), TLS1_2_VERSION);
      ssl_->use_certificate_chain_file(config_.tls.cert_file, ec);
      if (ec) {
        return Unexpected(ErrorCode::kInvalidArgument,
                          "server.tls.cert_file: " + config_.tls.cert_file + ": " + ec.message());
      }
      ssl_->use_private_key_file(config_.tls.key_file, ssl::context::pem, ec);
      if (ec) {
        return Unexpected(ErrorCode::kInvalidArgument,
                          "server.tls.key_file: " + config_.tls.key_file + ": " + ec.message());
      }
    }
    return Ok();
  }

  uint16_t port() const override { return acceptor_.local_endpoint().port(); }

  void Run(RunHooks hooks) override {
    hooks_ = std::move(hooks);
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    WaitForSignal();
    asio::co_spawn(control_, Accept(), asio::detached);
    spdlog::info("listening on {}://{}:{}{} ({} I/O thread{})", ssl_ ? "https" : "http",
                 config_.host, port(), config_.webhook_path, config_.threads,
                 config_.threads == 1 ? "" : "s");
    asio::post(control_, [this] {
      if (stopping_) return;
      if (hooks_.on_ready) hooks_.on_ready();
      if (hooks_.on_tick && hooks_.tick_interval.count() > 0) Tick();
    });
    std::vector<std::thread> threads;
    for (uint32_t i = 1; i < config_.threads; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (std::thread& t : threads) t.join();
  }

  void Shutdown() override {
    asio::post(control_, [this] { BeginShutdown(); });
  }

  void SetVerifier(std::shared_ptr<const webhook::SignatureVerifier> verifier) override {
    std::lock_guard lock(verifier_mu_);
    verifier_ = std::move(verifier);
  }

 private:
  std::shared_ptr<const webhook::SignatureVerifier> verifier() {
    std::lock_guard lock(verifier_mu_);
    return verifier_;
  }

  void WaitForSignal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        spdlog::info("SIGHUP: reloading");
        if (hooks_.on_reload) hooks_.on_reload();
        WaitForSignal();
        return;
      }
      spdlog::info("{}: finishing requests in flight, then exiting",
                   signo == SIGTERM ? "SIGTERM" : "SIGINT");
      BeginShutdown();
    });
  }

  // Runs on control_, like the timer's handler; stops with shutdown.
  void Tick() {
    hooks_.on_tick();
    tick_timer_.expires_after(hooks_.tick_interval);
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopping_) Tick();
    });
  }

  // Runs on control_, like every use of signals_ and drain_timer_.
  void BeginShutdown() {
    if (stopping_.exchange(true)) return;
    if (hooks_.on_stopping) hooks_.on_stopping();
    tick_timer_.cancel();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    // Default dispositions again: a second SIGTERM ends the process at once.
    signals_.clear(ignored);
    std::lock_guard lock(sessions_mu_);
    for (const std::weak_ptr<SessionControl>& weak : sessions_) {
      if (auto ctrl = weak.lock()) {
        asio::post(ctrl->executor, [ctrl] {
          if (!ctrl->busy && ctrl->cancel) ctrl->cancel();
        });
      }
    }
    if (!sessions_.empty()) {
      // A request that never completes must not keep the process alive forever.
      drain_timer_.expires_after(config_.read_timeout + config_.write_timeout);
      drain_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) {
          spdlog::warn("shutdown: connections still open after the drain period; closing");
          ioc_.stop();
        }
      });
    }
  }

  std::list<std::weak_ptr<SessionControl>>::iterator Register(
      const std::shared_ptr<SessionControl>& ctrl) {
    std::lock_guard lock(sessions_mu_);
    return sessions_.insert(sessions_.end(), ctrl);
  }

  void Unregister(std::list<std::weak_ptr<SessionControl>>::iterator it) {
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(it);
    if (stopping_ && sessions_.empty()) asio::post(control_, [this] { drain_timer_.cancel(); });
  }

  asio::awaitable<void> Accept() {
    while (!stopping_) {
      // With one I/O thread a session needs no strand, and skipping it saves an
      // executor indirection on every completion.
      asio::any_io_executor session_executor = config_.threads > 1
                                                   ? asio::any_io_executor(asio::make_strand(ioc_))
                                                   : asio::any_io_executor(ioc_.get_executor());
      auto [ec, socket] = co_await acceptor_.async_accept(session_executor, kNoThrow);
      if (ec) {
        if (stopping_ || ec == asio::error::operation_aborted) co_return;
        // Out of file descriptors and the like: free a descriptor held by an
        // idle connection, wait longer each time rather than spin, and say so
        // at most once a minute.
        const auto now = std::chrono::steady_clock::now();
        ++accept_failures_;
        if (!last_accept_warning_ || now - *last_accept_warning_ >= std::chrono::minutes(1)) {
          spdlog::warn(
              "accept failed: {} ({} time{} since the last report); closing idle connections "
              "and retrying with backoff",
              ec.message(), accept_failures_, accept_failures_ == 1 ? "" : "s");
          last_accept_warning_ = now;
          accept_failures_ = 0;
        }
        accept_pause_ = accept_pause_.count() == 0
                            ? std::chrono::milliseconds(50)
                            : std::min(accept_pause_ * 2, std::chrono::milliseconds(1000));
        EvictLongestIdle();
        asio::steady_timer pause(acceptor_.get_executor(), accept_pause_);
        co_await pause.async_wait(kNoThrow);
        continue;
      }
      accept_pause_ = std::chrono::milliseconds(0);
      if (deps_.metrics.connections() >= static_cast<int64_t>(config_.max_connections) &&
          !EvictLongestIdle()) {
        // Every connection is inside a request: those end within read_timeout.
        deps_.metrics.ConnectionRejected();
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto ex = socket.get_executor();
      if (ssl_) {
        asio::co_spawn(ex, TlsSession(std::move(socket)), asio::detached);
      } else {
        asio::co_spawn(ex, PlainSession(std::move(socket)), asio::detached);
      }
    }
  }

  // Closes the connection that has waited longest for its next request, so
  // that a client holding idle sockets cannot lock out GitHub's deliveries.
  // False when no connection is idle. Runs on control_.
  bool EvictLongestIdle() {
    std::shared_ptr<SessionControl> oldest;
    int64_t oldest_since = 0;
    {
      std::lock_guard lock(sessions_mu_);
      for (const std::weak_ptr<SessionControl>& weak : sessions_) {
        auto ctrl = weak.lock();
        if (!ctrl || !ctrl->idle.load() || ctrl->evicted.load()) continue;
        const int64_t since = ctrl->idle_since_ns.load();
        if (!oldest || since < oldest_since) {
          oldest = std::move(ctrl);
          oldest_since = since;
        }
      }
    }
    if (!oldest) return false;
    oldest->evicted = true;
    deps_.metrics.ConnectionRejected();
    asio::post(oldest->executor, [oldest] {
      if (!oldest->busy && oldest->cancel) oldest->cancel();
    });
    return true;
  }

  asio::awaitable<void> PlainSession(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    co_await Session(stream);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> TlsSession(tcp::socket socket) {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ssl_);
    beast::get_lowest_layer(stream).expires_after(config_.read_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
    if (ec) {
      spdlog::debug("TLS handshake failed: {}", ec.message());
      co_return;
    }
    co_await Session(stream);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(kNoThrow);
  }

  template <typename Stream>
  asio::awaitable<void> Session(Stream& stream) {
    auto ctrl = std::make_shared<SessionControl>();
    ctrl->executor = co_await asio::this_coro::executor;
    ctrl->idle_since_ns = SteadyNanos();
    ctrl->cancel = [&stream] { beast::get_lowest_layer(stream).cancel(); };
    auto registration = Register(ctrl);
    deps_.metrics.ConnectionOpened();
    try {
      co_await ServeRequests(stream, *ctrl);
    } catch (const std::exception& e) {
      // The one backstop per connection: a bug must not take the server down.
      spdlog::error("connection closed after an unexpected error: {}", e.what());
    }
    deps_.metrics.ConnectionClosed();
    ctrl->cancel = nullptr;
    Unregister(registration);
  }

  template <typename Stream>
  asio::awaitable<void> ServeRequests(Stream& stream, SessionControl& ctrl) {
    beast::flat_buffer buffer;
    // Beast reads at most the buffer's free space per call (512 bytes when
    // empty); room for a typical 12 KB delivery saves twenty-odd recv calls.
    buffer.reserve(kReadBufferBytes);
    std::string spare_body;
    bool first = true;
    while (!stopping_ && !ctrl.evicted) {
      ctrl.busy = false;
      if (!first) {
        ctrl.idle_since_ns = SteadyNanos();
        ctrl.idle = true;
      }
      // Declared before the parser, so that the body is freed before its share
      // of the budget is given back.
      BodyReservation reservation(body_budget_);
      // The body string of the last request, emptied, keeps its capacity: a
      // 12 KB delivery then costs no allocation (and no heap consolidation)
      // per request.
      spare_body.clear();
      std::optional<http::request_parser<http::string_body>> parser;
      parser.emplace(std::piecewise_construct, std::make_tuple(std::move(spare_body)));
      parser->header_limit(config_.max_header_bytes);
      parser->body_limit(config_.max_body_bytes);
      beast::get_lowest_layer(stream).expires_after(first ? config_.read_timeout
                                                          : config_.idle_timeout);
      first = false;
      auto [ec, n] = co_await http::async_read_header(stream, buffer, *parser, kNoThrow);
      ctrl.busy = true;
      ctrl.idle = false;
      if (ec == http::error::header_limit || ec == http::error::body_limit) {
        // Named, not a temporary: GCC 12 destroys temporaries in a co_await
        // expression twice.
        Reply reply = ec == http::error::body_limit
                          ? TooLarge()
                          : Reply{Outcome::kHeaderTooLarge, "request header too large\n",
                                  "text/plain; charset=utf-8", true};
        co_await Write(stream, 11, reply);
        co_return;
      }
      if (ec) co_return;  // closed, timed out, cancelled at shutdown, or not HTTP
      auto started = std::chrono::steady_clock::now();
      Reply reply = co_await Route(stream, buffer, *parser, reservation, started);
      if (reply.abort) co_return;
      bool keep_alive = parser->get().keep_alive() && !reply.close && !stopping_;
      reply.close = !keep_alive;
      const unsigned version = parser->get().version();
      const size_t body_bytes = parser->get().body().capacity();
      if (body_bytes <= kKeepBodyBytes) spare_body = std::move(parser->get().body());
      parser.reset();
      if (body_bytes >= kTrimAfterBodyBytes) TrimHeap();
      if (!co_await Write(stream, version, reply) || !keep_alive) co_return;
    }
  }

  Reply TooLarge() const {
    return Reply{Outcome::kTooLarge,
                 "body larger than server.max_body_bytes (" +
                     std::to_string(config_.max_body_bytes) + " bytes)\n",
                 "text/plain; charset=utf-8", true};
  }

  Reply BudgetSpent() const {
    Reply reply{Outcome::kUnavailable,
                "too many request bodies in flight (server.max_inflight_body_bytes, " +
                    std::to_string(config_.max_inflight_body_bytes) + " bytes); retry later\n",
                "text/plain; charset=utf-8", true};
    reply.headers.emplace_back("Retry-After", kRetryAfterSeconds);
    return reply;
  }

  template <typename Stream>
  asio::awaitable<Reply> Route(Stream& stream, beast::flat_buffer& buffer,
                               http::request_parser<http::string_body>& parser,
                               BodyReservation& reservation,
                               std::chrono::steady_clock::time_point started) {
    const auto& req = parser.get();
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    const bool has_body = !parser.is_done();

    // Framing first: with a Transfer-Encoding labelrun cannot decode, the
    // body's end is unknown, and whatever follows must not be read as the
    // next request.
    std::string transfer_encoding;
    for (auto [it, end] = req.equal_range(http::field::transfer_encoding); it != end; ++it) {
      if (!transfer_encoding.empty()) transfer_encoding += ", ";
      transfer_encoding += it->value();
    }
    if (Status framing = CheckTransferEncoding(
            transfer_encoding, req.find(http::field::content_length) != req.end(), req.version());
        !framing) {
      co_return Reply{Outcome::kBadRequest, framing.error().message() + "\n",
                      "text/plain; charset=utf-8", true};
    }

    if (path == config_.webhook_path) {
      if (req.method() != http::verb::post) {
        co_return Reply{Outcome::kMethodNotAllowed, "use POST\n", "text/plain; charset=utf-8",
                        has_body};
      }
      co_return co_await HandleWebhook(stream, buffer, parser, reservation, started);
    }
    Reply reply;
    reply.close = has_body;  // a body we will not read
    if (deps_.app && deps_.app->Handles(path)) {
      AppRequest app_request;
      app_request.method = std::string(req.method_string());
      app_request.path = std::string(path);
      app_request.query = std::string(target.substr(std::min(target.size(), path.size() + 1)));
      app_request.authorization = std::string(req[http::field::authorization]);
      if (has_body) {
        // A form (login, an action): small, with its length declared up front.
        const auto length = parser.content_length();
        if (!length || *length > kMaxAppBodyBytes) {
          co_return Reply{Outcome::kTooLarge,
                          "a form body is at most " + std::to_string(kMaxAppBodyBytes) +
                              " bytes, with a Content-Length\n",
                          "text/plain; charset=utf-8", true};
        }
        beast::get_lowest_layer(stream).expires_after(config_.read_timeout);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
        if (ec) co_return Reply{Outcome::kBadRequest, "", "text/plain; charset=utf-8", true, true};
        app_request.body = req.body();
        reply.close = false;
      }
      app_request.cookie = std::string(req[http::field::cookie]);
      app_request.content_type = std::string(req[http::field::content_type]);
      app_request.origin = std::string(req[http::field::origin]);
      app_request.tls = !std::is_same_v<Stream, beast::tcp_stream>;
      AppReply app_reply =
          co_await AsyncApp(app_pool_, *deps_.app, std::move(app_request), asio::use_awaitable);
      reply.outcome = app_reply.outcome;
      reply.body = std::move(app_reply.body);
      reply.content_type = std::move(app_reply.content_type);
      reply.headers = std::move(app_reply.headers);
      reply.file = std::move(app_reply.file);
      reply.head = req.method() == http::verb::head;
      co_return reply;
    }
    if (path != "/healthz" && path != "/readyz" && path != "/metrics") {
      reply.outcome = Outcome::kNotFound;
      reply.body = "not found\n";
      co_return reply;
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      reply.outcome = Outcome::kMethodNotAllowed;
      reply.body = "use GET\n";
      co_return reply;
    }
    reply.head = req.method() == http::verb::head;
    if (path == "/healthz") {
      reply.body = "ok\n";
    } else if (path == "/readyz") {
      StoreResult probe = co_await AsyncProbe(deps_.inbox, asio::use_awaitable);
      reply.outcome = probe.ok ? Outcome::kOk : Outcome::kUnavailable;
      reply.body = probe.ok ? "ready\n" : "database not writable: " + probe.error + "\n";
    } else {
      reply.body = deps_.metrics.Render(deps_.inbox_stats);
      reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
    }
    co_return reply;
  }

  template <typename Stream>
  asio::awaitable<Reply> HandleWebhook(Stream& stream, beast::flat_buffer& buffer,
                                       http::request_parser<http::string_body>& parser,
                                       BodyReservation& reservation,
                                       std::chrono::steady_clock::time_point started) {
    const auto& req = parser.get();
    std::string_view event = req["X-GitHub-Event"];
    std::string_view guid = req["X-GitHub-Delivery"];
    auto finish = [&](Reply reply, std::string_view action, std::string_view repo) {
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      deps_.metrics.RecordDelivery(event, reply.outcome, seconds);
      if (!spdlog::should_log(spdlog::level::info)) return reply;
      spdlog::info("delivery {} event={} action={} repo={} outcome={} status={} latency={}us",
                   ForLog(guid), ForLog(event), ForLog(action), ForLog(repo),
                   OutcomeName(reply.outcome), StatusFor(reply.outcome),
                   static_cast<int64_t>(seconds * 1e6));
      return reply;
    };

    if (!parser.is_done()) {
      // The body's memory is taken from the budget before a byte of it is read
      // (Beast reserves the whole Content-Length at once); a chunked body takes
      // its share as it grows.
      if (!reservation.GrowTo(parser.content_length().value_or(0))) {
        co_return finish(BudgetSpent(), "", "");
      }
      // Room for the parser's padding past the body, so that it parses the
      // body where it lies instead of copying it (Beast reserves exactly the
      // Content-Length, already checked against body_limit).
      if (parser.content_length()) {
        parser.get().body().reserve(*parser.content_length() + webhook::kParsePadding);
      }
      if (beast::iequals(req[http::field::expect], "100-continue")) {
        // The client waits for this before sending the body (curl does above 1 KiB).
        http::response<http::empty_body> go_on{http::status::continue_, req.version()};
        beast::get_lowest_layer(stream).expires_after(config_.write_timeout);
        auto [wec, wn] = co_await http::async_write(stream, go_on, kNoThrow);
        if (wec) co_return Reply{Outcome::kBadRequest, "", "text/plain; charset=utf-8", true, true};
      }
      beast::get_lowest_layer(stream).expires_after(config_.read_timeout);
      const bool chunked = !parser.content_length();
      while (!parser.is_done()) {
        if (chunked) {
          // A chunked body grows by what one read brings (at most kReadBytes plus what
          // is buffered): its room is taken from the budget and reserved before the
          // read, so the string never outgrows what the budget allowed.
          std::string& grown = parser.get().body();
          const uint64_t need = grown.size() + buffer.size() + kReadBytes;
          if (need > grown.capacity()) {
            const uint64_t room =
                std::min<uint64_t>(config_.max_body_bytes + kReadBytes,
                                   std::max<uint64_t>(need, 2 * uint64_t{grown.capacity()}));
            if (!reservation.GrowTo(room)) co_return finish(BudgetSpent(), "", "");
            grown.reserve(room);
          }
        }
        auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, kNoThrow);
        if (ec == http::error::body_limit) co_return finish(TooLarge(), "", "");
        if (ec) {
          // The client went away or was too slow; there is nobody to answer.
          Reply gone{Outcome::kBadRequest, "", "text/plain; charset=utf-8", true, true};
          co_return finish(gone, "", "");
        }
        if (!reservation.GrowTo(req.body().capacity())) co_return finish(BudgetSpent(), "", "");
      }
    }

    const std::string& body = req.body();
    WebhookRequest request{req[http::field::content_type], event, guid,
                           req["X-Hub-Signature-256"],     body,  body.capacity()};
    WebhookDecision decision =
        DecideWebhook(request, *verifier(), deps_.clock.NowUnixMillis(), keep_bodies_);
    Reply reply;
    reply.outcome = decision.outcome;
    if (decision.record) {
      StoreResult stored = co_await AsyncAppend(deps_.inbox, *decision.record, asio::use_awaitable);
      if (!stored.ok) {
        reply.outcome = Outcome::kUnavailable;
        reply.body = "could not store the delivery; redeliver it later\n";
      } else if (stored.outcome == store::AppendOutcome::kDuplicate) {
        reply.outcome = Outcome::kDuplicate;
        reply.body = "already received\n";
      } else {
        reply.body = "accepted\n";
      }
    } else if (decision.outcome == Outcome::kPing) {
      reply.body = "pong\n";
    } else if (decision.outcome == Outcome::kIgnored) {
      reply.body = "ignored\n";
    } else {
      reply.body = decision.reason + "\n";
    }
    co_return finish(std::move(reply), decision.action, decision.repository);
  }

  static std::string_view AllowFor(const Reply& reply) {
    if (reply.outcome != Outcome::kMethodNotAllowed) return {};
    return reply.body == "use POST\n" ? "POST" : "GET, HEAD";
  }

  template <typename Stream>
  asio::awaitable<bool> Write(Stream& stream, unsigned version, const Reply& reply) {
    const unsigned status = StatusFor(reply.outcome);
    if (!reply.file && reply.headers.empty()) {
      // Every webhook answer: the head is written as bytes and sent with the
      // body in one buffer; a Beast message costs an allocation per field and
      // a serializer pass for the same bytes.
      std::string out;
      out.reserve(512 + (reply.head ? 0 : reply.body.size()));
      AppendResponseHead({.status = status,
                          .reason = http::obsolete_reason(static_cast<http::status>(status)),
                          .version = version == 10 ? 10u : 11u,
                          .content_type = reply.content_type,
                          .allow = AllowFor(reply),
                          .keep_alive = !reply.close,
                          .content_length = reply.body.size()},
                         out);
      if (!reply.head) out += reply.body;
      beast::get_lowest_layer(stream).expires_after(config_.write_timeout);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), kNoThrow);
      co_return !ec;
    }
    http::response<http::string_body> res{static_cast<http::status>(status), version};
    for (const auto& [name, value] : kFixedHeaders) res.set(name, value);
    res.set(http::field::content_type, reply.content_type);
    if (std::string_view allow = AllowFor(reply); !allow.empty())
      res.set(http::field::allow, allow);
    for (const auto& [name, value] : reply.headers) res.set(name, value);
    res.keep_alive(!reply.close);
    if (reply.head) {
      res.content_length(reply.body.size());
    } else {
      res.body() = reply.body;
      res.prepare_payload();
    }
    if (reply.file) co_return co_await WriteFile(stream, std::move(res.base()), reply);
    beast::get_lowest_layer(stream).expires_after(config_.write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, kNoThrow);
    co_return !ec;
  }

  // Sends reply.file a piece at a time under `header`, so that a download of
  // any size costs one buffer. False when the connection must close.
  template <typename Stream>
  asio::awaitable<bool> WriteFile(Stream& stream, http::response_header<> header,
                                  const Reply& reply) {
    const FileSlice& slice = *reply.file;
    const int fd = open(slice.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      spdlog::warn("cannot open {} to send it: {}", slice.path.string(), std::strerror(errno));
      Reply failed{Outcome::kUnavailable, "the file cannot be read now; try again\n",
                   "text/plain; charset=utf-8", true};
      failed.head = reply.head;
      co_await Write(stream, header.version(), failed);
      co_return false;  // it said Connection: close
    }
    std::unique_ptr<int, void (*)(int*)> closer(new int(fd), [](int* p) {
      close(*p);
      delete p;
    });
    http::response<http::buffer_body> res{std::move(header)};
    res.content_length(slice.length);
    res.body().data = nullptr;
    res.body().more = true;
    http::response_serializer<http::buffer_body> sr{res};
    beast::get_lowest_layer(stream).expires_after(config_.write_timeout);
    auto [hec, hn] = co_await http::async_write_header(stream, sr, kNoThrow);
    if (hec) co_return false;
    if (reply.head) co_return true;
    std::vector<char> buf(kFileChunkBytes);
    uint64_t left = slice.length;
    auto at = static_cast<off_t>(slice.offset);
    while (left > 0) {
      const ssize_t got = pread(fd, buf.data(), std::min<uint64_t>(left, buf.size()), at);
      if (got < 0 && errno == EINTR) continue;
      // The file shrank: the promised length cannot be sent, so the
      // connection ends short and the client sees a truncated download.
      if (got <= 0) co_return false;
      left -= static_cast<uint64_t>(got);
      at += got;
      res.body().data = buf.data();
      res.body().size = static_cast<size_t>(got);
      res.body().more = left > 0;
      beast::get_lowest_layer(stream).expires_after(config_.write_timeout);
      auto [ec, n] = co_await http::async_write(stream, sr, kNoThrow);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return false;
    }
    co_return true;
  }

  const config::ServerConfig config_;
  const bool keep_bodies_;
  ServerDeps deps_;
  BodyBudget body_budget_;
  // While accept fails (out of descriptors); touched on control_ only.
  std::chrono::milliseconds accept_pause_{0};
  std::optional<std::chrono::steady_clock::time_point> last_accept_warning_;
  uint64_t accept_failures_ = 0;
  std::mutex verifier_mu_;
  std::shared_ptr<const webhook::SignatureVerifier> verifier_;
  asio::io_context ioc_;
  asio::strand<asio::io_context::executor_type> control_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  asio::steady_timer tick_timer_;
  std::unique_ptr<ssl::context> ssl_;
  RunHooks hooks_;
  std::atomic<bool> stopping_{false};
  std::mutex sessions_mu_;
  std::list<std::weak_ptr<SessionControl>> sessions_;
  asio::thread_pool app_pool_{2};  // AppRoutes handlers: SQLite and file reads
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Create(
    const config::ServerConfig& config, bool keep_bodies,
    std::shared_ptr<const webhook::SignatureVerifier> verifier, ServerDeps deps) {
  auto server = std::make_unique<ServerImpl>(config, keep_bodies, std::move(verifier), deps);
  if (Status s = server->Init(); !s) return s.error();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace labelrun::server
