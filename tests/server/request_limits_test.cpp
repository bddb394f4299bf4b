#include "server/request_limits.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace labelrun::server {
namespace {

TEST(CheckTransferEncoding, OnlyASingleChunkedFramesABody) {
  EXPECT_TRUE(CheckTransferEncoding("", false, 11));
  EXPECT_TRUE(CheckTransferEncoding("", true, 10));
  EXPECT_TRUE(CheckTransferEncoding("chunked", false, 11));
  EXPECT_TRUE(CheckTransferEncoding(" Chunked\t", false, 11));
  for (const char* te : {"xchunked", "chunkedx", "gzip", "gzip, chunked", "chunked, gzip",
                         "chunked, chunked", "chunked,", ",chunked", "identity", "chun ked", " "}) {
    Status s = CheckTransferEncoding(te, false, 11);
    ASSERT_FALSE(s) << te;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument) << te;
    EXPECT_NE(s.error().message().find("Transfer-Encoding"), std::string::npos) << te;
  }
  EXPECT_FALSE(CheckTransferEncoding("chunked", true, 11)) << "beside Content-Length";
  EXPECT_FALSE(CheckTransferEncoding("chunked", false, 10)) << "on HTTP/1.0";
}

TEST(BodyBudget, ReservationsNeverPassTheLimitAndComeBack) {
  BodyBudget budget(1000);
  {
    BodyReservation a(budget);
    EXPECT_TRUE(a.GrowTo(600));
    EXPECT_TRUE(a.GrowTo(500)) << "already held";
    EXPECT_EQ(budget.in_use(), 600u);
    BodyReservation b(budget);
    EXPECT_FALSE(b.GrowTo(401));
    EXPECT_EQ(budget.in_use(), 600u) << "a refusal takes nothing";
    EXPECT_TRUE(b.GrowTo(400));
    EXPECT_FALSE(a.GrowTo(601));
    EXPECT_FALSE(b.GrowTo(UINT64_MAX)) << "no overflow";
  }
  EXPECT_EQ(budget.in_use(), 0u);

  // Racing threads: the sum held never passes the limit.
  std::vector<std::thread> threads;
  std::atomic<uint64_t> worst{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        BodyReservation r(budget);
        if (r.GrowTo(300)) {
          uint64_t now = budget.in_use();
          uint64_t seen = worst.load();
          while (now > seen && !worst.compare_exchange_weak(seen, now)) {
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(worst.load(), 1000u);
  EXPECT_EQ(budget.in_use(), 0u);
}

}  // namespace
}  // namespace labelrun::server
