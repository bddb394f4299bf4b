#pragma once
// JSON text from an nlohmann::json value, for every document labelrun writes.
// nlohmann's plain dump() throws on a string that is not valid UTF-8; labelrun's
// strings come from containers' logs, YAML files and GitHub, so any of them may
// hold such bytes. Here they become U+FFFD and the document is still written.

#include <nlohmann/json.hpp>
#include <string>

namespace labelrun {

inline std::string JsonText(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace labelrun
