#include "labelrun/rules/loader.hpp"

#include <gtest/gtest.h>

#include "rules/test_util.hpp"

namespace labelrun::rules {
namespace {

using testing::ErrorsText;
using testing::LoadYaml;

constexpr const char* kValid = R"(
hold_labels: [status:blocked, status:on-hold]
rules:
  - name: train-on-gpu
    when: {all: [task:training, gpu:required]}
    min_permission: maintain
    allowed_users: [alice, bob]
    max_concurrent: 2
    job:
      image: pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime
      command: [python, train.py]
      env: {B: "2", A: "1"}
      gpus: 2
      cpus: 7.5
      memory: 32g
      shm_size: 512m
      timeout: 1h30m
      host_selector: {gpu: a100}
      outputs: /workspace/out
      outputs_max_bytes: 64MiB
      metric: val_loss
      env_from_labels: {"module:*": LABELRUN_MODULE}
  - name: smoke
    priority: 5
    when: {any: ["task:*"], none: [gpu:required]}
    job: {image: "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", command: [true]}
)";

TEST(LoaderTest, LoadsEveryField) {
  LoadedRules loaded = LoadYaml(kValid);
  ASSERT_TRUE(loaded.ok()) << ErrorsText(loaded);
  const RuleSet& set = loaded.rule_set;
  ASSERT_EQ(set.rules().size(), 2u);
  EXPECT_EQ(set.rules()[0].name, "smoke");  // higher priority first
  EXPECT_EQ(set.rules()[0].position, 1u);
  const Rule* rule = set.Find("train-on-gpu");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->min_permission, Permission::kMaintain);
  EXPECT_EQ(rule->allowed_users, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(rule->max_concurrent, 2);
  const JobTemplate& job = rule->job;
  EXPECT_EQ(job.command, (std::vector<std::string>{"python", "train.py"}));
  EXPECT_EQ(job.env, (KeyValues{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(job.gpus, 2);
  EXPECT_DOUBLE_EQ(job.cpus, 7.5);
  EXPECT_EQ(job.memory_bytes, 32ull << 30);
  EXPECT_EQ(job.shm_bytes, 512ull << 20);
  EXPECT_EQ(job.timeout, std::chrono::minutes(90));
  EXPECT_EQ(job.host_selector, (KeyValues{{"gpu", "a100"}}));
  EXPECT_EQ(job.outputs, "/workspace/out");
  EXPECT_EQ(job.outputs_max_bytes, 64ull << 20);
  EXPECT_EQ(set.rules()[0].job.outputs_max_bytes, 1ull << 30) << "the default";
  EXPECT_EQ(job.metrics, (std::vector<std::string>{"val_loss"}));
  ASSERT_EQ(job.env_from_labels.size(), 1u);
  EXPECT_EQ(job.env_from_labels[0].variable, "LABELRUN_MODULE");
  EXPECT_EQ(set.hold_labels(), (std::vector<std::string>{"status:blocked", "status:on-hold"}));
}

TEST(LoaderTest, Defaults) {
  LoadedRules loaded = LoadYaml(R"(
rules:
  - name: r
    when: {all: [task:training]}
    job: {image: "pytorch/pytorch:2.8.0", command: [python]}
)");
  ASSERT_TRUE(loaded.ok()) << ErrorsText(loaded);
  const Rule& rule = loaded.rule_set.rules()[0];
  EXPECT_EQ(rule.min_permission, Permission::kWrite);
  EXPECT_EQ(rule.priority, 0);
  EXPECT_EQ(rule.job.metrics, (std::vector<std::string>{"loss"}));
  EXPECT_EQ(rule.job.gpus, 0);
  EXPECT_EQ(rule.job.timeout, kDefaultJobTimeout);
  EXPECT_EQ(loaded.rule_set.hold_labels(), (std::vector<std::string>{"status:blocked"}));
}

TEST(LoaderTest, MetricMayNameAList) {
  LoadedRules loaded = LoadYaml(R"(
rules:
  - name: r
    when: {all: [task:training]}
    job: {image: "pytorch/pytorch:2.8.0", command: [python], metric: [loss, val_loss, eval/acc]}
  - name: s
    priority: 1
    when: {all: [task:inference]}
    job: {image: "pytorch/pytorch:2.8.0", command: [python], metric: val_loss}
)");
  ASSERT_TRUE(loaded.ok()) << ErrorsText(loaded);
  EXPECT_EQ(loaded.rule_set.Find("r")->job.metrics,
            (std::vector<std::string>{"loss", "val_loss", "eval/acc"}));
  EXPECT_EQ(loaded.rule_set.Find("s")->job.metrics, (std::vector<std::string>{"val_loss"}));
}

TEST(LoaderTest, EmptyOrMissingRules) {
  EXPECT_TRUE(LoadYaml("{}").ok());
  EXPECT_TRUE(LoadYaml("rules: []").ok());
  EXPECT_TRUE(LoadYaml("").ok());
  EXPECT_FALSE(LoadYaml("rules: 3").ok());
  EXPECT_FALSE(LoadYaml("[1, 2]").ok());
}

struct ErrorCase {
  const char* name;
  const char* job_or_rule;  // YAML for one rule
  const char* expected;     // substring of the errors
};

class LoaderErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoaderErrorTest, ReportsKeyPath) {
  // Two valid rules first, so the bad one is rules[2].
  std::string yaml = R"(
rules:
  - {name: a, priority: 1, when: {all: [task:inference]}, job: {image: "x:1", command: [x]}}
  - {name: b, priority: 2, when: {all: [task:benchmarking]}, job: {image: "x:1", command: [x]}}
)";
  yaml += GetParam().job_or_rule;
  LoadedRules loaded = LoadYaml(yaml);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(ErrorsText(loaded).find(GetParam().expected), std::string::npos) << ErrorsText(loaded);
}

#define RULE(when, job) "  - {name: c, when: " when ", job: " job "}\n"
#define JOB(extra) "{image: \"pytorch/pytorch:2.8.0\", command: [python]" extra "}"
#define WHEN "{all: [task:training]}"

INSTANTIATE_TEST_SUITE_P(
    Table, LoaderErrorTest,
    ::testing::Values(
        ErrorCase{"untagged", RULE(WHEN, "{image: pytorch, command: [x]}"),
                  "rules[2].job.image: image 'pytorch' has no tag; pin a tag or digest"},
        ErrorCase{
            "latest", RULE(WHEN, "{image: \"pytorch/pytorch:latest\", command: [x]}"),
            "rules[2].job.image: image 'pytorch/pytorch:latest' uses the moving tag 'latest'"},
        ErrorCase{"registry_port_no_tag",
                  RULE(WHEN, "{image: \"localhost:5000/img\", command: [x]}"),
                  "rules[2].job.image: image 'localhost:5000/img' has no tag"},
        ErrorCase{"bad_digest", RULE(WHEN, "{image: \"img@sha256:abc\", command: [x]}"),
                  "rules[2].job.image: image 'img@sha256:abc' has a malformed digest"},
        ErrorCase{"missing_image", RULE(WHEN, "{command: [x]}"), "rules[2].job.image: is missing"},
        ErrorCase{"shell_string", RULE(WHEN, "{image: \"x:1\", command: \"python train.py\"}"),
                  "rules[2].job.command: must be a list of arguments"},
        ErrorCase{"bad_duration", RULE(WHEN, JOB(", timeout: soon")),
                  "rules[2].job.timeout: invalid duration 'soon'"},
        ErrorCase{"bad_size", RULE(WHEN, JOB(", memory: lots")),
                  "rules[2].job.memory: invalid size 'lots'"},
        ErrorCase{"bad_shm", RULE(WHEN, JOB(", shm_size: -1")),
                  "rules[2].job.shm_size: invalid size"},
        ErrorCase{"gpus_range", RULE(WHEN, JOB(", gpus: 100")),
                  "rules[2].job.gpus: 100 is outside 0..64"},
        ErrorCase{"gpus_type", RULE(WHEN, JOB(", gpus: [1]")),
                  "rules[2].job.gpus: must be a string"},
        ErrorCase{"cpus", RULE(WHEN, JOB(", cpus: many")),
                  "rules[2].job.cpus: 'many' is not a number"},
        ErrorCase{"outputs", RULE(WHEN, JOB(", outputs: out/../x")),
                  "rules[2].job.outputs: must be an absolute"},
        ErrorCase{"outputs_max_bytes", RULE(WHEN, JOB(", outputs_max_bytes: 1KiB")),
                  "rules[2].job.outputs_max_bytes: must be at least 2KiB"},
        ErrorCase{"metric_empty_list", RULE(WHEN, JOB(", metric: []")),
                  "rules[2].job.metric: is empty; name at least one metric"},
        ErrorCase{"metric_bad_name", RULE(WHEN, JOB(", metric: [loss, \"val loss\"]")),
                  "rules[2].job.metric[1]: 'val loss' must be 1-64 letters"},
        ErrorCase{"metric_twice", RULE(WHEN, JOB(", metric: [loss, acc, loss]")),
                  "rules[2].job.metric[2]: 'loss' is named twice"},
        ErrorCase{"metric_too_many", RULE(WHEN, JOB(", metric: [a, b, c, d, e, f, g]")),
                  "rules[2].job.metric: names 7 metrics; at most 6 are charted"},
        ErrorCase{"metric_map", RULE(WHEN, JOB(", metric: {a: b}")),
                  "rules[2].job.metric: must be a metric name or a list of them"},
        ErrorCase{"metric_nested", RULE(WHEN, JOB(", metric: [[loss]]")), "rules[2].job.metric"},
        ErrorCase{"env_name", RULE(WHEN, JOB(", env: {\"1X\": y}")),
                  "rules[2].job.env.1X: is not a valid"},
        ErrorCase{"env_from_unknown", RULE(WHEN, JOB(", env_from_labels: {\"team:*\": TEAM}")),
                  "rules[2].job.env_from_labels.team:*: pattern 'team:*' matches no label"},
        ErrorCase{"unknown_job_key", RULE(WHEN, JOB(", imgae: x")),
                  "rules[2].job.imgae: unknown key; did you mean 'image'?"},
        ErrorCase{"unknown_rule_key",
                  "  - {name: c, when: " WHEN ", job: " JOB("") ", priorty: 1}\n",
                  "rules[2].priorty: unknown key; did you mean 'priority'?"},
        ErrorCase{"unknown_label", RULE("{all: [gpu:requried]}", JOB("")),
                  "rules[2].when.all[0]: label 'gpu:requried' is not in LABELS.md; did you mean "
                  "'gpu:required'?"},
        ErrorCase{"bad_label", RULE("{all: [Task:Training]}", JOB("")), "rules[2].when.all[0]:"},
        ErrorCase{"glob_matches_nothing", RULE("{any: [\"team:*\"]}", JOB("")),
                  "rules[2].when.any[0]: pattern 'team:*' matches no label"},
        ErrorCase{"empty_when", RULE("{none: [env:cpu]}", JOB("")),
                  "rules[2].when: needs at least one label in 'all' or 'any'"},
        ErrorCase{"contradiction", RULE("{all: [env:cpu], none: [env:cpu]}", JOB("")),
                  "is in both 'all' and 'none'"},
        ErrorCase{"when_scalar", RULE("task:training", JOB("")), "rules[2].when: must be a map"},
        ErrorCase{"all_scalar", RULE("{all: task:training}", JOB("")),
                  "rules[2].when.all: must be a list, like [a, b]"},
        ErrorCase{"needs_hold_label", RULE("{all: [status:blocked]}", JOB("")), "is a hold label"},
        ErrorCase{"permission",
                  "  - {name: c, when: " WHEN ", job: " JOB("") ", min_permission: god}\n",
                  "rules[2].min_permission: 'god' is not one of"},
        ErrorCase{"duplicate_name", "  - {name: a, when: " WHEN ", job: " JOB("") "}\n",
                  "rules[2].name: rule 'a' is defined twice"},
        ErrorCase{"bad_name", "  - {name: \"Bad Name\", when: " WHEN ", job: " JOB("") "}\n",
                  "rules[2].name: 'Bad Name' must be"},
        ErrorCase{"missing_name", "  - {when: " WHEN ", job: " JOB("") "}\n",
                  "rules[2].name: is missing"},
        ErrorCase{"missing_job", "  - {name: c, when: " WHEN "}\n", "rules[2].job: is missing"},
        ErrorCase{"docker_socket", RULE(WHEN, JOB(", mounts: [\"/var/run/docker.sock:/d.sock\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts the Docker socket "
                  "(/var/run/docker.sock:/d.sock): the job can start containers as root on the "
                  "host; refused unless the rule says unsafe: true"},
        ErrorCase{"run_docker_socket",
                  RULE(WHEN, JOB(", mounts: [\"/data:/data:ro\", \"/run/docker.sock:/s\"]")),
                  "rules[2].job.mounts[1]: rule 'c' mounts the Docker socket"},
        ErrorCase{"socket_folder", RULE(WHEN, JOB(", mounts: [\"//var/./run/:/host-run\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts the Docker socket"},
        ErrorCase{"socket_parent", RULE(WHEN, JOB(", mounts: [\"/run:/r:ro\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts the Docker socket"},
        ErrorCase{"containerd_socket",
                  RULE(WHEN, JOB(", mounts: [\"/run/containerd/containerd.sock:/c.sock\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts a runtime socket or its folder"},
        ErrorCase{"rootless_docker_folder", RULE(WHEN, JOB(", mounts: [\"/run/user/1000:/u\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts a runtime socket or its folder"},
        ErrorCase{"any_socket", RULE(WHEN, JOB(", mounts: [\"/srv/podman/podman.sock:/p\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts a runtime socket or its folder"},
        ErrorCase{"host_root", RULE(WHEN, JOB(", mounts: [\"/:/host:ro\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts the host's root folder (/:/host:ro)"},
        ErrorCase{"proc_root", RULE(WHEN, JOB(", mounts: [\"/proc/1/root:/host\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts the host's /proc (/proc/1/root:/host)"},
        ErrorCase{"dev", RULE(WHEN, JOB(", mounts: [\"/dev:/dev\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts the host's /dev"},
        ErrorCase{"host_root_dot", RULE(WHEN, JOB(", mounts: [\"/./:/host\"]")),
                  "rules[2].job.mounts[0]: rule 'c' mounts the host's root folder"},
        ErrorCase{"cap_add", RULE(WHEN, JOB(", cap_add: [SYS_ADMIN, NET_ADMIN]")),
                  "rules[2].job.cap_add: rule 'c' adds capabilities (SYS_ADMIN, NET_ADMIN) to the "
                  "container; refused unless the rule says unsafe: true"},
        ErrorCase{"network_host", RULE(WHEN, JOB(", network: host")),
                  "rules[2].job.network: rule 'c' shares the host's network"},
        ErrorCase{"network_container", RULE(WHEN, JOB(", network: \"container:abc\"")),
                  "rules[2].job.network: 'container:abc' must be none"},
        ErrorCase{"user", RULE(WHEN, JOB(", user: \"1000:1000:1\"")),
                  "rules[2].job.user: '1000:1000:1' must be a user"},
        ErrorCase{"user_option", RULE(WHEN, JOB(", user: \"--privileged\"")),
                  "rules[2].job.user: '--privileged' must be a user"},
        ErrorCase{"unsafe_not_bool",
                  "  - {name: c, when: " WHEN ", job: " JOB("") ", unsafe: yes-please}\n",
                  "rules[2].unsafe: must be true or false"},
        ErrorCase{"rule_not_map", "  - just a string\n", "rules[2]: must be a map"},
        ErrorCase{
            "overlap",
            "  - {name: c, when: {all: [task:inference, gpu:required]}, priority: 1, job: " JOB(
                "") "}\n",
            "rules[2]: rule 'c' and rule 'a' (rules[0]) both match [gpu:required, task:inference] "
            "at priority 1"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(LoaderTest, UnsafeSettingsLoadWhenTheRuleSaysSoAndUserAndNetworkAreRead) {
  LoadedRules loaded = LoadYaml(R"(
rules:
  - name: builds-images
    unsafe: true
    when: {all: [task:training]}
    job:
      image: "docker:24.0"
      command: [docker, build, .]
      mounts: [/var/run/docker.sock:/var/run/docker.sock, /data:/data:ro]
      cap_add: [SYS_PTRACE]
      network: host
  - name: offline
    when: {all: [task:inference], none: [task:training]}
    job: {image: "x:1", command: [x], user: "1000:1000", network: none, mounts: [/data:/data:ro]}
)");
  ASSERT_TRUE(loaded.ok()) << ErrorsText(loaded);
  const Rule* unsafe = loaded.rule_set.Find("builds-images");
  ASSERT_NE(unsafe, nullptr);
  EXPECT_TRUE(unsafe->unsafe);
  EXPECT_EQ(unsafe->job.network, "host");
  const Rule* offline = loaded.rule_set.Find("offline");
  ASSERT_NE(offline, nullptr);
  EXPECT_FALSE(offline->unsafe);
  EXPECT_EQ(offline->job.user, "1000:1000");
  EXPECT_EQ(offline->job.network, "none");
}

TEST(LoaderTest, CollectsAllErrors) {
  LoadedRules loaded = LoadYaml(R"(
hold_labels: [status:blokced]
rules:
  - name: one
    when: {all: [task:training]}
    job: {image: pytorch, command: [python], timeout: never}
  - name: two
    when: {all: [gpu:requried]}
    job: {image: "pytorch:latest", command: [python]}
  - {name: three, when: {all: [task:inference]}, job: {image: "x:1", command: [x]}}
  - {name: four, when: {all: ["task:*"]}, job: {image: "x:1", command: [x]}}
)");
  ASSERT_EQ(loaded.errors.size(), 6u) << ErrorsText(loaded);
  const std::string text = ErrorsText(loaded);
  EXPECT_NE(text.find("hold_labels[0]: label 'status:blokced' is not in LABELS.md; did you mean "
                      "'status:blocked'?"),
            std::string::npos);
  EXPECT_NE(text.find("rules[0].job.image"), std::string::npos);
  EXPECT_NE(text.find("rules[0].job.timeout"), std::string::npos);
  EXPECT_NE(text.find("rules[1].when.all[0]"), std::string::npos);
  EXPECT_NE(text.find("rules[1].job.image"), std::string::npos);
  EXPECT_NE(text.find("rules[3]: rule 'four' and rule 'three' (rules[2]) both match"),
            std::string::npos);
  auto joined = LoadRuleSetOrError(YAML::Load("rules: [{name: x}]"), testing::TestDictionary());
  ASSERT_FALSE(joined);
  EXPECT_NE(joined.error().message().find("rules[0].when: is missing\nrules[0].job: is missing"),
            std::string::npos)
      << joined.error().message();
}

TEST(LoaderTest, OverlapRespectsNoneAndPriority) {
  // Disjoint thanks to `none`.
  EXPECT_TRUE(LoadYaml(R"(
rules:
  - {name: gpu, when: {all: [task:training, gpu:required]}, job: {image: "x:1", command: [x]}}
  - {name: cpu, when: {all: [task:training, env:cpu], none: [gpu:required]}, job: {image: "x:1", command: [x]}}
)")
                  .ok());
  // Globs overlap with exact names.
  LoadedRules glob = LoadYaml(R"(
rules:
  - {name: any-task, when: {all: ["task:*"]}, job: {image: "x:1", command: [x]}}
  - {name: train, when: {all: [task:training]}, job: {image: "x:1", command: [x]}}
)");
  ASSERT_EQ(glob.errors.size(), 1u) << ErrorsText(glob);
  EXPECT_EQ(glob.errors[0].path, "rules[1]");
  // Different priorities may overlap.
  EXPECT_TRUE(LoadYaml(R"(
rules:
  - {name: any-task, when: {all: ["task:*"]}, job: {image: "x:1", command: [x]}}
  - {name: train, priority: 1, when: {all: [task:training]}, job: {image: "x:1", command: [x]}}
)")
                  .ok());
}

TEST(LoaderTest, WithoutDictionaryAcceptsAnyValidName) {
  LoadedRules loaded = LoadYaml(R"(
rules:
  - {name: r, when: {all: [team:ml, "size:*"]}, job: {image: "x:1", command: [x]}}
)",
                                nullptr);
  EXPECT_TRUE(loaded.ok()) << ErrorsText(loaded);
}

TEST(LoaderTest, ExampleConfigLoadsCleanAgainstRealLabelsMd) {
  auto dictionary = labels::ParseDictionary(testing::ReadSourceFile("LABELS.md"));
  ASSERT_TRUE(dictionary) << dictionary.error().message();
  YAML::Node config = YAML::Load(testing::ReadSourceFile("config/labelrun.example.yaml"));
  LoadedRules loaded =
      LoadRuleSet(config, std::make_shared<const labels::Dictionary>(std::move(*dictionary)));
  EXPECT_TRUE(loaded.ok()) << ErrorsText(loaded);
  EXPECT_EQ(loaded.rule_set.rules().size(), 5u);
}

}  // namespace
}  // namespace labelrun::rules
