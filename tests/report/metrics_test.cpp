// Extraction tables: one table per log style, with real lines from the Hugging Face
// Trainer (both its float and its quoted-string dict), tqdm, PyTorch Lightning, Keras,
// generic key/value logs, JSON lines, ANSI colour, nan/inf, and lines that must give none.
#include "labelrun/report/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace labelrun::report {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Expected {
  std::string key;
  double step;
  double value;
};

struct Case {
  std::string line;
  std::vector<Expected> points;
};

std::string Show(const std::vector<MetricPoint>& points) {
  std::string out;
  for (const MetricPoint& p : points) {
    out += "  " + p.key + " @ " + std::to_string(p.step) + " = " + std::to_string(p.value) + "\n";
  }
  return out;
}

void Check(const std::vector<Case>& cases, uint64_t arrival = 7) {
  const MetricExtractor extractor;
  for (const Case& c : cases) {
    const std::vector<MetricPoint> got = extractor.Extract(c.line, arrival);
    ASSERT_EQ(got.size(), c.points.size()) << "line: " << c.line << "\ngot:\n" << Show(got);
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE("line: " + c.line + "\npoint " + std::to_string(i));
      EXPECT_EQ(got[i].key, c.points[i].key);
      EXPECT_DOUBLE_EQ(got[i].step, c.points[i].step);
      if (std::isnan(c.points[i].value)) {
        EXPECT_TRUE(std::isnan(got[i].value)) << got[i].value;
      } else {
        EXPECT_DOUBLE_EQ(got[i].value, c.points[i].value);
      }
    }
  }
}

TEST(MetricExtractorTest, HuggingFaceTrainerFloatDicts) {
  Check({
      {"{'loss': 0.6931, 'learning_rate': 4.5e-05, 'epoch': 0.5}",
       {{"loss", 0.5, 0.6931}, {"learning_rate", 0.5, 4.5e-05}}},
      {"{'loss': 0.4123, 'grad_norm': 1.8734, 'learning_rate': 5e-05, 'epoch': 0.25}",
       {{"loss", 0.25, 0.4123}, {"grad_norm", 0.25, 1.8734}, {"learning_rate", 0.25, 5e-05}}},
      {"{'eval_loss': 0.5123, 'eval_accuracy': 0.8512, 'eval_runtime': 12.3456, "
       "'eval_samples_per_second': 81.003, 'eval_steps_per_second': 10.125, 'epoch': 1.0}",
       {{"eval_loss", 1, 0.5123},
        {"eval_accuracy", 1, 0.8512},
        {"eval_runtime", 1, 12.3456},
        {"eval_samples_per_second", 1, 81.003},
        {"eval_steps_per_second", 1, 10.125}}},
      {"{'train_runtime': 123.4567, 'train_samples_per_second': 64.8, "
       "'train_steps_per_second': 8.1, 'train_loss': 0.5812345, 'epoch': 3.0}",
       {{"train_runtime", 3, 123.4567},
        {"train_samples_per_second", 3, 64.8},
        {"train_steps_per_second", 3, 8.1},
        {"train_loss", 3, 0.5812345}}},
      // fp16 overflow: the Trainer logs grad_norm nan.
      {"{'loss': 0.0, 'grad_norm': nan, 'learning_rate': 0.0, 'epoch': 0.01}",
       {{"loss", 0.01, 0}, {"grad_norm", 0.01, kNan}, {"learning_rate", 0.01, 0}}},
      // numpy 2 scalars print as np.float64(...).
      {"{'loss': np.float64(0.25), 'epoch': np.float64(2.0)}", {{"loss", 2, 0.25}}},
  });
}

