// libFuzzer target: Docker's multiplexed log stream, as the daemon (or anything
// between it and labelrun) might send it. The decoder must never crash, must
// keep every line within the cap and free of line breaks, and must give the
// same lines and the same outcome however the bytes are chunked.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/runtime/log_decoder.hpp"

using namespace labelrun;
using namespace labelrun::runtime;

namespace {

struct Outcome {
  std::vector<std::string> lines;  // stream, truncated flag, timestamp, text
  bool ok = true;
  int code = -1;
};

Outcome Decode(std::string_view stream, size_t chunk, size_t cap) {
  LogDecoder decoder(LogDecoder::Options{cap, true});
  Outcome out;
  LogCallback collect = [&](const LogLine& l) {
    if (l.text.size() > cap) std::abort();
    if (l.text.find_first_of("\r\n") != std::string_view::npos) std::abort();
    out.lines.push_back(std::string(l.stream == LogStream::kStdout ? "o" : "e") +
                        (l.truncated ? "T" : "-") + std::string(l.timestamp) + "|" +
                        std::string(l.text));
    return true;
  };
  Status st;
  for (size_t i = 0; i < stream.size() && st; i += chunk) {
    st = decoder.Feed(stream.substr(i, chunk), collect);
  }
  if (st) st = decoder.Finish(collect);
  out.ok = st.has_value();
  if (!st) out.code = static_cast<int>(st.error().code());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t cap = 1 + data[0] % 64;
  size_t chunk = 1 + data[1] % 17;
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  Outcome whole = Decode(stream, stream.size() + 1, cap);
  Outcome pieces = Decode(stream, chunk, cap);
  if (whole.lines != pieces.lines || whole.ok != pieces.ok || whole.code != pieces.code) {
    std::abort();
  }
  return 0;
}
