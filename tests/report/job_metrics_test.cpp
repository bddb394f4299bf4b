#include "labelrun/report/job_metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "labelrun/report/redact.hpp"

namespace labelrun::report {
namespace {

using Values = std::vector<std::pair<std::string, double>>;

// The jobs API lists these: a metric named by a secret (a configured one, or one of the
// shapes the redactor knows) is shown as every other view shows it.
TEST(JobMetricsTest, LatestValuesAreNamedAsEveryViewShowsThem) {
  const std::string configured = "s3cr3t-value-for-tests";
  const Redactor redactor({configured});
  JobMetrics metrics;
  metrics.OnLine("{\"step\": 1, \"loss\": 0.9, \"" + configured + "\": 0.5}");
  metrics.OnLine("{\"step\": 2, \"loss\": 0.7, \"ghp_abcdefghijklmnopqrstuvwxyz0123\": 0.25}");
  metrics.OnLine("{\"step\": 3, \"accuracy\": NaN}");
  const Values got = metrics.LatestValues(redactor);
  EXPECT_EQ(got, (Values{{"loss", 0.7}, {"***", 0.5}})) << ::testing::PrintToString(got);
  // Without secrets to hide, the names are the keys as printed (the token's shape is
  // masked whatever the list holds).
  const Values plain = metrics.LatestValues(Redactor());
  EXPECT_EQ(plain, (Values{{"loss", 0.7}, {configured, 0.5}, {"***", 0.25}}))
      << ::testing::PrintToString(plain);
}

}  // namespace
}  // namespace labelrun::report
