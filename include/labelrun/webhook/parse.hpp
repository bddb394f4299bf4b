#pragma once
// From raw delivery bytes to a typed Event. Pure and allocation-light: the hot
// path of every delivery. Call only after the signature has been verified.

#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"
#include "labelrun/webhook/event.hpp"

namespace labelrun::webhook {

// Content types GitHub sends.
enum class BodyFormat { kJson, kForm };

// Maps a Content-Type header ("application/json; charset=utf-8") to a format;
// kInvalidArgument for anything else.
Result<BodyFormat> ClassifyContentType(std::string_view content_type);

// Parses the JSON payload of event `event_name` ("issues", "ping", ...).
// Events and actions labelrun does not act on parse to IgnoredEvent after a
// structural check. Malformed JSON or a missing required field is
// kInvalidArgument with a reason.
//
// `readable` is how many bytes after json.data() may be read (the buffer's
// capacity); when it leaves simdjson's padding the body is parsed in place,
// otherwise it is copied once.
Result<Event> ParseEvent(std::string_view event_name, std::string_view json, size_t readable = 0);

// The readable bytes past the JSON that in-place parsing needs (simdjson's
// padding): a body buffer with this much spare capacity is never copied.
inline constexpr size_t kParsePadding = 64;

// The JSON text of a body: itself for kJson, the decoded `payload=` field for kForm.
// `scratch` holds the decoded form text.
Result<std::string_view> ExtractJson(BodyFormat format, std::string_view body,
                                     std::string& scratch);

}  // namespace labelrun::webhook
