// The JSON string writer behind `mxring spool export --format jsonl`: exact escapes, every
// RFC 3629 rule for what is not UTF-8, and base64 per RFC 4648 §10's test vectors.
#include "json_text.h"

#include <gtest/gtest.h>

#include <string>

#include "common/base64.h"

namespace mxring::tools::spool {
namespace {

// What the writer appends, read from the buffer before any flush.
std::string json_of(std::string_view bytes, bool* valid = nullptr) {
  OutputBuffer out(-1);
  const bool ok = append_json_string_if_utf8(out, bytes);
  if (valid != nullptr) *valid = ok;
  std::string text(out.buffered());
  out.truncate(0);
  return text;
}

std::string base64_of(std::string_view bytes) {
  OutputBuffer out(-1);
  append_base64_string(out, bytes);
  std::string text(out.buffered());
  out.truncate(0);
  return text;
}

TEST(JsonText, EscapesWhatJsonRequiresAndNothingElse) {
  EXPECT_EQ(json_of("plain text"), "\"plain text\"");
  EXPECT_EQ(json_of("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_of("line\r\nnext\ttab"), R"("line\r\nnext\ttab")");
  EXPECT_EQ(json_of(std::string_view("\x00\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f)"
                                                              "\x7f\"");
  EXPECT_EQ(json_of("caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80\"");
  // Long inputs take the 16-octet path: escapes at every position of a block.
  for (std::size_t at = 0; at < 40; ++at) {
    std::string input(40, 'x');
    input[at] = '\n';
    std::string expected = "\"" + input.substr(0, at) + "\\n" + input.substr(at + 1) + "\"";
    EXPECT_EQ(json_of(input), expected) << at;
  }
}

TEST(JsonText, RefusesEverythingThatIsNotUtf8) {
  for (const char* bad :
       {"\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf0\x80\x80\xaf",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xc3", "\xe2\x98", "\xf0\x9f\x98"}) {
    bool valid = true;
    const std::string padded = std::string(20, 'a') + bad + std::string(20, 'b');
    EXPECT_EQ(json_of(padded, &valid), "");
    EXPECT_FALSE(valid) << padded;
    EXPECT_EQ(json_of(bad, &valid), "");
    EXPECT_FALSE(valid);
  }
  bool valid = false;
  json_of("\xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf", &valid);  // U+D7FF, U+E000, U+10FFFF
  EXPECT_TRUE(valid);
}

TEST(JsonText, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_of(""), "\"\"");
  EXPECT_EQ(base64_of("f"), "\"Zg==\"");
  EXPECT_EQ(base64_of("fo"), "\"Zm8=\"");
  EXPECT_EQ(base64_of("foo"), "\"Zm9v\"");
  EXPECT_EQ(base64_of("foob"), "\"Zm9vYg==\"");
  EXPECT_EQ(base64_of("fooba"), "\"Zm9vYmE=\"");
  EXPECT_EQ(base64_of("foobar"), "\"Zm9vYmFy\"");
  EXPECT_EQ(base64_of("\xff\xfe\x80"), "\"//6A\"");
}

// The same encoder as a string: mxring bench's AUTH PLAIN (the example of RFC 4954 §4).
TEST(JsonText, Base64StringIsAuthPlainsEncoding) {
  using namespace std::string_literals;
  EXPECT_EQ(tools::base64("test\0test\0001234"s), "dGVzdAB0ZXN0ADEyMzQ=");
  EXPECT_EQ(tools::base64(""), "");
  EXPECT_EQ(tools::base64("fo"), "Zm8=");
}

}  // namespace
}  // namespace mxring::tools::spool
