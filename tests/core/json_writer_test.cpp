#include "labelrun/core/json_writer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "labelrun/core/json_text.hpp"

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

TEST(JsonText, BytesThatAreNotUtf8BecomeReplacementCharactersInsteadOfThrowing) {
  // A rule name read from YAML, a metric or a log line can hold any bytes.
  nlohmann::json j = {{"rule", std::string("train\xff\xfe-\xc3")}, {"ok", "ü"}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error) << "what JsonText guards against";
  const std::string text = JsonText(j);
  EXPECT_EQ(nlohmann::json::parse(text).at("rule").get<std::string>(),
            "train\xef\xbf\xbd\xef\xbf\xbd-\xef\xbf\xbd");
  EXPECT_EQ(nlohmann::json::parse(text).at("ok").get<std::string>(), "ü");
  EXPECT_EQ(JsonText({{"a", 1}}, 2), "{\n  \"a\": 1\n}");
}

}  // namespace
}  // namespace labelrun
