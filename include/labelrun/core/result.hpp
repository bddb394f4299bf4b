#pragma once
// Error values and Result<T>: the std::expected surface that GCC 12's C++20 lacks.
// Failures that come from outside (bad input, a daemon or API error, a busy
// database) travel as values; exceptions are kept for startup and one backstop
// per connection.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace labelrun {

enum class ErrorCode {
  kInvalidArgument,   // the input is wrong; retrying the same input will fail again
  kUnauthenticated,   // missing or wrong credentials / signature
  kPermissionDenied,  // authenticated, but not allowed
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kResourceExhausted,  // limits: sizes, rate limits, queue depth
  kUnavailable,        // transient: retry with backoff
  kDeadlineExceeded,   // transient: retry with backoff
  kCancelled,
  kInternal,
};

std::string_view ErrorCodeName(ErrorCode code);

// An error a person can act on: a short code for code to branch on, and a message.
class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // True for errors worth retrying with backoff.
  bool transient() const {
    return code_ == ErrorCode::kUnavailable || code_ == ErrorCode::kDeadlineExceeded;
  }
  // "invalid_argument: <message>"
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
};

// Wraps an Error so that `return Unexpected(...)` converts into any Result<T>.
struct Unexpected {
  Error error;
  explicit Unexpected(Error e) : error(std::move(e)) {}
  Unexpected(ErrorCode code, std::string message) : error(code, std::move(message)) {}
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}         // NOLINT: implicit
  Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}             // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : error_(std::move(u.error)), ok_(false) {}  // NOLINT
  Result(Error e) : error_(std::move(e)), ok_(false) {}             // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status Ok() { return {}; }

}  // namespace labelrun
