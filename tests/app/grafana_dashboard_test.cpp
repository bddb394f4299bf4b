// config/grafana/labelrun-dashboard.json against what /metrics really exports:
// the real binary runs a GPU job (a stand-in nvidia-smi on the busybox test
// image) with the loopback GitHub, and every metric the dashboard's queries name
// must be in the scrape, with the labels they group by, and with rate() only
// over counters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "labelrun/app/jobs_setup.hpp"
#include "support/docker_env.hpp"
#include "support/fake_github.hpp"
#include "support/http_client.hpp"
#include "support/labelrun_process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

json Dashboard() {
  return json::parse(
      ReadFile(std::string(LABELRUN_SOURCE_DIR) + "/config/grafana/labelrun-dashboard.json"));
}

// Every PromQL text in the dashboard: panel targets and template variable queries.
void CollectQueries(const json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if ((key == "expr" || key == "definition") && value.is_string()) {
        out.push_back(value.get<std::string>());
      } else {
        CollectQueries(value, out);
      }
    }
  } else if (node.is_array()) {
    for (const json& v : node) CollectQueries(v, out);
  }
}

// A Prometheus text exposition: family types and sample lines by name.
struct Scrape {
  std::map<std::string, std::string> types;                 // family -> counter, gauge, ...
  std::map<std::string, std::vector<std::string>> samples;  // sample name -> label blocks

  explicit Scrape(const std::string& text) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("# TYPE ", 0) == 0) {
        std::istringstream words(line.substr(7));
        std::string name, type;
        words >> name >> type;
        types[name] = type;
      } else if (!line.empty() && line[0] != '#') {
        const size_t end = line.find_first_of("{ ");
        if (end == std::string::npos) continue;
        const std::string name = line.substr(0, end);
        const std::string labels =
            line[end] == '{' ? line.substr(end, line.find('}') - end + 1) : std::string("{}");
        samples[name].push_back(labels);
      }
    }
  }

  // The family a sample name belongs to: histograms expose NAME_bucket, _sum and
  // _count under `# TYPE NAME histogram`; any other name is its own family.
  std::string FamilyOf(const std::string& sample) const {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (sample.size() > s.size() && sample.compare(sample.size() - s.size(), s.size(), s) == 0) {
        const std::string base = sample.substr(0, sample.size() - s.size());
        auto it = types.find(base);
        if (it != types.end() && (it->second == "histogram" || it->second == "summary")) {
          return base;
        }
      }
    }
    return sample;
  }
  std::string TypeOf(const std::string& sample) const {
    auto it = types.find(FamilyOf(sample));
    return it == types.end() ? "" : it->second;
  }
  bool HasLabel(const std::string& sample, const std::string& label) const {
    auto it = samples.find(sample);
    if (it == samples.end()) return false;
    for (const std::string& l : it->second) {
      if (l.find("{" + label + "=\"") != std::string::npos ||
          l.find("," + label + "=\"") != std::string::npos) {
        return true;
      }
    }
    return false;
  }
};

