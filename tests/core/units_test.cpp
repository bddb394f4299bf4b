#include "labelrun/core/units.hpp"

#include <gtest/gtest.h>

#include "labelrun/core/strings.hpp"

namespace labelrun {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsUnitsAndSums) {
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("30s"), milliseconds(30'000));
  EXPECT_EQ(*ParseDuration("10m"), milliseconds(600'000));
  EXPECT_EQ(*ParseDuration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(*ParseDuration("2d"), milliseconds(172'800'000));
  EXPECT_EQ(*ParseDuration("45"), milliseconds(45'000));
}

TEST(ParseDuration, RejectsGarbage) {
  for (const char* bad : {"", "s", "10x", "-5s", "1.5h", "10 m s", "99999999999999999999d"}) {
    Result<milliseconds> r = ParseDuration(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("invalid duration"), std::string::npos);
  }
}

TEST(ParseSize, BinaryUnits) {
  EXPECT_EQ(*ParseSize("1024"), 1024u);
  EXPECT_EQ(*ParseSize("512k"), 512u * 1024);
  EXPECT_EQ(*ParseSize("25MiB"), 25u << 20);
  EXPECT_EQ(*ParseSize("16GiB"), 16ULL << 30);
  EXPECT_EQ(*ParseSize("2 g"), 2ULL << 30);
  EXPECT_FALSE(ParseSize("12 parsecs"));
  EXPECT_FALSE(ParseSize("-1"));
  EXPECT_FALSE(ParseSize("99999999999999t"));
}

TEST(Format, BytesAndDurations) {
  EXPECT_EQ(FormatBytes(16ULL << 30), "16 GiB");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(100), "100 B");
  EXPECT_EQ(FormatDuration(milliseconds(850)), "850ms");
  EXPECT_EQ(FormatDuration(milliseconds(185'000)), "3m 05s");
  EXPECT_EQ(FormatDuration(milliseconds(3'720'000)), "1h 02m");
}

TEST(Strings, HexRoundTripAndRejects) {
  std::string out;
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  ASSERT_TRUE(HexDecode("01AB", out));
  EXPECT_EQ(out, "\x01\xab");
  EXPECT_FALSE(HexDecode("abc", out));
  EXPECT_FALSE(HexDecode("zz", out));
}

TEST(Strings, FormValueDecodes) {
  EXPECT_EQ(*FormValue("a=1&payload=%7B%22x%22%3A+1%7D", "payload"), "{\"x\": 1}");
  EXPECT_FALSE(FormValue("a=1", "payload"));
  EXPECT_FALSE(FormValue("payload=%7", "payload"));
  EXPECT_FALSE(FormValue("payload=%zz", "payload"));
  EXPECT_EQ(*FormValue("payload=", "payload"), "");
}

TEST(Strings, EditDistanceCountsTranspositions) {
  EXPECT_EQ(EditDistance("gpu:required", "gpu:requried"), 1u);
  EXPECT_EQ(EditDistance("listen", "lisen"), 1u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
}

}  // namespace
}  // namespace labelrun
