// The jobs API's list over many jobs: pages that walk every job once, newest
// first, their `next` links keeping the filters, and cursors from the URL checked.
#include "labelrun/app/jobs_api.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace labelrun::app {
namespace {

using nlohmann::json;
using server::AppReply;
using server::AppRequest;
using server::Outcome;

constexpr char kToken[] = "api-token-0123456789abcdef";

class NoSources final : public runtime::SourceProvider {
 public:
  Result<std::string> ResolveCommit(const std::string&, int64_t) override {
    return std::string("abc");
  }
  Result<std::string> Archive(const std::string&, int64_t, const std::string&) override {
    return std::string();
  }
};

class NoObserver final : public scheduler::JobObserver {
 public:
  void OnJobChanged(const store::JobRecord&, int) override {}
  void OnLogLine(const std::string&, runtime::LogStream, std::string_view) override {}
  void OnGpuSamples(const std::string&, const std::vector<scheduler::GpuSample>&) override {}
};

class JobsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::JobStore::Open(":memory:");
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
    dispatcher_ = std::make_unique<scheduler::Dispatcher>(scheduler::DispatcherOptions{},
                                                          std::vector<scheduler::Host>{}, *store_,
                                                          sources_, observer_, clock_);
    api_ = std::make_unique<JobsApi>(kToken, *dispatcher_, *store_, clock_);
  }

  void AddJobs(int n, const std::string& repo) {
    for (int i = 0; i < n; ++i) {
      store::JobRecord job;
      char id[16];
      std::snprintf(id, sizeof id, "j%010x", next_++);
      job.id = id;
      job.repository = repo;
      job.issue = 7;
      job.spec.rule = "train";
      job.spec.image = "busybox:1";
      ASSERT_TRUE(store_->Insert(job, 1000 + i));
      job.state = i % 4 ? JobState::kSucceeded : JobState::kFailed;
      ASSERT_TRUE(store_->Update(job, 2000 + i, "ended"));
    }
  }

  json Get(const std::string& link, Outcome want = Outcome::kOk) {
    AppRequest r;
    r.method = "GET";
    const size_t q = link.find('?');
    r.path = link.substr(0, q);
    r.query = q == std::string::npos ? "" : link.substr(q + 1);
    r.authorization = std::string("Bearer ") + kToken;
    AppReply reply = api_->Handle(r);
    EXPECT_EQ(reply.outcome, want) << link << ": " << reply.body;
    return json::parse(reply.body, nullptr, false);
  }

  // Follows `next` from `first`; the ids of every page in order.
  std::vector<std::string> Walk(const std::string& first, int* pages) {
    std::vector<std::string> ids;
    json page = Get(first);
    for (*pages = 1; *pages < 50; ++*pages) {
      for (const json& job : page["jobs"]) ids.push_back(job["id"]);
      if (page["next"].is_null()) break;
      page = Get(page["next"].get<std::string>());
    }
    return ids;
  }

  SystemClock clock_;
  NoSources sources_;
  NoObserver observer_;
  std::unique_ptr<store::JobStore> store_;
  std::unique_ptr<scheduler::Dispatcher> dispatcher_;
  std::unique_ptr<JobsApi> api_;
  int next_ = 1;
};

TEST_F(JobsApiTest, NextLinksWalkEveryJobOnceNewestFirst) {
  AddJobs(150, "acme/vision");
  AddJobs(100, "acme/other repo");
  int pages = 0;
  std::vector<std::string> all = Walk("/api/jobs", &pages);
  EXPECT_EQ(pages, 3);  // 100 + 100 + 50
  ASSERT_EQ(all.size(), 250u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 250u);
  EXPECT_EQ(all.front(), "j00000000fa");
  EXPECT_EQ(all.back(), "j0000000001");

  // Filters travel with the link, the repository percent-encoded.
  json first = Get("/api/jobs?repo=acme/other%20repo&state=failed&limit=7");
  ASSERT_EQ(first["jobs"].size(), 7u);
  EXPECT_EQ(first["next"], "/api/jobs?limit=7&repo=acme%2Fother%20repo&state=failed&before=" +
                               std::to_string(151 + 4 * 18));
  std::vector<std::string> failed =
      Walk("/api/jobs?repo=acme/other%20repo&state=failed&limit=7", &pages);
  EXPECT_EQ(failed.size(), 25u);
  EXPECT_EQ(pages, 4);
  for (const std::string& id : failed) EXPECT_GT(id, "j0000000096") << "only the other repo";

  // An exact fit has no next page.
  EXPECT_TRUE(Get("/api/jobs?limit=250")["next"].is_null());
  EXPECT_FALSE(Get("/api/jobs?limit=249")["next"].is_null());
}

TEST_F(JobsApiTest, ACursorThatIsNotOneIsRefused) {
  AddJobs(3, "acme/vision");
  for (const char* bad : {"abc", "-1", "0", "1.5", "12a", "%00", "99999999999999999999", " 3"}) {
    json r = Get(std::string("/api/jobs?before=") + bad, Outcome::kBadRequest);
    EXPECT_THAT(r["error"].get<std::string>(), ::testing::HasSubstr("before")) << bad;
  }
  // A cursor past every job, or below all of them, is simply an end.
  EXPECT_EQ(Get("/api/jobs?before=999999")["jobs"].size(), 3u);
  EXPECT_TRUE(Get("/api/jobs?before=1")["jobs"].empty());
}

}  // namespace
}  // namespace labelrun::app
