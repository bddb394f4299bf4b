#pragma once
// Metric points from training log lines, with no SDK in the training script.
//
// Styles understood, tried in this order on each `\r`-separated segment of a line
// (ANSI colour codes removed first):
//  1. An object at the end of the segment, JSON or Python-literal: `{"epoch": 3, "loss":
//     0.41}`, the Hugging Face Trainer's `{'loss': 0.4123, 'learning_rate': 5e-05, 'epoch':
//     0.5}` and its newer quoted form `{'loss': '0.6931', ...}`. Any text may precede the
//     `{` (a timestamp, `@@metrics`). Every numeric field is a metric, except the step keys
//     and the bookkeeping keys below. Quoted numbers, `nan`/`inf`/`NaN`/`Infinity`, and
//     wrappers such as `np.float64(0.5)` or `tensor(0.5, device='cuda:0')` are numbers;
//     True/False/None, other strings, lists and nested objects are skipped.
//  2. A tqdm / PyTorch Lightning bar (`Epoch 0:  50%|███  | 500/1000 [00:10<00:10,
//     48.3it/s, v_num=0, train_loss=0.123]`): every `key=value` of the postfix (the last
//     `[...]`) except `v_num`, plus metric-looking pairs in the description.
//  3. Generic pairs anywhere on the line: `key=value`, `key: value` and `key value`
//     (`step 120 | loss 2.31 | lr 3e-4`, `Epoch 3: loss=0.41 acc=0.9`), taken only for
//     metric-looking keys (see IsMetricLikeKey) and the configured extra keys, so that
//     `port: 8080` or `seed=42` are not metrics.
//
// A value must be a number ending at a word boundary: `torch 2.1.0`, `12:00:00`, dates,
// `v1.2.3` and `100%|` are not values. `nan` and `inf` are kept as such (the series count
// them but never plot them).
//
// The step: an explicit step key on the line (`global_step` > `step`/`_step` >
// `iteration`/`iter`/`it`), else `N/M` (bar counters, `[120/1000]`; with an `Epoch E` on
// the same line the step is `E*M + N`, so that it keeps growing across epochs), else
// `epoch`, else the arrival index passed in. Step keys are never metrics themselves. Each
// point carries the word its step came from (MetricPoint::step_label).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace labelrun::report {

struct MetricPoint {
  std::string key;  // [A-Za-z0-9_./-], at most kMaxKeyLength bytes; other bytes become '_'
  double step = 0;
  double value = 0;  // may be NaN or ±inf
  // What the step counts, as the line named it: the step key as written (`epoch`,
  // `global_step`, `Iter`), "step" for an `N/M` counter, "line" for the arrival index.
  std::string step_label = "step";
};

// True for progress counters that give a point its step: step, global_step, _step,
// iteration, iter, it, epoch (any case).
bool IsStepKey(std::string_view key);
// True when the key (any case), or one of its parts split on `_ . / -` (with or without
// its trailing digits), is a word of the
// metric vocabulary: loss, acc, accuracy, lr, learning_rate, ppl, perplexity, f1, bleu,
// rouge*, auc, auroc, mse, mae, rmse, wer, cer, reward, norm, grad_norm, precision,
// recall, iou, miou, map, top1, top5, entropy, kl.
bool IsMetricLikeKey(std::string_view key);

// Stateless and thread-safe after construction.
class MetricExtractor {
 public:
  static constexpr size_t kMaxPointsPerLine = 64;
  static constexpr size_t kMaxKeyLength = 64;
  // Longer segments are read up to this many bytes.
  static constexpr size_t kMaxSegmentBytes = 64 * 1024;

  // extra_keys: more keys that generic pairs may use (e.g. the job's configured metric).
  explicit MetricExtractor(std::vector<std::string> extra_keys = {});

  // Appends the points found on `line` to `out` (at most kMaxPointsPerLine; a repeated
  // (key, step) on the same line keeps the last value) and returns how many were added.
  // `arrival_index` is the step of points whose line names none.
  size_t Extract(std::string_view line, uint64_t arrival_index,
                 std::vector<MetricPoint>& out) const;
  std::vector<MetricPoint> Extract(std::string_view line, uint64_t arrival_index) const;

 private:
  std::vector<std::string> extra_keys_;
};

}  // namespace labelrun::report