TEST(MetricExtractorTest, HuggingFaceTrainerQuotedDicts) {
  // The newer ProgressCallback formats every float with "{v:.4g}", giving strings.
  Check({
      {"{'loss': '0.6931', 'grad_norm': '1.234', 'learning_rate': '4.5e-05', 'epoch': '0.5'}",
       {{"loss", 0.5, 0.6931}, {"grad_norm", 0.5, 1.234}, {"learning_rate", 0.5, 4.5e-05}}},
      {"{'eval_loss': '0.4217', 'eval_runtime': '3.512', 'eval_samples_per_second': '284.7', "
       "'eval_steps_per_second': '35.59', 'epoch': '1'}",
       {{"eval_loss", 1, 0.4217},
        {"eval_runtime", 1, 3.512},
        {"eval_samples_per_second", 1, 284.7},
        {"eval_steps_per_second", 1, 35.59}}},
      {"{'loss': '0', 'grad_norm': 'nan', 'learning_rate': '1e-05', 'epoch': '0.02'}",
       {{"loss", 0.02, 0}, {"grad_norm", 0.02, kNan}, {"learning_rate", 0.02, 1e-05}}},
      // Non-numeric strings, booleans and None are skipped.
      {"{'loss': '0.5', 'model': 'bert-base', 'fp16': True, 'best': None, 'epoch': '1.5'}",
       {{"loss", 1.5, 0.5}}},
  });
}

TEST(MetricExtractorTest, JsonLines) {
  Check({
      {R"({"epoch": 3, "loss": 0.41})", {{"loss", 3, 0.41}}},
      {R"({"step": 120, "epoch": 0.48, "loss": 2.31, "lr": 3e-4})",
       {{"loss", 120, 2.31}, {"lr", 120, 3e-4}}},
      {R"(@@metrics {"step": 1200, "epoch": 0.48, "split": "train", "loss": 0.6931, )"
       R"("lr": 4.5e-05, "ts": 1795692784.12})",
       {{"loss", 1200, 0.6931}, {"lr", 1200, 4.5e-05}}},
      {R"(2024-05-01 12:00:00 INFO {"global_step": 10, "step": 3, "acc": 0.5})",
       {{"acc", 10, 0.5}}},
      {R"({"step": 5, "loss": NaN, "val_loss": Infinity, "x": -Infinity})",
       {{"loss", 5, kNan}, {"val_loss", 5, kInf}, {"x", 5, -kInf}}},
      {R"({"step": 6, "loss": "NaN", "nested": {"loss": 1}, "list": [1, 2], "ok": null})",
       {{"loss", 6, kNan}}},
      // Bookkeeping fields are not metrics; no step: arrival order.
      {R"({"time": 1714567890.5, "rank": 0, "pid": 4242, "loss": 1.5})", {{"loss", 7, 1.5}}},
      {R"({"loss": 1e-3,})", {{"loss", 7, 0.001}}},
  });
}

TEST(MetricExtractorTest, TqdmBars) {
  Check({
      {"100%|██████████| 1000/1000 [00:10<00:00, 98.21it/s, loss=0.123]", {{"loss", 1000, 0.123}}},
      {"  5%|▌         | 50/1000 [00:01<00:19, 48.32it/s, loss=2.31, lr=0.001]",
       {{"loss", 50, 2.31}, {"lr", 50, 0.001}}},
      {"train: 500it [00:10, 48.30it/s, loss=0.1]", {{"loss", 500, 0.1}}},
      {"loss=0.75:  40%|████      | 40/100 [00:02<00:03, 19.9it/s]", {{"loss", 40, 0.75}}},
      // tqdm's own format_num gives 1.23e-05.
      {" 12%|█▏        | 120/1000 [00:02<00:15, 55.0it/s, lr=1.23e-05, acc=0.5]",
       {{"lr", 120, 1.23e-05}, {"acc", 120, 0.5}}},
      // A bar with no postfix has no metrics; neither has a download bar.
      {"100%|██████████| 10/10 [00:01<00:00,  9.50it/s]", {}},
      {"Downloading model.safetensors: 100%|██████████| 548M/548M [00:05<00:00, 98.1MB/s]", {}},
      {"Map: 100%|██████████| 25000/25000 [00:03<00:00, 7312.45 examples/s]", {}},
  });
}

