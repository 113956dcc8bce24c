// The load generator's reply reader (tools/mxring/bench): replies split across receives,
// multi-line replies joined, malformed ones marked, and replies read in place staying valid
// until the next receive, even across a reset (STARTTLS's 220, RFC 3207 §4.2).
#include "reply_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxring::tools::bench {
namespace {

TEST(ReplyReaderTest, JoinsMultiLineRepliesAndWaitsForWholeLines) {
  ReplyReader reader;
  std::vector<ReplyView> replies;
  reader.feed("250-mx.test\r\n250-PIPE", replies);
  EXPECT_TRUE(replies.empty());
  reader.feed("LINING\r\n250 SIZE 1000\r\n354 go", replies);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[0].text, "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000");
  EXPECT_EQ(replies[0].first_line(), "250-mx.test");
  replies.clear();
  reader.feed("\r\n", replies);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 354);
  EXPECT_EQ(replies[0].text, "354 go");
}

TEST(ReplyReaderTest, MarksMalformedRepliesWithCodeZero) {
  ReplyReader reader;
  std::vector<ReplyView> replies;
  reader.feed("25 short\r\n650 out of range\r\n250x no space\r\n221\r\n", replies);
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].code, 0);
  EXPECT_EQ(replies[1].code, 0);
  EXPECT_EQ(replies[2].code, 0);
  EXPECT_EQ(replies[3].code, 221);  // a bare code is a reply (RFC 5321 §4.2)
}

TEST(ReplyReaderTest, RepliesHandedOutSurviveAResetUntilTheNextFeed) {
  ReplyReader reader;
  std::vector<ReplyView> replies;
  // A server that injects a reply behind STARTTLS's 220, and the start of another.
  reader.feed("220 go ahead\r\n250 injected\r\n250 half", replies);
  ASSERT_EQ(replies.size(), 2u);
  reader.reset();  // the half line is plaintext that must not survive into TLS
  EXPECT_EQ(replies[0].text, "220 go ahead");
  EXPECT_EQ(replies[1].text, "250 injected");
  replies.clear();
  reader.feed("221 bye\r\n", replies);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].text, "221 bye");  // nothing of "250 half" before it
}

TEST(ReplyReaderTest, OwnedRepliesOutliveTheReader) {
  std::vector<Reply> replies;
  {
    ReplyReader reader;
    reader.feed("250 ok\r\n550 5.1.1 no\r\n", replies);
  }
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[1].code, 550);
  EXPECT_EQ(replies[1].text, "550 5.1.1 no");
}

}  // namespace
}  // namespace mxring::tools::bench
