#include "labelrun/report/metrics.hpp"

#include <array>
#include <cmath>
#include <optional>

#include "labelrun/core/strings.hpp"
#include "text.hpp"

namespace labelrun::report {
namespace {

using text::IsAlnum;
using text::IsAlpha;
using text::IsBlank;
using text::IsDigit;
using text::kNpos;

constexpr std::array<std::string_view, 32> kVocabulary = {
    "loss", "acc",   "accuracy", "lr",   "learning_rate", "ppl",    "perplexity", "f1",
    "bleu", "rouge", "rougel",   "auc",  "auroc",         "mse",    "mae",        "rmse",
    "wer",  "cer",   "reward",   "norm", "grad_norm",     "iou",    "miou",       "map",
    "top1", "top5",  "entropy",  "kl",   "precision",     "recall", "bpb",        "bpc",
};

// Numeric fields of an object that are bookkeeping, not metrics.
constexpr std::array<std::string_view, 11> kBookkeeping = {
    "time", "timestamp",  "ts",         "_timestamp", "_runtime",   "pid",
    "rank", "local_rank", "world_size", "seed",       "total_flos",
};

bool InList(std::string_view key, const auto& list) {
  // Every word of a log line is tried as a key: most differ from each entry in size or
  // in the first letter, and are refused here without a call.
  // (The lists hold lower-case words.)
  const char c = key.empty() ? '\0' : key[0];
  const char first = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
  for (std::string_view w : list) {
    if (w.size() != key.size() || w[0] != first) continue;
    size_t i = 1;
    while (i < w.size() && text::LowerAscii(key[i]) == w[i]) ++i;
    if (i == w.size()) return true;
  }
  return false;
}

bool IsKeyChar(char c) { return IsAlnum(c) || c == '_' || c == '.' || c == '/' || c == '-'; }

// A value ends where the next byte cannot continue a word, a version, a time or a date.
bool AtBoundary(std::string_view s, size_t q) {
  if (q >= s.size()) return true;
  const char c = s[q];
  if (IsBlank(c)) return true;
  switch (c) {
    case ',':
    case ';':
    case '|':
    case '(':
    case ')':
    case ']':
    case '}':
    case '%':
    case '\'':
    case '"':
      return true;
    case '.':
    case ':':
    case '/':
    case '-':
      return q + 1 >= s.size() || !IsAlnum(s[q + 1]);
    default:
      return false;
  }
}

// Rank of a step key: lower wins. 99 when the key is no step key.
int StepRank(std::string_view key) {
  if (text::IEqualsAscii(key, "global_step")) return 0;
  if (text::IEqualsAscii(key, "step") || text::IEqualsAscii(key, "_step")) return 1;
  if (text::IEqualsAscii(key, "iteration") || text::IEqualsAscii(key, "iter") ||
      text::IEqualsAscii(key, "it")) {
    return 2;
  }
  if (text::IEqualsAscii(key, "epoch")) return 4;
  return 99;
}

struct StepInfo {
  std::optional<double> explicit_step;
  std::string_view explicit_key;
  int explicit_rank = 99;
  std::optional<double> epoch;
  std::string_view epoch_key;
  std::optional<double> counter;
  std::optional<double> total;

  void Offer(std::string_view key, double v) {
    if (!std::isfinite(v)) return;
    int rank = StepRank(key);
    if (rank == 4) {
      if (!epoch) epoch = v, epoch_key = key;
    } else if (rank < explicit_rank) {
      explicit_rank = rank;
      explicit_step = v;
      explicit_key = key;
    }
  }
  void OfferCounter(double n, std::optional<double> m) {
    if (counter) return;
    counter = n;
    total = m;
  }
  double Resolve(uint64_t arrival) const {
    if (explicit_step) return *explicit_step;
    if (counter) {
      if (epoch && total && *total > 0) return *epoch * *total + *counter;
      return *counter;
    }
    if (epoch) return *epoch;
    return static_cast<double>(arrival);
  }
  // The word for what Resolve returns. The keys point into the segment being read.
  std::string_view Label() const {
    if (explicit_step) return explicit_key;
    if (counter) return "step";
    if (epoch) return epoch_key;
    return "line";
  }
};

struct Pair {
  std::string_view key;
  double value;
};

using Pairs = std::vector<Pair>;

size_t SkipBlanks(std::string_view s, size_t i) {
  while (i < s.size() && (IsBlank(s[i]) || s[i] == '\n')) ++i;
  return i;
}

// s[i] is a quote; returns the index after the closing quote (or kNpos) and the content.
size_t ScanQuoted(std::string_view s, size_t i, std::string_view& content) {
  const char quote = s[i];
  size_t j = i + 1;
  while (j < s.size() && s[j] != quote) j += s[j] == '\\' ? 2 : 1;
  if (j >= s.size()) return kNpos;
  content = s.substr(i + 1, j - i - 1);
  return j + 1;
}

// s[i] opens a bracket; returns the index after the matching close, or kNpos. Quotes are
// respected; brackets of all kinds count as one depth.
size_t SkipBalanced(std::string_view s, size_t i) {
  int depth = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"' || c == '\'') {
      std::string_view ignored;
      i = ScanQuoted(s, i, ignored);
      if (i == kNpos) return kNpos;
      continue;
    }
    if (c == '{' || c == '[' || c == '(') ++depth;
    if (c == '}' || c == ']' || c == ')') {
      if (--depth == 0) return i + 1;
    }
    ++i;
  }
  return kNpos;
}

