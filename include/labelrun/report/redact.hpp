#pragma once
// Redaction of secrets before any text leaves labelrun: comments, job pages, and stored
// logs shown to users.
//
// Masked with "***" (overlapping or touching matches become one "***"):
//  - configured secrets, exact bytes, at least kMinSecretLength long (shorter ones are
//    ignored: they would mask ordinary words; config validation should refuse them);
//  - GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_ + 20 or more letters/digits, and
//    github_pat_ + 20 or more letters/digits/underscores;
//  - AWS access key ids: AKIA or ASIA + 16 upper-case letters/digits, as a whole word;
//  - PEM private keys: from `-----BEGIN ... PRIVATE KEY-----` to the matching
//    `-----END ... PRIVATE KEY-----` (or to the end of the text when there is none; and
//    from the start of the text when an END marker comes without its BEGIN, as happens
//    in a log tail that starts inside a key);
//  - Slack tokens: xoxa-, xoxb-, xoxp-, xoxr-, xoxs- + 10 or more token characters;
//  - `Bearer <token>` (any case; the token is masked, the word kept);
//  - Google API keys (AIza + 35) and OAuth access tokens (ya29. + 20 or more);
//  - Hugging Face (hf_ + 30 or more), OpenAI-style (sk- + 20 or more) tokens, and JWTs
//    (eyJ... three dot-separated base64url parts);
//  - passwords in URLs (`scheme://user:PASSWORD@host`);
//  - values of keys that name a secret: a key ending in password, passwd, secret, token,
//    api_key, apikey, access_key, secret_key, private_key or accountkey (Azure connection
//    strings), or the key sig (Azure SAS), followed by `=` or `:` and a value of 6 or more
//    characters that is not a number, a boolean, null, or a `<placeholder>`.
//
// No std::regex: a two-byte prefix table rejects most positions of a plain line at once.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace labelrun::report {

// Thread-safe: every method may be called from many threads at once. The configured
// secrets only grow (AddSecrets, on a configuration reload): a value that was a secret
// stays one, since text written under the old configuration may still be shown.
class Redactor {
 public:
  static constexpr size_t kMinSecretLength = 4;
  static constexpr std::string_view kMask = "***";

  explicit Redactor(std::vector<std::string> secrets = {});
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  std::string Redact(std::string_view text) const;
  // Appends the redacted text to out.
  void RedactTo(std::string_view text, std::string& out) const;
  // True when Redact(text) would differ from text.
  bool Matches(std::string_view text) const;
  // Adds exact values to mask from now on; the ones already held stay.
  void AddSecrets(std::vector<std::string> secrets);
  size_t secret_count() const { return table_.load()->secrets.size(); }

 private:
  struct Interval {
    size_t begin;
    size_t end;
  };
  // The configured secrets and the byte pairs that may start a match; replaced whole.
  struct Table {
    std::vector<std::string> secrets;  // sorted by their first two bytes
    std::vector<uint64_t> pairs;       // 65536 bits: byte pairs that may start a match
    bool Candidate(unsigned char a, unsigned char b) const {
      const unsigned pair = (static_cast<unsigned>(a) << 8) | b;
      return (pairs[pair >> 6] >> (pair & 63)) & 1;
    }
  };
  static std::shared_ptr<const Table> MakeTable(std::vector<std::string> secrets);

  void Collect(std::string_view text, std::vector<Interval>& out) const;

  std::atomic<std::shared_ptr<const Table>> table_;
};

// Line-by-line redaction of a stream: remembers that a private key began on an earlier
// line and masks every line up to its END marker, so that a key is masked whole (BEGIN,
// body, END) however the stream is cut into lines. The one path by which a job's log
// lines are redacted for every view: the full log, and the log tail that the comment, the
// job page and the API's comment show. Not thread-safe.
class StreamRedactor {
 public:
  explicit StreamRedactor(const Redactor& redactor) : redactor_(redactor) {}
  std::string RedactLine(std::string_view line);
  // What RedactLine(line) would return, without moving the stream on (a `\r` redraw that
  // a later piece may replace).
  std::string PeekLine(std::string_view line) const;

 private:
  const Redactor& redactor_;
  bool in_key_ = false;
};

}  // namespace labelrun::report
