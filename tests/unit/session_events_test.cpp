// What a session tells its host for metrics, logs and rate limits: every reply counted once
// under the command it answers, refusals at the end of the data reported with their envelope,
// and MAIL/RCPT refused with 450 4.7.1 when the host's rate limits say so.
#include <gtest/gtest.h>

#include <map>
#include <utility>

#include "guarded_buffer.h"
#include "mxring/engine/session.h"
#include "mxring/parser/padding.h"

namespace mxring::engine {
namespace {

class RecordingServices final : public SessionServices {
 public:
  QueueId next_queue_id() override { return QueueId("Q1"); }
  std::int64_t now_us() override { return 1'795'824'000'000'000; }
  bool admit_message(const Session&) override { return messages_left-- > 0; }
  bool admit_recipient(const Session&) override { return recipients_left-- > 0; }
  void replied(ReplyTo to, unsigned code) override { ++replies[{to, code}]; }
  void message_refused(const Session&, const Envelope& envelope, unsigned code) override {
    refused.emplace_back(envelope.mail_from, code);
  }

  int messages_left = 100, recipients_left = 100;
  std::map<std::pair<ReplyTo, unsigned>, int> replies;
  std::vector<std::pair<std::string, unsigned>> refused;
};

class SessionEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SessionConfig config;
    config.durability = Durability::discard;
    session_ = std::make_unique<Session>(SessionContext::make(config), services_, ConnectionInfo{});
    session_->greet();
  }
  std::string feed(std::string_view bytes) {
    session_->receive(memory_.place(bytes, parser::kPadding));
    if (session_->has_message()) {
      session_->take_message();
      session_->storage_done(StorageResult::stored);
    }
    std::string out(session_->output());
    session_->consume_output(out.size());
    return out;
  }
  int count(ReplyTo to, unsigned code) { return services_.replies[{to, code}]; }

  RecordingServices services_;
  test::GuardedBuffer memory_{1 << 20};
  std::unique_ptr<Session> session_;
};

TEST_F(SessionEventsTest, EveryReplyIsCountedOnceUnderWhatItAnswers) {
  feed("EHLO c\r\n");
  feed("MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nRCPT TO:<bad\r\nDATA\r\n");
  feed("hi\r\n.\r\nBDAT 3\r\nxyzFOO\r\nQUIT\r\n");
  EXPECT_EQ(count(ReplyTo::greeting, 220), 1);
  EXPECT_EQ(count(ReplyTo::ehlo, 250), 1);
  EXPECT_EQ(count(ReplyTo::mail, 250), 1);
  EXPECT_EQ(count(ReplyTo::rcpt, 250), 1);
  EXPECT_EQ(count(ReplyTo::rcpt, 501), 1);
  EXPECT_EQ(count(ReplyTo::data, 354), 1);
  EXPECT_EQ(count(ReplyTo::end_of_message, 250), 1);
  EXPECT_EQ(count(ReplyTo::bdat, 503), 1);  // BDAT without MAIL: read, then refused
  EXPECT_EQ(count(ReplyTo::unknown, 500), 1);
  EXPECT_EQ(count(ReplyTo::quit, 221), 1);
  int total = 0;
  for (const auto& [key, n] : services_.replies) total += n;
  EXPECT_EQ(total, 10);
  EXPECT_EQ(session_->close_reason(), CloseReason::quit);
}

TEST_F(SessionEventsTest, ARefusedMessageIsReportedWithItsEnvelope) {
  feed("EHLO c\r\n");
  feed("MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
  feed("bare\nLF\r\n.\r\n");
  ASSERT_EQ(services_.refused.size(), 1u);
  EXPECT_EQ(services_.refused[0], std::make_pair(std::string("a@b"), 550u));
  EXPECT_EQ(count(ReplyTo::end_of_message, 550), 1);
  EXPECT_EQ(session_->messages_refused(), 1u);
}

TEST_F(SessionEventsTest, RateLimitsRefuseMailAndRcptWith450) {
  services_.messages_left = 1;
  services_.recipients_left = 1;
  feed("EHLO c\r\n");
  auto out = feed("MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nRCPT TO:<z@y>\r\n");
  EXPECT_NE(out.find("250 2.1.5"), std::string::npos);
  EXPECT_NE(out.find("450 4.7.1 Too many recipients"), std::string::npos);
  out = feed("RSET\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_NE(out.find("450 4.7.1 Too many messages"), std::string::npos);
  EXPECT_FALSE(session_->in_transaction());
  EXPECT_EQ(session_->errors(), 0u);  // a rate limit is not the client's protocol error
}

TEST_F(SessionEventsTest, RefuseClosesWithTheReplyInsteadOfTheGreeting) {
  ConnectionInfo info;
  Session refused(SessionContext::make({}), services_, info);
  refused.refuse("421 4.7.0 Too many connections from your address; try again later\r\n");
  EXPECT_TRUE(refused.closed());
  EXPECT_EQ(refused.close_reason(), CloseReason::rate_limited);
  EXPECT_EQ(std::string(refused.output()).substr(0, 4), "421 ");
  EXPECT_EQ(count(ReplyTo::greeting, 421), 1);
}

}  // namespace
}  // namespace mxring::engine
