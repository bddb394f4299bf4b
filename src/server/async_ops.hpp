#pragma once
// Asio completion wrappers around the work that leaves the I/O threads: the
// inbox's commit thread and the app routes' worker pool. Each resumes the
// calling coroutine on its own executor. Private to server/; included only by
// http_server.cpp (it pulls in Asio).

#include <boost/asio.hpp>
#include <memory>
#include <string>
#include <utility>

#include "labelrun/server/app_routes.hpp"
#include "labelrun/store/inbox.hpp"

namespace labelrun::server {

namespace asio = boost::asio;

// The inbox's answer, in a form Asio's completion machinery can default-construct.
struct StoreResult {
  bool ok = false;
  store::AppendOutcome outcome = store::AppendOutcome::kStored;
  std::string error;
};

// co_await AsyncAppend(...): hands the record to the commit thread and resumes
// this coroutine on its own executor once the record is durable.
// REQUIRES: `record` outlives the operation (it is moved from at initiation).
template <typename Token>
auto AsyncAppend(store::InboxWriter& inbox, store::InboxRecord& record, Token&& token) {
  return asio::async_initiate<Token, void(StoreResult)>(
      [&inbox](auto handler, store::InboxRecord* rec) {
        using Handler = decltype(handler);
        auto ex = asio::get_associated_executor(handler);
        // The guard keeps io_context::run() alive while the commit is pending.
        auto state = std::make_shared<std::pair<Handler, asio::executor_work_guard<decltype(ex)>>>(
            std::move(handler), asio::make_work_guard(ex));
        inbox.Append(std::move(*rec), [state](Result<store::AppendOutcome> r) {
          StoreResult out;
          if (r) {
            out.ok = true;
            out.outcome = *r;
          } else {
            out.error = r.error().message();
          }
          auto ex2 = state->second.get_executor();
          asio::post(ex2, [state, out = std::move(out)]() mutable {
            std::move(state->first)(std::move(out));
            state->second.reset();
          });
        });
      },
      token, &record);
}

template <typename Token>
auto AsyncProbe(store::InboxWriter& inbox, Token&& token) {
  return asio::async_initiate<Token, void(StoreResult)>(
      [&inbox](auto handler) {
        using Handler = decltype(handler);
        auto ex = asio::get_associated_executor(handler);
        auto state = std::make_shared<std::pair<Handler, asio::executor_work_guard<decltype(ex)>>>(
            std::move(handler), asio::make_work_guard(ex));
        inbox.Probe([state](Status s) {
          StoreResult out;
          out.ok = s.has_value();
          if (!s) out.error = s.error().message();
          auto ex2 = state->second.get_executor();
          asio::post(ex2, [state, out = std::move(out)]() mutable {
            std::move(state->first)(std::move(out));
            state->second.reset();
          });
        });
      },
      token);
}

// co_await AsyncApp(...): runs the app handler on `pool` and resumes this
// coroutine on its own executor with the reply.
template <typename Token>
auto AsyncApp(asio::thread_pool& pool, AppRoutes& routes, AppRequest request, Token&& token) {
  return asio::async_initiate<Token, void(AppReply)>(
      [&pool, &routes](auto handler, AppRequest req) {
        using Handler = decltype(handler);
        auto ex = asio::get_associated_executor(handler);
        auto state = std::make_shared<std::pair<Handler, asio::executor_work_guard<decltype(ex)>>>(
            std::move(handler), asio::make_work_guard(ex));
        asio::post(pool, [state, &routes, req = std::move(req)] {
          AppReply reply = routes.Handle(req);
          auto ex2 = state->second.get_executor();
          asio::post(ex2, [state, reply = std::move(reply)]() mutable {
            std::move(state->first)(std::move(reply));
            state->second.reset();
          });
        });
      },
      token, std::move(request));
}

}  // namespace labelrun::server
