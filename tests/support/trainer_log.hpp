#pragma once
// What a Hugging Face Trainer run writes to its terminal, byte for byte as tqdm writes it:
// the progress bar drawn over itself with '\r' ("\r" + bar, padded with spaces to the
// length of the one before), and at each logging step tqdm.write's three writes: the bar
// cleared ("\r" + spaces + "\r"), the metrics dict line, the bar drawn again. The bar's
// close ends its line with "\n"; the run's summary dict follows.

#include <string>
#include <string_view>
#include <vector>

namespace labelrun::testing {

struct TrainerLog {
  std::vector<std::string> writes;  // one element per write(2), in order
  std::string bytes;                // the writes joined
  // What a terminal leaves on screen: the metrics lines, the bar in its last state, the
  // summary.
  std::vector<std::string> screen;
  std::vector<double> losses;  // the 'loss' of each metrics line, in order
};

// `steps` updates of the bar, a metrics line every `log_every` of them.
TrainerLog HuggingFaceTrainerLog(int steps = 100, int log_every = 25);

// A job's log file as labelrun writes it when a container prints `bytes` on stdout:
// "<timestamp> o <text>\n" per line, a redraw's text ending in '\r' (through the real
// Docker log decoder).
std::string StoredLog(std::string_view bytes);

}  // namespace labelrun::testing