// A JSON or Python-literal object starting at s[pos] == '{' and ending the segment.
bool ParseObject(std::string_view s, size_t pos, Pairs& pairs, StepInfo& step) {
  size_t i = SkipBlanks(s, pos + 1);
  if (i < s.size() && s[i] == '}') return SkipBlanks(s, i + 1) == s.size();
  while (true) {
    i = SkipBlanks(s, i);
    if (i >= s.size()) return false;
    std::string_view key;
    if (s[i] == '"' || s[i] == '\'') {
      i = ScanQuoted(s, i, key);
      if (i == kNpos) return false;
    } else if (IsAlpha(s[i]) || s[i] == '_') {
      size_t j = i;
      while (j < s.size() && (IsAlnum(s[j]) || s[j] == '_')) ++j;
      key = s.substr(i, j - i);
      i = j;
    } else {
      return false;
    }
    i = SkipBlanks(s, i);
    if (i >= s.size() || s[i] != ':') return false;
    i = SkipBlanks(s, i + 1);
    if (i >= s.size()) return false;
    std::optional<double> number;
    const char c = s[i];
    if (c == '"' || c == '\'') {
      std::string_view content;
      i = ScanQuoted(s, i, content);
      if (i == kNpos) return false;
      double v = 0;
      if (text::ParseWholeNumber(content, v)) number = v;
    } else if (c == '{' || c == '[' || c == '(') {
      i = SkipBalanced(s, i);
      if (i == kNpos) return false;
    } else {
      double v = 0;
      size_t end = text::ScanNumber(s, i, v);
      if (end != kNpos) {
        number = v;
        i = end;
      } else if (IsAlpha(c) || c == '_') {
        // True / None / null, or a wrapper call such as np.float64(0.5) or tensor(0.5, ...).
        size_t j = i;
        while (j < s.size() && (IsAlnum(s[j]) || s[j] == '_' || s[j] == '.')) ++j;
        i = j;
        if (i < s.size() && s[i] == '(') {
          size_t inner = SkipBlanks(s, i + 1);
          size_t inner_end = text::ScanNumber(s, inner, v);
          if (inner_end != kNpos) {
            inner_end = SkipBlanks(s, inner_end);
            if (inner_end < s.size() && (s[inner_end] == ')' || s[inner_end] == ',')) number = v;
          }
          i = SkipBalanced(s, i);
          if (i == kNpos) return false;
        }
      } else {
        return false;
      }
    }
    if (number) {
      if (StepRank(key) != 99) {
        step.Offer(key, *number);
      } else if (!InList(key, kBookkeeping)) {
        pairs.push_back({key, *number});
      }
    }
    i = SkipBlanks(s, i);
    if (i >= s.size()) return false;
    if (s[i] == '}') return SkipBlanks(s, i + 1) == s.size();
    if (s[i] != ',') return false;
    i = SkipBlanks(s, i + 1);
    if (i < s.size() && s[i] == '}') return SkipBlanks(s, i + 1) == s.size();
  }
}

// `N/M` at s[i] (digits only), ending at a boundary that is not another '/'.
bool ScanCounter(std::string_view s, size_t i, size_t& end, double& n, double& m) {
  size_t j = i;
  while (j < s.size() && IsDigit(s[j])) ++j;
  if (j == i || j + 1 >= s.size() || s[j] != '/' || !IsDigit(s[j + 1])) return false;
  size_t k = j + 1;
  while (k < s.size() && IsDigit(s[k])) ++k;
  end = k;
  if (!AtBoundary(s, k) || (k < s.size() && (s[k] == '/' || s[k] == '.'))) return false;
  text::ScanNumber(s, i, n);
  text::ScanNumber(s, j + 1, m);
  return m > 0 && n <= m;
}

}  // namespace