std::vector<std::string> Trimmed(const std::string& list) {
  std::vector<std::string> out;
  std::istringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// What the dashboard asks of a scrape; an empty list when it is all there.
std::vector<std::string> Mismatches(const json& dashboard, const Scrape& scrape) {
  std::vector<std::string> queries;
  CollectQueries(dashboard, queries);
  std::vector<std::string> problems;
  if (queries.empty()) problems.push_back("no queries at all");
  static const std::regex kName(R"(\blabelrun_[A-Za-z0-9_]+)");
  static const std::regex kRate(R"(\b(?:rate|irate|increase)\(\s*(labelrun_[A-Za-z0-9_]+))");
  // The first series after histogram_quantile( is what it reads.
  static const std::regex kQuantile(R"(histogram_quantile\([^,]+,[^;]*?(labelrun_[A-Za-z0-9_]+))");
  static const std::regex kBy(
      R"(by \(([^)]*)\) \(\s*(?:(?:rate|irate|increase)\(\s*)?(labelrun_[A-Za-z0-9_]+))");
  for (const std::string& q : queries) {
    std::map<std::string, int> uses, rated;
    for (std::sregex_iterator it(q.begin(), q.end(), kName), end; it != end; ++it) {
      ++uses[it->str()];
    }
    for (std::sregex_iterator it(q.begin(), q.end(), kRate), end; it != end; ++it) {
      ++rated[(*it)[1].str()];
    }
    for (const auto& [name, n] : uses) {
      const std::string where = name + " in `" + q + "`: ";
      if (!scrape.samples.count(name)) {
        problems.push_back(where + "no such sample in /metrics");
        continue;
      }
      const std::string type = scrape.TypeOf(name);
      if (type.empty()) problems.push_back(where + "no # TYPE for its family");
      if (rated.count(name) && type != "counter" && type != "histogram") {
        problems.push_back(where + "rate() over a " + type);
      }
      if (type == "histogram" && scrape.FamilyOf(name) == name) {
        problems.push_back(where + "a histogram's base name has no samples of its own");
      }
      if (type == "counter" && rated[name] != n) {
        problems.push_back(where + "a counter used without rate()/increase()");
      }
    }
    for (std::sregex_iterator it(q.begin(), q.end(), kQuantile), end; it != end; ++it) {
      const std::string name = (*it)[1].str();
      if (scrape.TypeOf(name) != "histogram" || scrape.FamilyOf(name) + "_bucket" != name) {
        problems.push_back(name + " in `" + q + "`: histogram_quantile needs a _bucket series");
      }
    }
    for (std::sregex_iterator it(q.begin(), q.end(), kBy), end; it != end; ++it) {
      const std::string name = (*it)[2].str();
      for (const std::string& label : Trimmed((*it)[1].str())) {
        // `instance` comes from Prometheus' scrape target, not from labelrun.
        if (label != "instance" && !scrape.HasLabel(name, label)) {
          problems.push_back(name + " in `" + q + "`: no sample with label " + label);
        }
      }
    }
  }
  return problems;
}

TEST(GrafanaDashboard, IsAnImportableDashboardOverOnePrometheusInput) {
  json d = Dashboard();
  EXPECT_EQ(d.at("schemaVersion"), 39);
  ASSERT_EQ(d.at("__inputs").size(), 1u);
  EXPECT_EQ(d["__inputs"][0].at("name"), "DS_PROMETHEUS");
  EXPECT_EQ(d["__inputs"][0].at("pluginId"), "prometheus");
  EXPECT_TRUE(d.at("id").is_null());
  std::set<int> ids;
  for (const json& panel : d.at("panels")) {
    EXPECT_TRUE(ids.insert(panel.at("id").get<int>()).second) << panel.dump();
    const json& pos = panel.at("gridPos");
    EXPECT_LE(pos.at("x").get<int>() + pos.at("w").get<int>(), 24) << panel.at("title");
    if (panel.at("type") == "row") continue;
    EXPECT_EQ(panel.at("datasource").at("uid"), "${DS_PROMETHEUS}") << panel.at("title");
    for (const json& target : panel.at("targets")) {
      EXPECT_EQ(target.at("datasource").at("uid"), "${DS_PROMETHEUS}") << panel.at("title");
    }
  }
}

// The checker itself: it refuses what a dashboard must not ask.
TEST(GrafanaDashboard, TheCheckRefusesMissingMetricsGaugesUnderRateAndAbsentLabels) {
  const Scrape scrape(
      "# TYPE labelrun_a_total counter\nlabelrun_a_total{state=\"x\"} 1\n"
      "# TYPE labelrun_g gauge\nlabelrun_g 3\n"
      "# TYPE labelrun_h_seconds histogram\nlabelrun_h_seconds_bucket{le=\"+Inf\"} 1\n"
      "labelrun_h_seconds_sum 1\nlabelrun_h_seconds_count 1\n");
  auto check = [&](const std::string& expr) {
    json panel;
    panel["targets"] = json::array({json{{"expr", expr}}});
    json dashboard;
    dashboard["panels"] = json::array({panel});
    return Mismatches(dashboard, scrape);
  };
  EXPECT_THAT(check("sum by (state) (rate(labelrun_a_total[5m]))"), ::testing::IsEmpty());
  EXPECT_THAT(check("histogram_quantile(0.5, sum by (le) (rate(labelrun_h_seconds_bucket[5m])))"),
              ::testing::IsEmpty());
  EXPECT_THAT(check("rate(labelrun_h_seconds_sum[5m]) / rate(labelrun_h_seconds_count[5m])"),
              ::testing::IsEmpty());
  EXPECT_THAT(check("labelrun_missing"), ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(check("rate(labelrun_g[5m])"), ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(check("labelrun_a_total"), ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(check("rate(labelrun_h_seconds[5m])"), ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(check("sum by (host) (labelrun_g)"), ::testing::Not(::testing::IsEmpty()));
}

TEST(JobMetrics, GpuReadingsCarryHostGpuAndJobIdButNotPrometheusJob) {
  scheduler::DispatcherStats stats;
  stats.gpus_total["gpu-1"] = 2;
  stats.gpus_in_use["gpu-1"] = 1;
  stats.gpu_samples["j1"] = {"gpu-1", {{"GPU-a", 40, 1000, 8000}}};
  std::string out;
  app::RenderJobMetrics(stats, out);
  const Scrape scrape(out);
  for (const char* label : {"host", "gpu", "job_id"}) {
    EXPECT_TRUE(scrape.HasLabel("labelrun_job_gpu_utilization_percent", label)) << label << out;
  }
  EXPECT_FALSE(scrape.HasLabel("labelrun_job_gpu_utilization_percent", "job")) << out;
  EXPECT_TRUE(scrape.HasLabel("labelrun_gpus_in_use", "host")) << out;
  EXPECT_THAT(out, HasSubstr("labelrun_job_gpu_utilization_percent{job_id=\"j1\",host=\"gpu-1\","
                             "gpu=\"GPU-a\"} 40"));
}

class DashboardScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rt = ConnectTestDocker();
    ASSERT_TRUE(rt) << rt.error().message();
    ASSERT_EQ(EnsureTestImage(**rt), "");
    docker_ = std::move(*rt);
  }
  void TearDown() override {
    std::ifstream in(dir_.path() / "state" / "instance-id");
    std::string instance;
    if (docker_ && std::getline(in, instance)) {
      if (auto left = docker_->List({{"labelrun.instance", instance}})) {
        for (const auto& c : *left) (void)docker_->Remove(c.id);
      }
    }
  }
  TempDir dir_;
  std::unique_ptr<runtime::DockerRuntime> docker_;
};

TEST_F(DashboardScrapeTest, EveryMetricTheDashboardQueriesIsExported) {
  FakeGithub::Options github_options;
  github_options.static_token = "ghp_labelrun_dashboard_test";
  FakeGithub github(github_options, SystemClock::Instance());
  github.SetPermission("acme/vision", "alice", "write");
  dir_.Write("github-token", "ghp_labelrun_dashboard_test\n");
  // The job puts a stand-in nvidia-smi in its container (this host has no GPU)
  // that reports GPU 0 at 37 %, and the host passes its GPU without a
  // DeviceRequest.
  dir_.Write("repo/train.sh",
             "printf '#!/bin/sh\\necho \"0, 37, 1200, 81920\"\\n' > /bin/nvidia-smi\n"
             "chmod +x /bin/nvidia-smi\necho ready\nsleep 120\n");
  LabelrunProcess::Options options;
  options.extra_yaml = "labels_file: " + std::string(LABELRUN_SOURCE_DIR) +
                       "/LABELS.md\n"
                       "rules:\n"
                       "  - name: train\n"
                       "    when: {all: [task:training]}\n"
                       "    job: {image: \"" +
                       std::string(kTestImage) +
                       "\", command: [sh, train.sh], gpus: 1}\n"
                       "sources: {default_dir: " +
                       (dir_ / "repo").string() +
                       "}\n"
                       "hosts:\n"
                       "  - name: gpu-test\n"
                       "    docker: " +
                       TestDockerUrl() +
                       "\n"
                       "    gpus: [\"0\"]\n"
                       "    device_requests: false\n"
                       "scheduler: {gpu_sample_interval: 300ms}\n"
                       "github:\n  api_url: " +
                       github.url() + "\n  token_file: " + (dir_ / "github-token").string() + "\n";
  LabelrunProcess server(dir_, options);
  ASSERT_TRUE(server.WaitReady()) << server.Log();
  const std::string labeled =
      R"({"action":"labeled","label":{"name":"task:training"},"issue":{"number":21,)"
      R"("state":"open","title":"t","body":null,"labels":[{"name":"task:training"}]},)"
      R"("repository":{"id":1,"full_name":"acme/vision"},"sender":{"login":"alice","type":"User"}})";
  ASSERT_EQ(server.Deliver("issues", "dashboard-1", labeled).status, 202);
  ASSERT_EQ(server.Deliver("issues", "dashboard-2", labeled, "wrong-secret").status, 401);

  // Scrape until the job's GPU reading is in.
  static const std::regex kGpu(
      R"(labelrun_job_gpu_utilization_percent\{[^}]*host="gpu-test"[^}]*gpu="0"[^}]*\} 37)");
  std::string text;
  const auto until = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < until) {
    text = HttpRequest("GET", server.Url("/metrics"), {}, "").body;
    if (std::regex_search(text, kGpu)) break;
    std::this_thread::sleep_for(300ms);
  }
  ASSERT_TRUE(std::regex_search(text, kGpu)) << text << "\n" << server.Log();

  const Scrape scrape(text);
  EXPECT_THAT(Mismatches(Dashboard(), scrape), ::testing::IsEmpty()) << text;
  // The panels the dashboard promises, by the series they read.
  std::vector<std::string> queries;
  CollectQueries(Dashboard(), queries);
  std::string all;
  for (const std::string& q : queries) all += q + "\n";
  for (const char* name :
       {"labelrun_webhook_deliveries_total", "labelrun_webhook_signature_failures_total",
        "labelrun_inbox_depth", "labelrun_webhook_request_duration_seconds_bucket",
        "labelrun_job_queue_depth", "labelrun_jobs", "labelrun_job_gpu_utilization_percent",
        "labelrun_github_outbox_depth", "labelrun_github_rate_limit_waits_total",
        "labelrun_jobs_finished_total", "labelrun_job_duration_seconds_bucket",
        "labelrun_job_queue_wait_seconds_bucket", "labelrun_build_info"}) {
    EXPECT_TRUE(std::regex_search(all, std::regex(std::string(name) + R"(\b)"))) << name;
  }
  EXPECT_TRUE(scrape.HasLabel("labelrun_jobs", "state"));
  EXPECT_TRUE(scrape.HasLabel("labelrun_gpus_in_use", "host"));
  // The running job left the queue once; the rule's counters are there at 0.
  EXPECT_THAT(text, HasSubstr("\nlabelrun_job_queue_wait_seconds_count 1\n"));
  EXPECT_THAT(text,
              HasSubstr("\nlabelrun_jobs_finished_total{rule=\"train\",outcome=\"failed\"} 0\n"));
  EXPECT_TRUE(std::regex_search(
      text, std::regex(R"(\nlabelrun_build_info\{version="[0-9.]+",commit="[0-9a-f]{12}"\} 1\n)")))
      << text;
}

}  // namespace
}  // namespace labelrun::testing
