#include "labelrun/report/redact.hpp"

#include <algorithm>
#include <array>
#include <mutex>

#include "text.hpp"

namespace labelrun::report {
namespace {

using text::IsAlnum;
using text::IsBlank;
using text::kNpos;

bool IsWordChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }
bool IsUpperOrDigit(char c) { return (c >= 'A' && c <= 'Z') || text::IsDigit(c); }
bool IsBearerChar(char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' ||
         c == '-';
}

template <typename Pred>
size_t Run(std::string_view s, size_t i, Pred pred) {
  size_t j = i;
  while (j < s.size() && pred(s[j])) ++j;
  return j - i;
}

bool At(std::string_view s, size_t i, std::string_view lit) {
  return s.size() - i >= lit.size() && s.compare(i, lit.size(), lit) == 0;
}

uint16_t PairOf(std::string_view s) {
  return static_cast<uint16_t>((static_cast<unsigned char>(s[0]) << 8) |
                               static_cast<unsigned char>(s[1]));
}

// `-----<kind> <label>-----` at s[i] with a label ending in "PRIVATE KEY": the index after
// the marker, or kNpos.
size_t PemMarker(std::string_view s, size_t i, std::string_view kind) {
  if (!At(s, i, "-----") || !At(s, i + 5, kind) || !At(s, i + 5 + kind.size(), " ")) return kNpos;
  const size_t label = i + 6 + kind.size();
  const size_t close = s.substr(0, std::min(s.size(), label + 80)).find("-----", label);
  if (close == std::string_view::npos) return kNpos;
  const std::string_view name = s.substr(label, close - label);
  if (name.size() < 11 || name.substr(name.size() - 11) != "PRIVATE KEY") return kNpos;
  return close + 5;
}

// The first END marker at or after `from`: [begin, end) of it, or begin == kNpos.
std::pair<size_t, size_t> FindPemEnd(std::string_view s, size_t from) {
  while (true) {
    const size_t at = s.find("-----END ", from);
    if (at == std::string_view::npos) return {kNpos, kNpos};
    const size_t end = PemMarker(s, at, "END");
    if (end != kNpos) return {at, end};
    from = at + 1;
  }
}

constexpr std::array<std::string_view, 12> kSecretKeySuffixes = {
    "password", "passwd",     "secret",     "token",       "api_key",    "apikey",
    "api-key",  "access_key", "secret_key", "private_key", "accountkey", "access-key",
};

bool SensitiveKey(std::string_view key) {
  if (key.empty()) return false;
  if (text::IEqualsAscii(key, "sig")) return true;
  for (std::string_view suffix : kSecretKeySuffixes) {
    if (key.size() >= suffix.size() &&
        text::IEqualsAscii(key.substr(key.size() - suffix.size()), suffix)) {
      return true;
    }
  }
  return false;
}

bool HarmlessValue(std::string_view v) {
  if (v.size() < 6) return true;
  double number = 0;
  if (text::ParseWholeNumber(v, number)) return true;
  if (text::IEqualsAscii(v, "true") || text::IEqualsAscii(v, "false") ||
      text::IEqualsAscii(v, "null") || text::IEqualsAscii(v, "none")) {
    return true;
  }
  if ((v.front() == '<' && v.back() == '>') || (v.front() == '[' && v.back() == ']') ||
      v.front() == '$' || v.find_first_not_of('*') == std::string_view::npos) {
    return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<const Redactor::Table> Redactor::MakeTable(std::vector<std::string> secrets) {
  auto t = std::make_shared<Table>();
  t->pairs.assign(65536 / 64, 0);
  auto mark = [&t](unsigned char a, unsigned char b) {
    const unsigned pair = (static_cast<unsigned>(a) << 8) | b;
    t->pairs[pair >> 6] |= uint64_t{1} << (pair & 63);
  };
  for (std::string& s : secrets) {
    if (s.size() >= kMinSecretLength) t->secrets.push_back(std::move(s));
  }
  std::sort(t->secrets.begin(), t->secrets.end(), [](const std::string& a, const std::string& b) {
    return PairOf(a) < PairOf(b) || (PairOf(a) == PairOf(b) && a < b);
  });
  t->secrets.erase(std::unique(t->secrets.begin(), t->secrets.end()), t->secrets.end());
  for (const std::string& s : t->secrets) mark(s[0], s[1]);
  for (std::string_view p : {"gh", "gi", "AK", "AS", "AI", "xo", "--", "hf", "sk", "ey", "ya"}) {
    mark(p[0], p[1]);
  }
  for (unsigned char b : {'B', 'b'}) {
    for (unsigned char e : {'E', 'e'}) mark(b, e);
  }
  for (unsigned c = 0; c < 256; ++c) {
    mark(':', static_cast<unsigned char>(c));
    mark('=', static_cast<unsigned char>(c));
  }
  return t;
}

Redactor::Redactor(std::vector<std::string> secrets) : table_(MakeTable(std::move(secrets))) {}

void Redactor::AddSecrets(std::vector<std::string> secrets) {
  // Writers are rare (a reload); readers never wait for them.
  static std::mutex writers;
  std::lock_guard lock(writers);
  std::vector<std::string> all = table_.load()->secrets;
  all.insert(all.end(), std::make_move_iterator(secrets.begin()),
             std::make_move_iterator(secrets.end()));
  table_.store(MakeTable(std::move(all)));
}

void Redactor::Collect(std::string_view s, std::vector<Interval>& out) const {
  const size_t n = s.size();
  size_t covered = 0;  // end of the last interval
  auto add = [&](size_t begin, size_t end) {
    if (end <= begin) return;
    if (!out.empty() && begin <= out.back().end) {
      out.back().end = std::max(out.back().end, end);
    } else {
      out.push_back({begin, end});
    }
    covered = out.back().end;
  };
  const std::shared_ptr<const Table> table = table_.load();
  const std::vector<std::string>& secrets = table->secrets;
  for (size_t i = 0; i + 1 < n; ++i) {
    const auto a = static_cast<unsigned char>(s[i]);
    const auto b = static_cast<unsigned char>(s[i + 1]);
    if (!table->Candidate(a, b)) continue;
    // Configured secrets sharing this first byte pair.
    const uint16_t pair = static_cast<uint16_t>((a << 8) | b);
    auto first = std::lower_bound(secrets.begin(), secrets.end(), pair,
                                  [](const std::string& x, uint16_t p) { return PairOf(x) < p; });
    for (auto it = first; it != secrets.end() && PairOf(*it) == pair; ++it) {
      if (At(s, i, *it)) add(i, i + it->size());
    }
    const bool word_start = i == 0 || !IsWordChar(s[i - 1]);
    switch (s[i]) {
      case 'g':
        if (At(s, i, "gh") && i + 4 < n && s[i + 3] == '_' &&
            std::string_view("pousr").find(s[i + 2]) != std::string_view::npos) {
          const size_t len = Run(s, i + 4, IsAlnum);
          if (len >= 20) add(i, i + 4 + len);
        } else if (At(s, i, "github_pat_")) {
          const size_t len = Run(s, i + 11, [](char c) { return IsAlnum(c) || c == '_'; });
          if (len >= 20) add(i, i + 11 + len);
        }
        break;
      case 'A':
        if ((At(s, i, "AKIA") || At(s, i, "ASIA")) && (i == 0 || !IsUpperOrDigit(s[i - 1]))) {
          if (Run(s, i + 4, IsUpperOrDigit) == 16) add(i, i + 20);
        } else if (At(s, i, "AIza")) {
          if (const size_t len = Run(s, i + 4, IsWordChar); len >= 35) add(i, i + 4 + len);
        }
        break;
      case 'x':
        if (At(s, i, "xox") && i + 4 < n && s[i + 4] == '-' &&
            std::string_view("abprs").find(s[i + 3]) != std::string_view::npos) {
          const size_t len = Run(s, i + 5, IsWordChar);
          if (len >= 10) add(i, i + 5 + len);
        }
        break;
      case 'B':
      case 'b':
        if (word_start && n - i > 7 && text::IEqualsAscii(s.substr(i, 6), "bearer") &&
            IsBlank(s[i + 6])) {
          const size_t start = i + 6 + Run(s, i + 6, IsBlank);
          const size_t len = Run(s, start, IsBearerChar);
          if (len >= 8) add(start, start + len);
        }
        break;
      case '-':
        if (i >= covered) {
          if (size_t begin_end = PemMarker(s, i, "BEGIN"); begin_end != kNpos) {
            auto [end_at, end] = FindPemEnd(s, begin_end);
            add(i, end_at == kNpos ? n : end);
          } else if (size_t orphan_end = PemMarker(s, i, "END"); orphan_end != kNpos) {
            // An END without its BEGIN: the key started before this text did.
            out.clear();
            add(0, orphan_end);
          }
        }
        break;
      case 'h':
        if (At(s, i, "hf_") && word_start) {
          const size_t len = Run(s, i + 3, IsAlnum);
          if (len >= 30) add(i, i + 3 + len);
        }
        break;
      case 's':
        if (At(s, i, "sk-") && word_start) {
          const size_t len = Run(s, i + 3, IsWordChar);
          if (len >= 20) add(i, i + 3 + len);
        }
        break;
      case 'e':
        if (At(s, i, "eyJ") && word_start) {
          auto b64 = [](char c) { return IsWordChar(c); };
          const size_t p1 = Run(s, i, b64);
          if (p1 >= 10 && i + p1 < n && s[i + p1] == '.') {
            const size_t p2 = Run(s, i + p1 + 1, b64);
            const size_t dot2 = i + p1 + 1 + p2;
            if (p2 >= 10 && dot2 < n && s[dot2] == '.') {
              const size_t p3 = Run(s, dot2 + 1, b64);
              if (p3 >= 10) add(i, dot2 + 1 + p3);
            }
          }
        }
        break;
      case 'y':
        if (At(s, i, "ya29.") && word_start) {
          const size_t len = Run(s, i + 5, [](char c) { return IsWordChar(c) || c == '.'; });
          if (len >= 20) add(i, i + 5 + len);
        }
        break;
      case ':':
      case '=': {
        if (s[i] == ':' && At(s, i, "://")) {
          // scheme://user:password@host
          const size_t user = i + 3;
          const size_t user_len = Run(s, user, [](char c) {
            return c != ':' && c != '@' && c != '/' && !IsBlank(c) && c != '\n';
          });
          const size_t colon = user + user_len;
          if (user_len > 0 && colon < n && s[colon] == ':') {
            const size_t pass_len = Run(s, colon + 1, [](char c) {
              return c != '@' && c != '/' && !IsBlank(c) && c != '\n';
            });
            const size_t at = colon + 1 + pass_len;
            if (pass_len > 0 && at < n && s[at] == '@') add(colon + 1, at);
          }
          break;
        }
        // key = value, key: value, "key": "value"
        size_t k = i;
        while (k > 0 && IsBlank(s[k - 1])) --k;
        if (k > 0 && (s[k - 1] == '"' || s[k - 1] == '\'')) --k;
        const size_t key_end = k;
        while (k > 0 && key_end - k < 64 && (IsWordChar(s[k - 1]) || s[k - 1] == '.')) --k;
        if (!SensitiveKey(s.substr(k, key_end - k))) break;
        size_t v = i + 1;
        while (v < n && IsBlank(s[v])) ++v;
        size_t value_end;
        if (v < n && (s[v] == '"' || s[v] == '\'')) {
          const char quote = s[v++];
          value_end = v;
          while (value_end < n && s[value_end] != quote && s[value_end] != '\n') ++value_end;
        } else {
          value_end = v;
          while (value_end < n && !IsBlank(s[value_end]) && s[value_end] != '\n' &&
                 std::string_view(",;&\"'}])").find(s[value_end]) == std::string_view::npos) {
            ++value_end;
          }
        }
        if (!HarmlessValue(s.substr(v, value_end - v))) add(v, value_end);
        break;
      }
      default:
        break;
    }
  }
}

void Redactor::RedactTo(std::string_view text, std::string& out) const {
  std::vector<Interval> found;
  Collect(text, found);
  size_t pos = 0;
  for (const Interval& iv : found) {
    out.append(text.substr(pos, iv.begin - pos));
    out.append(kMask);
    pos = iv.end;
  }
  out.append(text.substr(pos));
}

std::string Redactor::Redact(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  RedactTo(text, out);
  return out;
}

bool Redactor::Matches(std::string_view text) const {
  std::vector<Interval> found;
  Collect(text, found);
  return !found.empty();
}

std::string StreamRedactor::RedactLine(std::string_view line) {
  if (in_key_) {
    auto [at, end] = FindPemEnd(line, 0);
    if (at == kNpos) return std::string(Redactor::kMask);
    in_key_ = false;
    // Redact() masks from the start up to the END marker, and whatever follows.
    return redactor_.Redact(line);
  }
  // A BEGIN marker whose END is not on this line opens a block.
  size_t from = 0;
  while (true) {
    const size_t at = line.find("-----BEGIN ", from);
    if (at == std::string_view::npos) break;
    const size_t begin_end = PemMarker(line, at, "BEGIN");
    if (begin_end != kNpos) {
      auto [end_at, end] = FindPemEnd(line, begin_end);
      if (end_at == kNpos) {
        in_key_ = true;
        break;
      }
      from = end;
    } else {
      from = at + 1;
    }
  }
  return redactor_.Redact(line);
}

std::string StreamRedactor::PeekLine(std::string_view line) const {
  StreamRedactor copy = *this;
  return copy.RedactLine(line);
}

}  // namespace labelrun::report