TEST(MetricExtractorTest, LightningBars) {
  Check({
      {"Epoch 0:  50%|█████     | 500/1000 [00:10<00:10, 48.30it/s, v_num=0, train_loss=0.123]",
       {{"train_loss", 500, 0.123}}},
      // Across epochs the step keeps growing: epoch * total + n.
      {"Epoch 2: 100%|██████████| 1000/1000 [00:21<00:00, 47.12it/s, v_num=3, "
       "train_loss_step=0.0842, val_loss=0.101, val_acc=0.968, train_loss_epoch=0.0911]",
       {{"train_loss_step", 3000, 0.0842},
        {"val_loss", 3000, 0.101},
        {"val_acc", 3000, 0.968},
        {"train_loss_epoch", 3000, 0.0911}}},
      {"Validation DataLoader 0: 100%|██████████| 79/79 [00:01<00:00, 61.2it/s]", {}},
  });
}

TEST(MetricExtractorTest, RedrawsAfterCarriageReturns) {
  // One "line" that tqdm redrew three times: each redraw is a point.
  Check({
      {"\r  1%|          | 10/1000 [00:00<00:20, 49.1it/s, loss=2.5]"
       "\r  2%|▏         | 20/1000 [00:00<00:19, 49.5it/s, loss=2.4]"
       "\r  3%|▎         | 30/1000 [00:00<00:19, 49.8it/s, loss=2.2]",
       {{"loss", 10, 2.5}, {"loss", 20, 2.4}, {"loss", 30, 2.2}}},
      // The same step redrawn keeps the last value.
      {"\rEpoch 1: 10%| | 5/50 [00:01<00:09, v_num=1, loss=1.5]"
       "\rEpoch 1: 10%| | 5/50 [00:01<00:09, v_num=1, loss=1.4]",
       {{"loss", 55, 1.4}}},
  });
}

TEST(MetricExtractorTest, GenericPairs) {
  Check({
      {"step 120 | loss 2.31 | lr 3e-4", {{"loss", 120, 2.31}, {"lr", 120, 3e-4}}},
      {"Epoch 3: loss=0.41 acc=0.9", {{"loss", 3, 0.41}, {"acc", 3, 0.9}}},
      {"2024-05-01 12:00:00,123 - INFO - step: 100, loss: 0.512, grad_norm: 1.2",
       {{"loss", 100, 0.512}, {"grad_norm", 100, 1.2}}},
      {"iter 40/1000 train_loss=3.1 val_ppl=22.5",
       {{"train_loss", 40, 3.1}, {"val_ppl", 40, 22.5}}},
      {"[120/1000] loss: 2.3 top1: 45.2%", {{"loss", 120, 2.3}, {"top1", 120, 45.2}}},
      {"Epoch 2 [30/100] Loss: 0.25", {{"Loss", 230, 0.25}}},
      {"global_step=5000 step=12 loss=0.1", {{"loss", 5000, 0.1}}},
      // Keras.
      {"1000/1000 [==============================] - 10s 10ms/step - loss: 0.4123 - accuracy: "
       "0.8512",
       {{"loss", 1000, 0.4123}, {"accuracy", 1000, 0.8512}}},
      {"INFO:root:loss=0.5 lr=1e-3", {{"loss", 7, 0.5}, {"lr", 7, 0.001}}},
      {"loss=nan step=12", {{"loss", 12, kNan}}},
      {"val_loss: inf, val_bleu: -inf", {{"val_loss", 7, kInf}, {"val_bleu", 7, -kInf}}},
      {"it 30 loss=+1.5e+00", {{"loss", 30, 1.5}}},
  });
}

TEST(MetricExtractorTest, AnsiColourIsIgnored) {
  Check({
      {"\x1b[32mINFO\x1b[0m step 10 loss=\x1b[1m0.5\x1b[0m", {{"loss", 10, 0.5}}},
      {"\x1b[1;34m{'loss': 0.75, 'epoch': 1.0}\x1b[0m", {{"loss", 1, 0.75}}},
      {"\x1b]0;title\x07"
       "Epoch 1: loss=0.3",
       {{"loss", 1, 0.3}}},
  });
}

