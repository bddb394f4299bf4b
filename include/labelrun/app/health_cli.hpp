#pragma once
// `labelrun health`: asks a running labelrun whether it is alive, for a
// container's HEALTHCHECK (the runtime image has no curl) and for scripts.

#include <ostream>
#include <string>

namespace labelrun::app {

struct HealthArgs {
  std::string url = "http://127.0.0.1:8080/healthz";
  std::string ca_file;  // CA bundle for an https URL with a private CA
  long timeout_s = 5;
};

// 0 when the URL answers 2xx within the timeout; 1 otherwise, with why on `err`;
// 2 for a URL that is not http:// or https://.
int RunHealth(const HealthArgs& args, std::ostream& out, std::ostream& err);

}  // namespace labelrun::app
