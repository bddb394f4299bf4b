#pragma once
// labelrun's HTTP(S) listener: /webhook, /healthz, /readyz, /metrics.
// Beast and Asio stay behind this header.

#include <chrono>
#include <functional>
#include <memory>

#include "labelrun/config/config.hpp"
#include "labelrun/core/clock.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/server/app_routes.hpp"
#include "labelrun/server/metrics.hpp"
#include "labelrun/store/inbox.hpp"
#include "labelrun/webhook/signature.hpp"

namespace labelrun::server {

struct ServerDeps {
  store::InboxWriter& inbox;
  store::InboxStats& inbox_stats;
  Metrics& metrics;
  const Clock& clock;
  AppRoutes* app = nullptr;  // /api and /jobs; null: not served
};

// What Run calls back. Every hook runs on the server's control strand, one at a
// time, and must not block for long. Empty hooks are skipped.
struct RunHooks {
  std::function<void()> on_ready;     // once, when the listener accepts connections
  std::function<void()> on_reload;    // SIGHUP
  std::function<void()> on_stopping;  // once, when shutdown begins (signal or Shutdown())
  // > 0: on_tick runs this often until shutdown begins (a stuck event loop
  // stops ticking).
  std::chrono::microseconds tick_interval{0};
  std::function<void()> on_tick;
};

class Server {
 public:
  // Binds the listener (port 0 picks a free one) and loads TLS files if set.
  // Errors: the address is taken, a TLS file is unreadable, ...
  static Result<std::unique_ptr<Server>> Create(
      const config::ServerConfig& config, bool keep_bodies,
      std::shared_ptr<const webhook::SignatureVerifier> verifier, ServerDeps deps);
  virtual ~Server() = default;

  // The bound port.
  virtual uint16_t port() const = 0;
  // Serves on config.threads threads until Shutdown(); returns when every
  // connection has finished. SIGTERM/SIGINT call Shutdown(); SIGHUP calls
  // hooks.on_reload.
  virtual void Run(RunHooks hooks) = 0;
  // Stops accepting, lets requests in flight finish, closes idle connections.
  // Thread-safe; idempotent.
  virtual void Shutdown() = 0;
  // Swaps the webhook secrets (rotation). Thread-safe; requests in flight keep
  // the verifier they started with.
  virtual void SetVerifier(std::shared_ptr<const webhook::SignatureVerifier> verifier) = 0;
};

}  // namespace labelrun::server
