#pragma once
// `labelrun deliver`: sends a webhook delivery the way GitHub does — the
// payload file's bytes, signed with the webhook secret — to a labelrun (or any
// webhook receiver). For checking an installation end to end and replaying a
// payload by hand.

#include <ostream>
#include <string>

namespace labelrun::app {

struct DeliverArgs {
  std::string url;           // the webhook URL, http:// or https://
  std::string secret_file;   // its whole content (trailing newlines trimmed) is the secret
  std::string event;         // X-GitHub-Event
  std::string payload_file;  // sent byte for byte
  std::string delivery;      // X-GitHub-Delivery; empty: a random UUID v4
  std::string ca_file;       // CA bundle for an https URL with a private CA
};

// Prints the HTTP status and the response body on `out`. 0 on a 2xx answer;
// 1 on any other status or when the request could not be made; 2 when the
// arguments or input files are unusable (nothing is sent then). The secret is
// never printed.
int RunDeliver(const DeliverArgs& args, std::ostream& out, std::ostream& err);

// "xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx" from the system's CSPRNG (RFC 9562).
std::string RandomUuidV4();

}  // namespace labelrun::app
