// Log lines: JSON that any parser reads back (client text escaped, invalid UTF-8 kept as
// code points), text with bare tokens and quoted values, fragments finished later.
#include <gtest/gtest.h>

#include "mxring/engine/log.h"

namespace mxring::engine {
namespace {

std::string strip_timestamp(const std::string& line, std::string_view after) {
  const auto at = line.find(after);
  return at == std::string::npos ? line : line.substr(at);
}

TEST(LogLineTest, JsonEscapesClientText) {
  std::string out;
  LogLine(out, LogFormat::json, Level::warning, "transaction")
      .text("helo", "a\"b\\c\x01\xff")
      .number("rcpts", 3)
      .text("empty", "")
      .text("from", "", false)
      .flag("tls", true);
  EXPECT_TRUE(out.starts_with("{\"ts\":\"20"));
  EXPECT_EQ(strip_timestamp(out, "\"level\""),
            "\"level\":\"warning\",\"event\":\"transaction\",\"helo\":\"a\\\"b\\\\c\\u0001"
            "\\u00ff\",\"rcpts\":3,\"from\":\"\",\"tls\":true}\n");
}

TEST(LogLineTest, TextQuotesOnlyWhatNeedsIt) {
  std::string out;
  LogLine(out, LogFormat::text, Level::info, "connection")
      .text("client", "192.0.2.1")
      .text("helo", "two words")
      .number("messages", 7);
  EXPECT_EQ(strip_timestamp(out, " info"),
            " info: mxringd: connection client=192.0.2.1 helo=\"two words\" messages=7\n");
  out.clear();
  LogLine(out, LogFormat::text, Level::info, "log").text("message", "listening on x");
  EXPECT_EQ(strip_timestamp(out, " info"), " info: mxringd: listening on x\n");
}

// Values are scanned 16 octets a step with a table for the tail, and copied in overlapping
// words: put each octet that decides between bare and quoted at every position of values of
// every length around the step (and the copy must keep it where it was).
TEST(LogLineTest, EveryOctetDecidesBareOrQuotedAtEveryPosition) {
  const unsigned char probes[] = {0x00, 0x09, 0x20, 0x21, 0x3c, 0x7e, 0x7f,
                                  0x80, 0xc3, 0xff, '"',  '\\', '=',  'a'};
  for (std::size_t length = 1; length <= 40; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (const unsigned char probe : probes) {
        std::string value(length, 'x');
        value[at] = static_cast<char>(probe);
        const bool bare =
            probe > 0x20 && probe < 0x7f && probe != '"' && probe != '\\' && probe != '=';
        std::string out;
        LogLine(out, LogFormat::text, Level::info, "e").text("k", value);
        const auto field = out.substr(out.find(" k=") + 3);
        ASSERT_EQ(field.front() == '"', !bare)
            << "length " << length << " octet " << int{probe} << " at " << at;
        if (bare) {
          EXPECT_EQ(field, value + "\n");
        }
      }
    }
  }
}

TEST(LogLineTest, AFragmentFinishesAnotherLine) {
  std::string fragment;
  LogLine::fragment(fragment, LogFormat::json).text("queue_id", "Q1").number("size", 10);
  std::string out;
  LogLine(out, LogFormat::json, Level::info, "transaction").fields(fragment).number("code", 250);
  EXPECT_EQ(strip_timestamp(out, "\"level\""),
            "\"level\":\"info\",\"event\":\"transaction\",\"queue_id\":\"Q1\",\"size\":10,"
            "\"code\":250}\n");
}

TEST(LogLineTest, TimestampsAreRfc3339WithMicroseconds) {
  std::string out;
  LogLine(out, LogFormat::text, Level::info, "x");
  // 2026-11-28T12:00:00.123456Z
  ASSERT_GE(out.size(), 27u);
  EXPECT_EQ(out[4], '-');
  EXPECT_EQ(out[10], 'T');
  EXPECT_EQ(out[19], '.');
  EXPECT_EQ(out[26], 'Z');
}

TEST(LogLineTest, TimestampsGiveEveryDigitOfTheMicrosecond) {
  constexpr std::int64_t kMidnight = 1795824000ll * 1'000'000;  // 2026-11-28T00:00:00Z
  for (const auto& [us, text] : {std::pair<std::int64_t, std::string>{0, "000000"},
                                 {42, "000042"},
                                 {120034, "120034"},
                                 {999999, "999999"},
                                 {3'000'001, "000001"}}) {
    std::string out;
    LogLine(out, LogFormat::text, Level::info, "x", kMidnight + us);
    const auto second = us >= 1'000'000 ? "03" : "00";
    EXPECT_EQ(out.substr(0, 27), "2026-11-28T00:00:" + std::string(second) + "." + text + "Z");
  }
}

}  // namespace
}  // namespace mxring::engine
