#include "labelrun/core/json_writer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace labelrun {
namespace {

std::string Escaped(std::string_view s) {
  std::string out = "<";
  JsonWriter::Escape(s, out);
  return out;
}

TEST(JsonWriterEscape, RunsOfPlainTextAndEachEscapeInPlace) {
  EXPECT_EQ(Escaped(""), "<");
  EXPECT_EQ(Escaped("gpu:required"), "<gpu:required");
  EXPECT_EQ(Escaped("\""), "<\\\"");
  EXPECT_EQ(Escaped("a\"b\\c\nd\re\tf"), "<a\\\"b\\\\c\\nd\\re\\tf");
  EXPECT_EQ(Escaped(std::string_view("\x00\x01\x1f x\x7f", 6)), "<\\u0000\\u0001\\u001f x\x7f");
  EXPECT_EQ(Escaped("tail\\"), "<tail\\\\");
  EXPECT_EQ(Escaped("✓ ü"), "<✓ ü") << "UTF-8 passes through";
}

TEST(JsonWriterEscape, EveryByteRoundTripsThroughAJsonParser) {
  std::string all;
  for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "é\\\"end";
  JsonWriter w;
  w.BeginObject().Key("k\n").String(all).EndObject();
  nlohmann::json j = nlohmann::json::parse(w.str());
  EXPECT_EQ(j.at("k\n").get<std::string>(), all);
}

}  // namespace
}  // namespace labelrun
