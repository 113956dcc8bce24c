// Log lines: JSON that any parser reads back (client text escaped, invalid UTF-8 kept as
// code points), text with bare tokens and quoted values, fragments finished later; keys made
// at compile time; a LineBuffer that keeps its room between lines and holds only its lines;
// a reactor's EventLog handing every line over.
#include <gtest/gtest.h>

#include "mxring/engine/log.h"
#include "temp_file.h"

namespace mxring::engine {
namespace {

std::string strip_timestamp(const std::string& line, std::string_view after) {
  const auto at = line.find(after);
  return at == std::string::npos ? line : line.substr(at);
}

TEST(LogLineTest, JsonEscapesClientText) {
  std::string out;
  LogLine(out, LogFormat::json, Level::warning, "transaction")
      .text("helo"_key, "a\"b\\c\x01\xff")
      .number("rcpts"_key, 3)
      .text("empty"_key, "")
      .text("from"_key, "", false)
      .flag("tls"_key, true);
  EXPECT_TRUE(out.starts_with("{\"ts\":\"20"));
  EXPECT_EQ(strip_timestamp(out, "\"level\""),
            "\"level\":\"warning\",\"event\":\"transaction\",\"helo\":\"a\\\"b\\\\c\\u0001"
            "\\u00ff\",\"rcpts\":3,\"from\":\"\",\"tls\":true}\n");
}

TEST(LogLineTest, TextQuotesOnlyWhatNeedsIt) {
  std::string out;
  LogLine(out, LogFormat::text, Level::info, "connection")
      .text("client"_key, "192.0.2.1")
      .text("helo"_key, "two words")
      .number("messages"_key, 7);
  EXPECT_EQ(strip_timestamp(out, " info"),
            " info: mxringd: connection client=192.0.2.1 helo=\"two words\" messages=7\n");
  out.clear();
  LogLine(out, LogFormat::text, Level::info, "log").text("message"_key, "listening on x");
  EXPECT_EQ(strip_timestamp(out, " info"), " info: mxringd: listening on x\n");
}

// Values are scanned 16 octets a step, shorter ones and the tail as overlapping words, and
// copied in overlapping words: put each octet that decides between bare and quoted at every
// position of values of every length around each word size and the step (and the copy must
// keep it where it was).
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
        LogLine(out, LogFormat::text, Level::info, "e").text("k"_key, value);
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
  LogLine::fragment(fragment, LogFormat::json).text("queue_id"_key, "Q1").number("size"_key, 10);
  std::string out;
  LogLine(out, LogFormat::json, Level::info, "transaction")
      .fields(fragment)
      .number("code"_key, 250);
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

TEST(LogKeyTest, EachFormatWritesItsOwnPunctuation) {
  constexpr LogKey key = "queue_id"_key;
  EXPECT_EQ(key.json(), ",\"queue_id\":");
  EXPECT_EQ(key.name(), "queue_id");
  EXPECT_FALSE(key.message());
  EXPECT_TRUE("message"_key.message());
  for (const auto format : {LogFormat::json, LogFormat::text}) {
    char room[LogKey::kRoom];
    const char* end = key.write(room, format);
    EXPECT_EQ(std::string_view(room, static_cast<std::size_t>(end - room)),
              format == LogFormat::json ? ",\"queue_id\":" : " queue_id=");
  }
  // The longest key mxringd writes, and the longest a key may be, with room for the copy.
  std::string out;
  LogLine(out, LogFormat::json, Level::info, "e")
      .text("proxy_authority"_key, "lb.example")
      .number("k2345678901234567890123456"_key, 7);
  EXPECT_EQ(strip_timestamp(out, "\"proxy_authority\""),
            "\"proxy_authority\":\"lb.example\",\"k2345678901234567890123456\":7}\n");
}

// Written into a LineBuffer or into a string, a line reads the same; a buffer cleared for the
// next lines keeps its room, and its view holds its lines and nothing of the room.
TEST(LineBufferTest, HoldsItsLinesAndKeepsItsRoom) {
  constexpr std::int64_t kTime = 1795824000ll * 1'000'000;
  const auto write = [&](auto& out, LogFormat format, std::uint64_t n) {
    LogLine(out, format, Level::info, "transaction", kTime)
        .text("from"_key, "sender@example.org")
        .text("helo"_key, "two words")
        .number("n"_key, n);
  };
  for (const auto format : {LogFormat::json, LogFormat::text}) {
    LineBuffer buffer;
    std::string expected;
    for (std::uint64_t n = 0; n < 2000; ++n) {  // past a few doublings of its room
      write(buffer, format, n);
      write(expected, format, n);
    }
    ASSERT_EQ(buffer.view(), expected);
    const auto footprint = buffer.footprint();
    buffer.clear();
    EXPECT_TRUE(buffer.empty());
    std::string one;
    write(buffer, format, 7);
    write(one, format, 7);
    EXPECT_EQ(buffer.view(), one);
    EXPECT_EQ(buffer.footprint(), footprint);
    // A fragment kept in a buffer finishes a line as one kept in a string does.
    LineBuffer fragment;
    fragment.append("x");
    LogLine::fragment(fragment, format).text("queue_id"_key, "Q1");
    std::string line;
    LogLine(line, format, Level::info, "transaction", kTime).fields(fragment.view().substr(1));
    std::string direct;
    LogLine(direct, format, Level::info, "transaction", kTime).text("queue_id"_key, "Q1");
    EXPECT_EQ(line, direct);
  }
}

// A reactor's lines, written into its EventLog's buffer and handed over turn after turn (the
// buffer cleared and written again each time), reach the file whole and in order, the last
// ones when the EventLog goes.
TEST(EventLogTest, EveryLineReachesTheFile) {
  const test::TempFile file("mxring-event-log");
  LogOptions options;
  options.path = file.path();
  std::string error;
  ASSERT_TRUE(start_logging(options, error)) << error;
  constexpr std::int64_t kT0 = 1795824000ll * 1'000'000;
  std::string expected;
  {
    EventLog events;
    for (std::uint64_t n = 0; n < 3000; ++n) {
      events.set_clock(kT0 + static_cast<std::int64_t>(n));
      events.line(Level::info, "transaction").text("queue_id"_key, "Q").number("n"_key, n);
      LogLine(expected, LogFormat::json, Level::info, "transaction",
              kT0 + static_cast<std::int64_t>(n))
          .text("queue_id"_key, "Q")
          .number("n"_key, n);
      if (n % 7 == 0) events.flush();  // a loop turn's end
    }
  }
  stop_logging();
  EXPECT_EQ(file.text(), expected);
}

}  // namespace
}  // namespace mxring::engine