bool IsStepKey(std::string_view key) { return StepRank(key) != 99; }

bool IsMetricLikeKey(std::string_view key) {
  if (key.empty() || key.size() > MetricExtractor::kMaxKeyLength) return false;
  if (InList(key, kVocabulary)) return true;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = start;
    while (end < key.size() && IsAlnum(key[end])) ++end;
    std::string_view part = key.substr(start, end - start);
    if (!part.empty() && InList(part, kVocabulary)) return true;
    while (!part.empty() && IsDigit(part.back())) part.remove_suffix(1);
    if (!part.empty() && (InList(part, kVocabulary) ||
                          (part.size() >= 5 && text::IEqualsAscii(part.substr(0, 5), "rouge")))) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

MetricExtractor::MetricExtractor(std::vector<std::string> extra_keys)
    : extra_keys_(std::move(extra_keys)) {}

namespace {

// Which keys generic pairs may use: metric-looking ones and the configured extras.
struct KeyFilter {
  const std::vector<std::string>& extra;
  bool operator()(std::string_view key) const {
    if (IsMetricLikeKey(key)) return true;
    for (const std::string& k : extra) {
      if (text::IEqualsAscii(key, k)) return true;
    }
    return false;
  }
};

// Generic pairs anywhere in s: `key=value`, `key: value`, `key value`, and `N/M` counters.
void ScanPairs(std::string_view s, const KeyFilter& wanted, Pairs& pairs, StepInfo& step) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const char c = s[i];
    const bool word_start = i == 0 || !IsKeyChar(s[i - 1]);
    if (!word_start || !(IsAlnum(c) || c == '_')) {
      ++i;
      continue;
    }
    if (IsDigit(c)) {
      size_t end = i;
      double num = 0, total = 0;
      if (ScanCounter(s, i, end, num, total)) step.OfferCounter(num, total);
      while (end < n && IsKeyChar(s[end])) ++end;
      i = end;
      continue;
    }
    size_t j = i;
    while (j < n && IsKeyChar(s[j])) ++j;
    size_t k = j;
    while (k > i && (s[k - 1] == '.' || s[k - 1] == '/' || s[k - 1] == '-')) --k;
    const std::string_view key = s.substr(i, k - i);
    i = j;
    size_t p = k;
    bool spaced = false;
    while (p < n && IsBlank(s[p])) ++p, spaced = true;
    char sep = 0;
    if (p < n && s[p] == '=' && (p + 1 >= n || s[p + 1] != '=')) {
      sep = '=';
    } else if (p < n && s[p] == ':' && (p + 1 >= n || (s[p + 1] != ':' && s[p + 1] != '/'))) {
      sep = ':';
    }
    if (sep) {
      ++p;
      while (p < n && IsBlank(s[p])) ++p;
    } else if (!spaced) {
      continue;
    }
    double value = 0;
    size_t q = text::ScanNumber(s, p, value);
    if (q == kNpos) continue;
    if (IsStepKey(key)) {
      std::optional<double> total;
      if (q + 1 < n && s[q] == '/' && IsDigit(s[q + 1])) {
        double m = 0;
        size_t r = text::ScanNumber(s, q + 1, m);
        if (r != kNpos) q = r, total = m;
      }
      if (!AtBoundary(s, q)) continue;
      step.Offer(key, value);
      i = q;
      continue;
    }
    if (AtBoundary(s, q) && wanted(key)) {
      pairs.push_back({key, value});
      i = q;
    }
  }
}

