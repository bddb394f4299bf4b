#pragma once
// A minimal streaming JSON writer for hot paths where building a DOM costs too
// much. Strings must be valid UTF-8; control characters, quotes and backslashes
// are escaped. Commas are placed automatically.

#include <cstdint>
#include <string>
#include <string_view>

namespace labelrun {

class JsonWriter {
 public:
  explicit JsonWriter(size_t reserve = 256) { out_.reserve(reserve); }

  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

  // Appends `value` JSON-escaped (without quotes) to out.
  static void Escape(std::string_view value, std::string& out);

 private:
  JsonWriter& Open(char c);
  JsonWriter& Close(char c);
  void Separate();

  std::string out_;
  bool need_comma_ = false;
};

}  // namespace labelrun
