// DockerRuntime::Pull against the real daemon pulling from a loopback registry.

#include <atomic>
#include <chrono>
#include <thread>

#include "runtime/docker_fixture.hpp"
#include "support/fake_registry.hpp"
#include "support/process.hpp"

namespace labelrun::runtime {
namespace {

using testing::FakeRegistry;

class DockerPullTest : public DockerRuntimeTest {
 protected:
  void SetUp() override {
    DockerRuntimeTest::SetUp();
    if (HasFatalFailure()) return;  // no daemon: the failure says why
    registry_.emplace();
    repo_ = registry_->host() + "/labelrun/tiny";
  }
  void TearDown() override {
    // Pulled images are named after this run's port: remove them.
    if (registry_) {
      for (const std::string& ref : {repo_ + ":1", repo_ + "@" + registry_->manifest_digest()}) {
        if (auto id = rt().ImageId(ref)) {
          std::string out;
          testing::RunCommand({"/usr/bin/docker", "image", "rm", "-f", *id}, &out);
        }
      }
    }
    DockerRuntimeTest::TearDown();
  }

  std::optional<FakeRegistry> registry_;
  std::string repo_;
};

TEST_F(DockerPullTest, PullsByTagAndByDigest) {
  Result<std::string> absent = rt().ImageId(repo_ + ":1");
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code(), ErrorCode::kNotFound);

  Status pulled = rt().Pull(repo_ + ":1", nullptr);
  ASSERT_TRUE(pulled) << pulled.error().ToString();
  Result<std::string> id = rt().ImageId(repo_ + ":1");
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(id->rfind("sha256:", 0), 0u);
  EXPECT_EQ(rt().ImageDigest(repo_ + ":1").value(), repo_ + "@" + registry_->manifest_digest());

  std::string by_digest = repo_ + "@" + registry_->manifest_digest();
  pulled = rt().Pull(by_digest, nullptr);
  ASSERT_TRUE(pulled) << pulled.error().ToString();
  EXPECT_EQ(rt().ImageId(by_digest).value(), *id);
}

TEST_F(DockerPullTest, AnErrorInsideTheProgressStreamFailsThePull) {
  registry_->set_fault(FakeRegistry::Fault::kCorruptLayer);
  // The daemon answers 200 and reports the failure inside the progress stream.
  std::string raw;
  ASSERT_EQ(testing::RunCommand({"/usr/bin/curl", "-s", "-w", "\nHTTP %{http_code}",
                                 "--unix-socket", testing::TestDockerUrl().substr(7), "-X", "POST",
                                 "http://docker/images/create?fromImage=" + repo_ + "&tag=1"},
                                &raw),
            0);
  ASSERT_NE(raw.find("\"errorDetail\""), std::string::npos) << raw;
  ASSERT_NE(raw.find("HTTP 200"), std::string::npos) << raw;

  Status pulled = rt().Pull(repo_ + ":1", nullptr);
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message().find("verification failed"), std::string::npos)
      << pulled.error().ToString();
  EXPECT_GE(registry_->blob_requests(), 1) << "the daemon got as far as the layer";
  EXPECT_FALSE(rt().ImageId(repo_ + ":1"));
}

TEST_F(DockerPullTest, AMissingTagIsNotFound) {
  Status pulled = rt().Pull(repo_ + ":2", nullptr);
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code(), ErrorCode::kNotFound) << pulled.error().ToString();
  EXPECT_NE(pulled.error().message().find("manifest unknown"), std::string::npos)
      << pulled.error().ToString();
}

TEST_F(DockerPullTest, CancellingEndsAPullPromptly) {
  registry_->set_fault(FakeRegistry::Fault::kHangOnLayer);
  std::atomic<bool> cancelled{false};
  std::chrono::steady_clock::time_point cancelled_at;
  std::thread canceller([&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (registry_->blob_requests() < 1 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancelled_at = std::chrono::steady_clock::now();
    cancelled = true;
  });
  Status pulled = rt().Pull(repo_ + ":1", &cancelled);
  auto returned_at = std::chrono::steady_clock::now();
  canceller.join();
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code(), ErrorCode::kCancelled) << pulled.error().ToString();
  EXPECT_GE(registry_->blob_requests(), 1) << "the pull was under way";
  EXPECT_LT(returned_at - cancelled_at, std::chrono::seconds(2));
}

}  // namespace
}  // namespace labelrun::runtime