// A tqdm or Lightning bar: `<desc>: 50%|███  | 500/1000 [00:10<00:10, 48.3it/s, k=v, ...]`
// or, without a total, `<desc>: 500it [00:10, 48.3it/s, k=v]`.
bool ParseBar(std::string_view s, const KeyFilter& wanted, Pairs& pairs, StepInfo& step) {
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  if (s.empty() || s.back() != ']') return false;
  const size_t open = s.rfind('[');
  if (open == std::string_view::npos) return false;
  const std::string_view inner = s.substr(open + 1, s.size() - open - 2);
  // The bracket starts with the elapsed time, "00:10" or "1:02:03".
  size_t d = 0;
  while (d < inner.size() && IsDigit(inner[d])) ++d;
  if (d == 0 || d + 1 >= inner.size() || inner[d] != ':' || !IsDigit(inner[d + 1])) return false;
  std::string_view before = s.substr(0, open);
  while (!before.empty() && IsBlank(before.back())) before.remove_suffix(1);
  const size_t token_start = before.find_last_of(" \t|") + 1;
  const std::string_view token = before.substr(token_start);
  size_t t = 0;
  while (t < token.size() && IsDigit(token[t])) ++t;
  if (t == 0) return false;
  double n = 0;
  text::ScanNumber(token, 0, n);
  if (t < token.size() && token[t] == '/') {
    double m = 0;
    if (text::ScanNumber(token, t + 1, m) != token.size()) return false;
    step.OfferCounter(n, m);
  } else {
    for (size_t u = t; u < token.size(); ++u) {
      if (!IsAlpha(token[u])) return false;
    }
    step.OfferCounter(n, std::nullopt);
  }
  // Postfix: every key=value after the elapsed time and the rate.
  size_t start = 0;
  while (start <= inner.size()) {
    size_t comma = inner.find(',', start);
    if (comma == std::string_view::npos) comma = inner.size();
    std::string_view part = inner.substr(start, comma - start);
    start = comma + 1;
    while (!part.empty() && IsBlank(part.front())) part.remove_prefix(1);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view key = part.substr(0, eq);
    while (!key.empty() && IsBlank(key.back())) key.remove_suffix(1);
    bool ok = !key.empty() && (IsAlpha(key[0]) || key[0] == '_');
    for (char c : key) ok = ok && IsKeyChar(c);
    double value = 0;
    if (!ok || key == "v_num" || !text::ParseWholeNumber(part.substr(eq + 1), value)) continue;
    if (IsStepKey(key)) {
      step.Offer(key, value);
    } else {
      pairs.push_back({key, value});
    }
  }
  // The description (before "NN%|", or before the counter) may hold "Epoch 3" or "loss=...".
  std::string_view desc = before.substr(0, token_start);
  const size_t bar = desc.find("%|");
  if (bar != std::string_view::npos) {
    size_t b = bar;
    while (b > 0 && (IsDigit(desc[b - 1]) || desc[b - 1] == '.' || IsBlank(desc[b - 1]))) --b;
    desc = desc.substr(0, b);
  }
  ScanPairs(desc, wanted, pairs, step);
  return true;
}

void AppendKey(std::string_view key, std::string& out) {
  out.clear();
  for (char c : key.substr(0, MetricExtractor::kMaxKeyLength)) {
    out += IsKeyChar(c) ? c : '_';
  }
}

}  // namespace

size_t MetricExtractor::Extract(std::string_view line, uint64_t arrival_index,
                                std::vector<MetricPoint>& out) const {
  std::string stripped;
  if (text::HasEscape(line)) {
    stripped = text::StripAnsi(line);
    line = stripped;
  }
  const size_t base = out.size();
  const KeyFilter wanted{extra_keys_};
  // Reused: a line is extracted for every line a job prints.
  thread_local Pairs pairs;
  pairs.clear();
  std::string key;
  size_t start = 0;
  while (start <= line.size()) {
    size_t end = FindLineBreak(line, start);
    if (end == std::string_view::npos) end = line.size();
    std::string_view segment = line.substr(start, end - start);
    start = end + 1;
    if (segment.size() > kMaxSegmentBytes) segment = segment.substr(0, kMaxSegmentBytes);
    while (!segment.empty() && IsBlank(segment.back())) segment.remove_suffix(1);
    if (segment.empty()) continue;
    pairs.clear();
    StepInfo step;
    bool parsed = false;
    if (segment.back() == '}') {
      const size_t brace = segment.find('{');
      if (brace != std::string_view::npos) {
        parsed = ParseObject(segment, brace, pairs, step) && !pairs.empty();
      }
      if (!parsed) {
        pairs.clear();
        step = StepInfo{};
      }
    }
    if (!parsed) parsed = ParseBar(segment, wanted, pairs, step);
    if (!parsed) ScanPairs(segment, wanted, pairs, step);
    const double at = step.Resolve(arrival_index);
    std::string step_label;
    AppendKey(step.Label(), step_label);
    for (const Pair& pair : pairs) {
      AppendKey(pair.key, key);
      if (key.empty()) continue;
      bool replaced = false;
      for (size_t i = base; i < out.size() && !replaced; ++i) {
        if (out[i].key == key && out[i].step == at) {
          out[i].value = pair.value;
          replaced = true;
        }
      }
      if (replaced) continue;
      if (out.size() - base >= kMaxPointsPerLine) return out.size() - base;
      out.push_back(MetricPoint{key, at, pair.value, step_label});
    }
  }
  return out.size() - base;
}

std::vector<MetricPoint> MetricExtractor::Extract(std::string_view line,
                                                  uint64_t arrival_index) const {
  std::vector<MetricPoint> out;
  Extract(line, arrival_index, out);
  return out;
}

}  // namespace labelrun::report
