#pragma once
// Expiring links to job pages: links in comments carry an HMAC signature so that the pages
// need no login, and stop working after `report.link_ttl`.
//
// A signed link is "ENCODED_PATH?exp=UNIX_SECONDS&sig=HEX" where ENCODED_PATH is PATH
// percent-encoded (PercentEncodePath) and HEX is the lower-case hex HMAC-SHA256, under
// the link key, of "labelrun-link\n" + PATH + "\n" + UNIX_SECONDS: the signature covers
// the decoded path, so a file named `a b"<c` is one signed path whichever way a client
// escapes it. The signature covers the path and the expiry only: other query parameters
// (say `tail=200`) may be appended and are not protected.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"

namespace labelrun::report {

// REQUIRES: key is not empty. `path` is the decoded path; the link carries it encoded.
std::string SignLink(std::string_view path, int64_t expires_unix, std::string_view key);

// Checks the `exp` and `sig` query values of a request for `path` (decoded), compared in constant
// time. Errors: kFailedPrecondition when the key is empty; kInvalidArgument when exp is
// not a decimal number or sig not 64 hex digits; kUnauthenticated when the signature does
// not match; kPermissionDenied when it matches but now_unix >= exp (the link expired).
Status VerifyLink(std::string_view path, std::string_view exp, std::string_view sig,
                  std::string_view key, int64_t now_unix);

// A URL path with every byte but '/' and the unreserved characters of RFC 3986
// (letters, digits, "-._~") written as %XX: file names with spaces, quotes, '<',
// '?' or '#' stay one path.
std::string PercentEncodePath(std::string_view path);
// The bytes a URL path stands for: %XX escapes decoded ('+' is itself); nullopt
// on a bad escape or an escaped NUL.
std::optional<std::string> PercentDecodePath(std::string_view path);

}  // namespace labelrun::report
