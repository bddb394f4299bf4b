#pragma once
// The inbox stores a compact digest of each actionable delivery (a few hundred
// bytes of JSON holding the fields processing needs) instead of the whole body:
// a 12 KB `issues.labeled` body at tens of thousands of deliveries a second
// would otherwise be hundreds of MB/s of durable writes.

#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"
#include "labelrun/webhook/event.hpp"

namespace labelrun::webhook {

// Encodes the typed event. Cheap: no DOM is built.
std::string EncodeDigest(const Event& event);

// The inverse of EncodeDigest for the event named `event_name`.
Result<Event> DecodeDigest(std::string_view event_name, std::string_view digest);

}  // namespace labelrun::webhook