TEST(MetricExtractorTest, LinesWithoutMetrics) {
  Check({
      {"2024-01-15 10:23:45 INFO Starting training", {}},
      {"Using torch version: 2.1.0+cu121", {}},
      {"loss: 2.1.0", {}},
      {"lr: 12:00:00", {}},
      {"loss 2024-01-05", {}},
      {"Python 3.10.12", {}},
      {"release v1.2.3 loss-v2", {}},
      {"lr_scheduler: cosine", {}},
      {"loss: see below", {}},
      {"GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-3f2a)", {}},
      {"batch_size=32 seed=42 num_workers=4 port: 8080", {}},
      {"Saving model checkpoint to /out/checkpoint-500", {}},
      {"date 2024/01/05 at 10.0.0.1:8080", {}},
      {"loss.backward() took 12ms", {}},
      {"error: 3 files failed", {}},
      {"Accuracy of the network on the 10000 test images: 54 %", {}},
      {"loss: 12s", {}},
      {"lr=inference", {}},
      {"Epoch 1/10", {}},
      {"{'epoch': 1.0}", {}},
      {"{not json at all}", {}},
      {"", {}},
  });
}

TEST(MetricExtractorTest, ExtraKeysWidenGenericPairs) {
  MetricExtractor plain;
  MetricExtractor configured({"val_bpd"});
  EXPECT_TRUE(plain.Extract("step 3 val_bpd=1.25", 0).empty());
  auto points = configured.Extract("step 3 val_bpd=1.25", 0);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].key, "val_bpd");
  EXPECT_EQ(points[0].step, 3);
}

TEST(MetricExtractorTest, KeysAreSanitisedAndBounded) {
  MetricExtractor extractor;
  auto points = extractor.Extract(R"({"we ird<key>": 1, "step": 2})", 0);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].key, "we_ird_key_");
  std::string json = "{";
  for (int i = 0; i < 200; ++i)
    json += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
  json += "\"" + std::string(500, 'a') + "\": 1}";
  points = extractor.Extract(json, 0);
  EXPECT_EQ(points.size(), MetricExtractor::kMaxPointsPerLine);
  std::string long_key = "{\"" + std::string(500, 'b') + "\": 1}";
  points = extractor.Extract(long_key, 0);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].key.size(), MetricExtractor::kMaxKeyLength);
}

TEST(MetricExtractorTest, HugeAndHostileLinesStayBounded) {
  MetricExtractor extractor;
  std::string huge(1 << 20, '{');
  EXPECT_TRUE(extractor.Extract(huge, 0).empty());
  std::string pairs;
  for (int i = 0; i < 10000; ++i)
    pairs += "loss=" + std::to_string(i) + " step=" + std::to_string(i) + "\r";
  EXPECT_LE(extractor.Extract(pairs, 0).size(), MetricExtractor::kMaxPointsPerLine);
  EXPECT_TRUE(extractor.Extract(std::string("\x1b[", 2), 0).empty());
  EXPECT_TRUE(extractor.Extract(std::string("loss=\0", 6), 0).empty());
}

TEST(MetricKeysTest, Vocabulary) {
  for (const char* key : {"loss", "train_loss", "val/loss", "eval_accuracy", "Loss", "lr",
                          "learning_rate", "grad_norm", "top1", "val_acc1", "rougeL", "ppl"}) {
    EXPECT_TRUE(IsMetricLikeKey(key)) << key;
  }
  for (const char* key : {"port", "seed", "batch_size", "lossy_codec", "error", "time", "step"}) {
    EXPECT_FALSE(IsMetricLikeKey(key)) << key;
  }
  for (const char* key : {"step", "global_step", "_step", "Epoch", "iter", "it", "iteration"}) {
    EXPECT_TRUE(IsStepKey(key)) << key;
  }
  EXPECT_FALSE(IsStepKey("steps"));
}

}  // namespace
}  // namespace labelrun::report
