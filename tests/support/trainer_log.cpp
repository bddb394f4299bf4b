#include "support/trainer_log.hpp"

#include <cstdint>
#include <cstdio>

#include "labelrun/runtime/log_decoder.hpp"

namespace labelrun::testing {
namespace {

size_t Chars(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string Clock(double seconds) {
  const int s = static_cast<int>(seconds);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", s / 60, s % 60);
  return buf;
}

// tqdm's default bar: "  7%|▋         | 7/100 [00:00<00:09,  9.50it/s]".
std::string Bar(int n, int total) {
  static const char* const kPartial[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  constexpr int kWidth = 10;
  constexpr double kRate = 9.5;
  const int eighths = n * kWidth * 8 / total;
  std::string bar;
  for (int i = 0; i < eighths / 8; ++i) bar += "█";
  int cells = eighths / 8;
  if (cells < kWidth && eighths % 8) {
    bar += kPartial[eighths % 8];
    ++cells;
  }
  bar += std::string(static_cast<size_t>(kWidth - cells), ' ');
  char head[32];
  std::snprintf(head, sizeof head, "%3d%%|", n * 100 / total);
  std::string out = head + bar + "| " + std::to_string(n) + "/" + std::to_string(total) + " [";
  if (n == 0) return out + "00:00<?, ?it/s]";
  char rate[16];
  std::snprintf(rate, sizeof rate, "%5.2fit/s]", kRate);
  return out + Clock(n / kRate) + "<" + Clock((total - n) / kRate) + ", " + rate;
}

}  // namespace

TrainerLog HuggingFaceTrainerLog(int steps, int log_every) {
  TrainerLog log;
  size_t last_len = 0;
  // tqdm's status printer.
  auto draw = [&](const std::string& s) {
    const size_t len = Chars(s);
    log.writes.push_back("\r" + s + std::string(last_len > len ? last_len - len : 0, ' '));
    last_len = len;
  };
  draw(Bar(0, steps));
  for (int n = 1; n <= steps; ++n) {
    draw(Bar(n, steps));
    if (n % log_every != 0) continue;
    const double loss = 2.3026 * (1.0 - 0.5 * n / steps);
    char line[160];
    std::snprintf(line, sizeof line,
                  "{'loss': %.4f, 'grad_norm': 1.9%d, 'learning_rate': %.2e, 'epoch': %.2f}", loss,
                  n / log_every, 5e-5 * (1.0 - 1.0 * n / steps), 1.0 * n / steps);
    // tqdm.write: clear the bar, the line, draw the bar again.
    log.writes.push_back("\r" + std::string(last_len, ' ') + "\r");
    last_len = 0;
    log.writes.push_back(std::string(line) + "\n");
    draw(Bar(n, steps));
    log.screen.push_back(line);
    log.losses.push_back(static_cast<double>(static_cast<int>(loss * 10000 + 0.5)) / 10000);
  }
  // close(): the bar once more, and its line ended.
  draw(Bar(steps, steps));
  log.writes.push_back("\n");
  log.screen.push_back(Bar(steps, steps));
  const std::string summary =
      "{'train_runtime': 10.5262, 'train_samples_per_second': 76.002, "
      "'train_steps_per_second': 9.5, 'train_loss': 1.7269, 'epoch': 1.0}";
  log.writes.push_back(summary + "\n");
  log.screen.push_back(summary);
  for (const std::string& w : log.writes) log.bytes += w;
  return log;
}

std::string StoredLog(std::string_view bytes) {
  runtime::LogDecoder decoder(runtime::LogDecoder::Options{.timestamps = false});
  std::string frame = {1, 0, 0, 0};
  const auto n = static_cast<uint32_t>(bytes.size());
  for (int shift : {24, 16, 8, 0}) frame += static_cast<char>((n >> shift) & 0xff);
  frame += bytes;
  std::string out;
  runtime::LogCallback store = [&](const runtime::LogLine& line) {
    out += "2026-12-04T22:40:00.000000001Z o " + std::string(line.text) +
           (line.redraw ? "\r\n" : "\n");
    return true;
  };
  (void)decoder.Feed(frame, store);
  (void)decoder.Finish(store);
  return out;
}

}  // namespace labelrun::testing
