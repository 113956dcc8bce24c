// Session behaviour a transcript cannot show: host-driven endings (timeouts, shutdown),
// memory held while idle and under hostile input, partial sends, and input kept in order
// while the session waits.
#include "mxring/engine/session.h"

#include <gtest/gtest.h>

#include "guarded_buffer.h"
#include "mxring/engine/recipient_policy.h"
#include "mxring/parser/padding.h"
#include "session_state.h"
#include "session_transcript.h"

namespace mxring::engine {
namespace {

class SessionTest : public ::testing::Test {
 protected:
  void start(SessionConfig config = {}) {
    config.host_name = "mx.example";
    ConnectionInfo connection;
    connection.client_address = "192.0.2.1";
    session_ = std::make_unique<Session>(SessionContext::make(std::move(config)), services_,
                                         std::move(connection));
    session_->greet();
    take_output();
  }

  void feed(std::string_view bytes) { session_->receive(memory_.place(bytes, parser::kPadding)); }
  // `bytes` as receives of `slice` octets each.
  void feed_sliced(std::string_view bytes, std::size_t slice = 16384) {
    for (std::size_t at = 0; at < bytes.size(); at += slice) feed(bytes.substr(at, slice));
  }

  // A session past EHLO, its answer read.
  void start_past_ehlo(SessionConfig config = {}) {
    start(std::move(config));
    feed("EHLO c\r\n");
    take_output();
  }

  // ... that cuts the client off at its third error.
  void start_strict(SessionConfig config = {}) {
    config.limits.max_errors = 3;
    start_past_ehlo(std::move(config));
  }

  // A strict session whose content budget holds just what one message of `largest` octets to
  // `recipients` recipients needs (content_memory_needed).
  ContentBudget& start_with_needed_budget(std::size_t largest, std::size_t recipients) {
    budget_ = std::make_unique<ContentBudget>(content_memory_needed(largest, recipients));
    services_.budget = budget_.get();
    SessionConfig config;
    config.limits.max_message_size = largest;
    config.limits.max_recipients = static_cast<std::uint32_t>(recipients);
    start_strict(std::move(config));
    return *budget_;
  }

  // A one-line message, stored and answered 250.
  void store_a_message() {
    feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n");
    feed("hi\r\n.\r\n");
    ASSERT_TRUE(session_->has_message());
    session_->take_message();
    session_->storage_done(StorageResult::stored);
    take_output();
  }

  std::string take_output() {
    std::string out(session_->output());
    session_->consume_output(out.size());
    return out;
  }

  std::unique_ptr<ContentBudget> budget_;  // declared first: sessions charge it
  test::TestServices services_;
  test::GuardedBuffer memory_{16 << 20};
  std::unique_ptr<Session> session_;
};

TEST_F(SessionTest, TimeoutAnswers421AndCloses) {
  start();
  feed("EHLO client.example\r\n");
  feed("MAIL FROM:<a@client.example>\r\n");
  take_output();
  session_->timed_out();
  EXPECT_EQ(take_output(), "421 4.4.2 mx.example Error: timeout exceeded\r\n");
  EXPECT_TRUE(session_->closed());
  feed("RCPT TO:<b@mx.example>\r\n");
  EXPECT_EQ(take_output(), "");
}

TEST_F(SessionTest, ShutdownAnswers421AndCloses) {
  start();
  session_->shutting_down();
  EXPECT_EQ(take_output(), "421 4.3.2 mx.example Service shutting down\r\n");
  EXPECT_TRUE(session_->closed());
}

TEST_F(SessionTest, PhaseFollowsTheProtocol) {
  SessionConfig config;
  config.host_name = "mx.example";
  Session session(SessionContext::make(config), services_, {});
  EXPECT_EQ(session.phase(), Session::Phase::greeting);
  session.greet();
  EXPECT_EQ(session.phase(), Session::Phase::command);
  session.receive(memory_.place("HELO c\r\n", 64));
  session.receive(memory_.place("MAIL FROM:<>\r\nRCPT TO:<a@b>\r\nDATA\r\n", 64));
  EXPECT_EQ(session.phase(), Session::Phase::data);
  session.receive(memory_.place(".\r\n", 64));
  EXPECT_EQ(session.phase(), Session::Phase::command);
}

TEST_F(SessionTest, PartialSendsKeepTheRestOfTheOutput) {
  start();
  feed("RSET\r\nRSET\r\n");
  ASSERT_EQ(session_->output(), "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
  session_->consume_output(4);
  EXPECT_EQ(session_->output(), "2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
}

TEST_F(SessionTest, InputWaitsInOrderWhileStorageWorks) {
  start();
  feed("HELO c\r\n");
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n");
  feed("body\r\n.\r\nRSET\r\n");
  EXPECT_EQ(session_->wait(), Session::Wait::storage);
  EXPECT_EQ(session_->backlog(), 6u);  // "RSET\r\n" is not taken up before the answer
  feed("QUIT\r\n");
  EXPECT_EQ(session_->backlog(), 12u);
  ASSERT_TRUE(session_->has_message());
  const auto message = session_->take_message();
  EXPECT_FALSE(session_->has_message());
  EXPECT_TRUE(message.content.view().ends_with("\r\nbody\r\n"));
  take_output();
  session_->storage_done(StorageResult::stored);
  EXPECT_EQ(take_output(), "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
  EXPECT_EQ(session_->backlog(), 0u);
}

TEST_F(SessionTest, IdleSessionHoldsAtMostOneKibibyte) {
  start();
  feed("EHLO client.example\r\n");
  feed("MAIL FROM:<a@client.example>\r\nRCPT TO:<b@mx.example>\r\n");
  feed("DATA\r\n");
  feed(std::string(100'000, 'x') + "\r\n.\r\n");
  session_->take_message();
  session_->storage_done(StorageResult::stored);
  feed("RSET\r\nRSET\r\nRS");  // a split line is held while it is incomplete...
  EXPECT_GT(session_->footprint(), sizeof(Session));
  feed("ET\r\n");  // ...and released once it completes
  take_output();
  EXPECT_LE(session_->footprint(), 1024u);
}

TEST_F(SessionTest, UnterminatedCommandLineNeverGrowsMemory) {
  start();
  const std::string chunk(64 * 1024, 'A');
  std::size_t peak = 0;
  for (int i = 0; i < 160; ++i) {  // 10 MiB without a line end (CVE-2026-38728 class)
    feed(chunk);
    peak = std::max(peak, session_->footprint());
  }
  feed("\r\nNOOP\r\n");
  EXPECT_EQ(take_output(), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
  EXPECT_LE(peak, 4096u);
}

TEST_F(SessionTest, OversizedDataIsDrainedInBoundedMemory) {
  SessionConfig config;
  config.limits.max_message_size = 1 << 20;
  start(config);
  feed("HELO c\r\n");
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n");
  take_output();
  const std::string chunk(64 * 1024, 'x');
  std::size_t peak = 0, past_the_limit = 0;
  for (int i = 0; i < 160; ++i) {  // 10 MiB against a 1 MiB limit
    feed(chunk);
    peak = std::max(peak, session_->footprint());
    if (i > 20) past_the_limit = std::max(past_the_limit, session_->footprint());
  }
  feed("\r\n.\r\n");
  EXPECT_EQ(take_output(), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_LE(peak, (2u << 20) + 4096);
  EXPECT_LE(past_the_limit, 32u << 10);  // the drain keeps nothing of what it read
}

TEST_F(SessionTest, ClientThatNeverReadsCannotGrowTheOutput) {
  SessionConfig config;
  config.limits.max_junk_commands = 1'000'000;  // RSETs here only fill the output
  start(std::move(config));
  std::string flood;  // (RSET, as a NOOP must end its pipelined group)
  for (int i = 0; i < 100'000; ++i) flood += "RSET\r\n";
  feed(flood);
  EXPECT_LT(session_->output().size(), 32u * 1024);  // the rest waits as input, in order
  EXPECT_GT(session_->backlog(), 0u);
  std::size_t replies = 0;
  for (int rounds = 0; rounds < 1000 && !session_->output().empty(); ++rounds)
    replies += take_output().size() / 14;
  EXPECT_EQ(replies, 100'000u);
}

TEST_F(SessionTest, ImplicitTlsIsKnownBeforeTheGreeting) {
  SessionConfig config;
  config.role = ListenerRole::smtps;
  ConnectionInfo connection;
  connection.role = ListenerRole::smtps;
  Session session(SessionContext::make(config), services_, connection);
  session.tls_established(
      {.version = "TLSv1.3", .cipher = "TLS_CHACHA20_POLY1305_SHA256", .sni = ""});
  session.greet();
  EXPECT_TRUE(session.tls_active());
  EXPECT_EQ(session.output(), "220 localhost ESMTP mxring\r\n");
}

// Reload (SIGHUP) builds a new context; sessions already open keep the snapshot they began
// with, new ones get the new policy, and nothing is shared that could change under a session.
TEST_F(SessionTest, ReloadedPolicyAppliesToNewSessionsOnly) {
  const auto context_for = [](const char* domain) {
    SessionConfig config;
    config.recipients = std::make_shared<RecipientPolicy>(
        std::get<RecipientPolicy>(RecipientPolicy::build({domain}, "")));
    return SessionContext::make(std::move(config));
  };
  const auto run = [&](Session& session) {
    session.greet();
    session.receive(memory_.place("HELO c\r\n", 64));
    session.receive(memory_.place("MAIL FROM:<>\r\nRCPT TO:<x@old.example>\r\n", 64));
    std::string out(session.output());
    return out.substr(out.rfind("\r\n", out.size() - 3) + 2);
  };
  auto before = context_for("old.example");
  Session open_before_reload(before, services_, {});
  before = context_for("new.example");  // the reload: the old snapshot lives on in the session
  Session opened_after(before, services_, {});
  EXPECT_EQ(run(open_before_reload), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(run(opened_after), "550 5.7.1 Relay access denied\r\n");
}

// Content the reactor's ContentBudget has no room for is not kept: what it held goes back at
// once, the rest is drained to its end and answered 452 4.3.1 (the client retries later), and
// the session goes on. A message that fits holds its charge until it is freed.
TEST_F(SessionTest, ContentWithoutRoomIsDrainedAndRefusedWith452) {
  ContentBudget budget(300 << 10);
  services_.budget = &budget;
  start_past_ehlo();
  const std::string line = std::string(1022, 'x') + "\r\n";
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n");
  take_output();
  for (int i = 0; i < 400; ++i) feed(line);  // 400 KiB: growing to 512 KiB finds no room
  EXPECT_EQ(budget.held(), 0u);
  EXPECT_LT(session_->footprint(), std::size_t{ContentBudget::kUncharged});
  feed(".\r\n");
  EXPECT_EQ(take_output(), "452 4.3.1 Insufficient system storage\r\n");
  EXPECT_FALSE(session_->has_message());

  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n");
  for (int i = 0; i < 200; ++i) feed(line);  // 200 KiB: fits in 256
  feed(".\r\n");
  ASSERT_TRUE(session_->has_message());
  {
    const auto message = session_->take_message();
    EXPECT_TRUE(message.content.view().ends_with(line + line));
    // Charged: the content and its one recipient.
    EXPECT_EQ(budget.held(),
              message.content.footprint() + recipient_bytes(message.envelope.recipients[0]));
    session_->storage_done(StorageResult::stored);
    EXPECT_NE(take_output().find("\r\n250 2.0.0 Ok: queued as "), std::string::npos);
  }
  EXPECT_EQ(budget.held(), 0u);

  // BDAT (RFC 3030 §2): the chunk is read whole, then refused the same way.
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nBDAT 409600 LAST\r\n");
  for (int i = 0; i < 400; ++i) feed(line);
  EXPECT_EQ(take_output(),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n452 4.3.1 Insufficient system storage\r\n");
  EXPECT_EQ(budget.held(), 0u);
  feed("NOOP\r\n");
  EXPECT_EQ(take_output(), "250 2.0.0 Ok\r\n");
}

// Recipients take memory too: 1,000 of them with long ORCPTs hold ~1 MiB a transaction, and
// 50,000 connections could hold tens of GiB. They are charged with the content. On a busy
// server, one there is no room for gets 452 4.5.3 (RFC 5321 §4.5.3.1.10: the client sends
// the rest in another transaction), no error of the client's, and the message goes on with
// the recipients it has. On an idle one, the most recipients and the largest message fit.
TEST_F(SessionTest, RecipientsAreChargedWithTheContent) {
  constexpr std::size_t kLargest = 256 << 10;
  auto& budget = start_with_needed_budget(kLargest, 1000);
  const std::string orcpt = " ORCPT=rfc822;" + std::string(900, 'o') + "@elsewhere.example";
  const std::string line = std::string(1022, 'x') + "\r\n";
  const auto fill = [&]() {
    feed("MAIL FROM:<a@c>\r\n");
    take_output();
    std::size_t accepted = 0;
    for (int i = 0; i < 1000; ++i) {
      feed("RCPT TO:<r" + std::to_string(i) + "@mx.example>" + orcpt + "\r\n");
      const auto answer = take_output();
      if (answer != "250 2.1.5 Ok\r\n") {
        EXPECT_EQ(answer, "452 4.5.3 Too many recipients\r\n");
        break;
      }
      ++accepted;
    }
    return accepted;
  };
  const auto store = [&](std::string_view body, std::size_t recipients) {
    feed("DATA\r\n");
    EXPECT_EQ(take_output(), "354 End data with <CR><LF>.<CR><LF>\r\n");
    feed_sliced(body);
    feed(".\r\n");
    ASSERT_TRUE(session_->has_message()) << take_output();
    {
      const auto message = session_->take_message();
      EXPECT_EQ(message.envelope.recipients.size(), recipients);
      EXPECT_LE(budget.held(), budget.limit());
      EXPECT_GT(budget.held(), std::size_t{ContentBudget::kUncharged});  // until it is freed
      session_->storage_done(StorageResult::stored);
    }
    take_output();
    EXPECT_EQ(budget.held(), 0u);
  };
  std::string largest;
  while (largest.size() + line.size() <= kLargest) largest += line;

  // Idle: 1,000 recipients of 900-octet ORCPTs, then the largest message.
  EXPECT_EQ(fill(), 1000u);
  store(largest, 1000);

  // Busy: other transactions hold all but 128 KiB.
  ASSERT_TRUE(budget.try_take(budget.limit() - (128 << 10)));
  const auto accepted = fill();
  EXPECT_GT(accepted, 30u);  // the first 64 KiB of a transaction is never charged
  EXPECT_LT(accepted, 200u);
  EXPECT_EQ(session_->errors(), 0u);
  // Content that finds no room then is dropped; the recipients stay charged until the
  // transaction ends, and give all back when it does.
  const auto held = budget.held();
  feed("DATA\r\n");
  take_output();
  for (int i = 0; i < 100; ++i) feed(line);
  EXPECT_EQ(budget.held(), held);
  feed(".\r\n");
  EXPECT_EQ(take_output(), "452 4.3.1 Insufficient system storage\r\n");
  EXPECT_EQ(budget.held(), budget.limit() - (128 << 10));
  EXPECT_EQ(fill(), accepted);
  feed("RSET\r\n");
  EXPECT_EQ(budget.held(), budget.limit() - (128 << 10));
  // Once the others are done, the same recipients and a small message are stored.
  budget.give_back(budget.limit() - (128 << 10));
  EXPECT_EQ(fill(), 1000u);
  store("Subject: x\r\n\r\nbody\r\n", 1000);
}

// RFC 1870 §6.1: a message the server cannot hold now, by the SIZE its MAIL declares, gets
// 452 4.3.1 there, before it is sent; the session goes on, and it is no error of the client.
TEST_F(SessionTest, MailDeclaringMoreThanThereIsRoomForGets452) {
  ContentBudget budget(300 << 10);
  services_.budget = &budget;
  start_strict();
  feed("MAIL FROM:<a@c> SIZE=400000\r\nRCPT TO:<b@mx.example>\r\n");
  EXPECT_EQ(take_output(),
            "452 4.3.1 Insufficient system storage\r\n503 5.5.1 Need MAIL command\r\n");
  for (int i = 0; i < 5; ++i) {  // more than max_errors: a 452 is no error of the client's
    feed("MAIL FROM:<a@c> SIZE=400000\r\n");
    EXPECT_EQ(take_output(), "452 4.3.1 Insufficient system storage\r\n");
  }
  feed("MAIL FROM:<a@c> SIZE=200000\r\n");
  EXPECT_EQ(take_output(), "250 2.1.0 Ok\r\n");
  feed("RSET\r\n");
  take_output();

  // The store's file system: a message that would take it below its floor, or any message
  // once it is below (no SIZE).
  services_.storage_room = 100'000;
  feed("MAIL FROM:<a@c> SIZE=100001\r\nMAIL FROM:<a@c> SIZE=100000\r\nRSET\r\n");
  EXPECT_EQ(take_output(),
            "452 4.3.1 Insufficient system storage\r\n250 2.1.0 Ok\r\n"
            "250 2.0.0 Ok\r\n");
  services_.storage_room = -1;
  feed("MAIL FROM:<a@c>\r\n");
  EXPECT_EQ(take_output(), "452 4.3.1 Insufficient system storage\r\n");
  services_.storage_room = INT64_MAX;
  feed("MAIL FROM:<a@c>\r\nRSET\r\n");
  EXPECT_EQ(take_output(), "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(session_->closed());
}

// A client that pipelines MAIL, RCPT and DATA (RFC 2920 §3.1; Postfix's smtp client does) and
// finds MAIL refused for want of room gets 503 for the rest of the group; those are not its
// errors, so retrying does not get it cut off. Once the refusal has been sent, a RCPT without
// MAIL is an error again.
TEST_F(SessionTest, CommandsPipelinedBehindARefusedMailAreNoErrors) {
  start_strict();
  services_.storage_room = -1;
  constexpr std::string_view kRefused =
      "452 4.3.1 Insufficient system storage\r\n503 5.5.1 Need MAIL command\r\n"
      "503 5.5.1 Need MAIL command\r\n";
  for (int i = 0; i < 10; ++i) {
    feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n");
    EXPECT_EQ(take_output(), kRefused);
  }
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nBDAT 5 LAST\r\nhello");
  EXPECT_EQ(take_output(),
            "452 4.3.1 Insufficient system storage\r\n503 5.5.1 Need MAIL command\r\n"
            "503 5.5.1 Need MAIL command\r\n");
  // Another command ends the group's excuse, and so does the refusal being sent.
  feed("MAIL FROM:<a@c>\r\nRSET\r\nRCPT TO:<b@mx.example>\r\n");
  take_output();
  feed("RCPT TO:<b@mx.example>\r\n");
  take_output();
  EXPECT_FALSE(session_->closed());
  feed("RCPT TO:<b@mx.example>\r\n");
  EXPECT_EQ(take_output(),
            "503 5.5.1 Need MAIL command\r\n421 4.7.0 mx.example Error: too many errors\r\n");
  EXPECT_TRUE(session_->closed());
}

// Postfix's rule: a message received whole forgives the errors before it. A long-lived
// connection with an unknown recipient now and then is not cut off; one that only errs is.
TEST_F(SessionTest, AStoredMessageForgivesEarlierErrors) {
  start_strict();
  for (int i = 0; i < 5; ++i) {
    feed("RCPT TO:<b@mx.example>\r\nDATA\r\n");  // two errors: no MAIL
    store_a_message();
  }
  EXPECT_FALSE(session_->closed());
  EXPECT_EQ(session_->errors(), 10u);  // every one is still reported
  feed("RCPT TO:<b@mx.example>\r\nRCPT TO:<b@mx.example>\r\nRCPT TO:<b@mx.example>\r\n");
  EXPECT_TRUE(take_output().ends_with("421 4.7.0 mx.example Error: too many errors\r\n"));
  EXPECT_TRUE(session_->closed());
}

// Postfix's smtpd_soft_error_limit: the replies made once the errors pass the limit are the
// ones the host holds back (each an error-sleep), counted whether they are errors or not, and
// the 421 at the hard limit too; a stored message forgives, and nothing is owed again.
TEST_F(SessionTest, RepliesPastTheSoftErrorLimitAreOwedADelay) {
  SessionConfig config;
  config.limits.soft_error_limit = 2;
  config.limits.max_errors = 5;
  start_past_ehlo(std::move(config));
  feed("RCPT TO:<b@mx.example>\r\nRCPT TO:<b@mx.example>\r\n");  // errors 1, 2: no MAIL
  EXPECT_EQ(session_->take_delayed_replies(), 0u);
  feed("RCPT TO:<b@mx.example>\r\n");  // error 3
  EXPECT_EQ(session_->take_delayed_replies(), 1u);
  EXPECT_EQ(session_->take_delayed_replies(), 0u);  // taken once
  feed("NOOP\r\n");
  EXPECT_EQ(session_->take_delayed_replies(), 1u);  // not an error, still past the limit
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n");
  EXPECT_EQ(session_->take_delayed_replies(), 3u);
  feed("hi\r\n.\r\n");
  session_->take_message();
  session_->storage_done(StorageResult::stored);
  EXPECT_EQ(session_->take_delayed_replies(), 0u);  // the 250 for a stored message
  take_output();
  feed(
      "RCPT TO:<b@mx.example>\r\nRCPT TO:<b@mx.example>\r\nRCPT TO:<b@mx.example>\r\n"
      "RCPT TO:<b@mx.example>\r\nRCPT TO:<b@mx.example>\r\n");
  EXPECT_TRUE(take_output().ends_with("421 4.7.0 mx.example Error: too many errors\r\n"));
  EXPECT_EQ(session_->take_delayed_replies(), 4u);  // errors 3, 4 and 5, and the 421
}

TEST_F(SessionTest, ASoftErrorLimitOfZeroOwesNothing) {
  SessionConfig config;
  config.limits.soft_error_limit = 0;
  start_strict(std::move(config));
  feed("RCPT TO:<b@mx.example>\r\nRCPT TO:<b@mx.example>\r\nRCPT TO:<b@mx.example>\r\n");
  EXPECT_TRUE(session_->closed());
  EXPECT_EQ(session_->take_delayed_replies(), 0u);
}

// RFC 2920 §3.1: DATA ends a pipelined group; the client waits for 354 before the content.
// Content sent behind a DATA that is refused would otherwise be read as commands: here a
// message to the victim, under the envelope the client opened (the desync SMTP smuggling
// builds on). Like Postfix's smtpd_forbid_unauth_pipelining: 554 5.5.0, and the connection
// is closed without storing anything.
TEST_F(SessionTest, InputBehindARefusedDataIsNeverReadAsCommands) {
  SessionConfig config;
  config.recipients = std::make_shared<RecipientPolicy>(
      std::get<RecipientPolicy>(RecipientPolicy::build({"mx.example"}, "")));
  start_past_ehlo(std::move(config));
  feed(
      "MAIL FROM:<a@c>\r\nRCPT TO:<b@elsewhere.example>\r\nDATA\r\n"
      "RCPT TO:<victim@mx.example>\r\nDATA\r\nforged\r\n.\r\n");
  EXPECT_EQ(take_output(),
            "250 2.1.0 Ok\r\n550 5.7.1 Relay access denied\r\n"
            "554 5.5.0 Error: SMTP protocol synchronization\r\n");
  EXPECT_TRUE(session_->closed());
  EXPECT_EQ(session_->close_reason(), CloseReason::improper_pipelining);
  EXPECT_FALSE(session_->has_message());
}

// The same when DATA would have been accepted: the content came before the 354.
TEST_F(SessionTest, ContentBeforeThe354IsRefused) {
  start_past_ehlo();
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\nhi\r\n.\r\n");
  EXPECT_EQ(take_output(),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n554 5.5.0 Error: SMTP protocol synchronization\r\n");
  EXPECT_TRUE(session_->closed());
  EXPECT_FALSE(session_->has_message());
}

// EHLO, HELO, AUTH, NOOP, VRFY and EXPN end a group too (RFC 2920 §3.1, RFC 4954 §4).
TEST_F(SessionTest, InputBehindAnyCommandThatEndsAGroupIsRefused) {
  for (const auto* first :
       {"EHLO c\r\n", "HELO c\r\n", "NOOP\r\n", "VRFY x\r\n", "EXPN x\r\n", "AUTH PLAIN\r\n"}) {
    start();
    feed(std::string(first) + "MAIL FROM:<a@c>\r\n");
    EXPECT_TRUE(take_output().ends_with("554 5.5.0 Error: SMTP protocol synchronization\r\n"))
        << first;
    EXPECT_TRUE(session_->closed()) << first;
  }
}

// What RFC 2920 allows stays allowed: MAIL, RCPT and DATA in one group; the end of the
// content with the next MAIL, RCPT and DATA (Postfix's client does this); BDAT chunks behind
// each other; RSET and QUIT anywhere. A line split across receives is judged by what
// follows its end.
TEST_F(SessionTest, PipeliningThatRfc2920AllowsIsServed) {
  start_past_ehlo();
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDA");
  feed("TA\r\n");
  feed("one\r\n.\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n");
  ASSERT_TRUE(session_->has_message());
  session_->take_message();
  session_->storage_done(StorageResult::stored);
  feed(
      "two\r\n.\r\nRSET\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\n"
      "BDAT 3\r\nabcBDAT 3 LAST\r\ndefQUIT\r\n");
  for (int stored = 0; stored < 2; ++stored) {
    ASSERT_TRUE(session_->has_message());
    session_->take_message();
    session_->storage_done(StorageResult::stored);
  }
  EXPECT_EQ(session_->close_reason(), CloseReason::quit);
  EXPECT_EQ(take_output().find("554"), std::string::npos);
}

// An operator can turn the rule off (mxringd --allow-improper-pipelining).
TEST_F(SessionTest, ImproperPipeliningCanBeAllowed) {
  SessionConfig config;
  config.limits.forbid_improper_pipelining = false;
  start(std::move(config));
  feed("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\nhi\r\n.\r\n");
  EXPECT_TRUE(session_->has_message());
  EXPECT_FALSE(session_->closed());
}

// Postfix's smtpd_junk_command_limit: chatter (NOOP, RSET, VRFY, EXPN, HELP) is free up to
// a limit, then each counts as an error, so nobody holds a connection slot for ever with
// NOOPs. A stored message starts the count again.
TEST_F(SessionTest, JunkCommandsPastTheirLimitAreErrors) {
  SessionConfig config;
  config.limits.max_junk_commands = 5;
  start_strict(std::move(config));
  for (const auto* junk : {"NOOP\r\n", "RSET\r\n", "VRFY x\r\n", "EXPN x\r\n", "HELP\r\n"})
    feed(junk);  // each waits for its answer (RFC 2920 §3.1)
  EXPECT_EQ(session_->errors(), 0u);
  store_a_message();
  for (int i = 0; i < 5; ++i) feed("NOOP\r\n");
  EXPECT_EQ(session_->errors(), 0u);
  feed("NOOP\r\n");
  feed("NOOP\r\n");
  EXPECT_EQ(session_->errors(), 2u);
  EXPECT_FALSE(session_->closed());
  feed("NOOP\r\n");
  EXPECT_TRUE(
      take_output().ends_with("250 2.0.0 Ok\r\n421 4.7.0 mx.example Error: too many errors\r\n"));
  EXPECT_TRUE(session_->closed());
}

// An empty BDAT chunk that is not the last (RFC 3030 §2 allows one) carries nothing, like a
// NOOP, and would otherwise keep a transaction open for ever: junk, past the limit an error.
TEST_F(SessionTest, EmptyBdatChunksAreJunk) {
  SessionConfig config;
  config.limits.max_junk_commands = 5;
  start_strict(std::move(config));
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\n");
  for (int i = 0; i < 5; ++i) feed("BDAT 0\r\n");
  EXPECT_EQ(session_->errors(), 0u);
  feed("BDAT 0\r\nBDAT 0\r\n");
  EXPECT_EQ(session_->errors(), 2u);
  feed("BDAT 3 LAST\r\nabc");  // a chunk with octets is no junk; the message goes on
  ASSERT_TRUE(session_->has_message());
  EXPECT_EQ(session_->errors(), 2u);
  EXPECT_FALSE(session_->closed());
}

// The span the host holds to --min-data-rate: from DATA's 354, or a transaction's first
// BDAT, to the end of the content; with BDAT the commands between chunks are inside it.
TEST_F(SessionTest, ReceivingContentSpansDataAndEveryBdatChunk) {
  start_past_ehlo();
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\n");
  EXPECT_FALSE(session_->receiving_content());
  feed("DATA\r\n");
  EXPECT_TRUE(session_->receiving_content());
  feed("Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_FALSE(session_->receiving_content());  // whole: waiting for storage
  ASSERT_TRUE(session_->has_message());
  session_->take_message();
  session_->storage_done(StorageResult::stored);
  EXPECT_FALSE(session_->receiving_content());

  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nBDAT 4\r\nab");
  EXPECT_TRUE(session_->receiving_content());  // inside the first chunk
  feed("cd");
  EXPECT_TRUE(session_->receiving_content());  // between chunks, taking commands
  EXPECT_EQ(session_->phase(), Session::Phase::command);
  feed("NOOP\r\n");
  EXPECT_TRUE(session_->receiving_content());
  feed("BDAT 2 LAST\r\nef");
  EXPECT_FALSE(session_->receiving_content());
  ASSERT_TRUE(session_->has_message());
  session_->take_message();
  session_->storage_done(StorageResult::stored);

  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nBDAT 2\r\nabRSET\r\n");
  EXPECT_FALSE(session_->receiving_content());  // RSET ends the transaction
}

// A 400 KiB message declared with SIZE takes a buffer of about its size (and is charged that),
// not the next power of two; one that declares more than it sends, or less, is stored whole.
TEST_F(SessionTest, DeclaredSizeBoundsTheContentBuffer) {
  ContentBudget budget(64 << 20);
  services_.budget = &budget;
  start_past_ehlo();
  const std::string line = std::string(1022, 'x') + "\r\n";
  const auto store = [&](std::string_view mail, int lines, std::size_t slice) {
    feed(std::string(mail) + "RCPT TO:<b@mx.example>\r\nDATA\r\n");
    const auto started = take_output();
    EXPECT_TRUE(started.ends_with("354 End data with <CR><LF>.<CR><LF>\r\n")) << started;
    std::string body;
    for (int i = 0; i < lines; ++i) body += line;
    body += ".\r\n";
    feed_sliced(body, slice);
    EXPECT_TRUE(session_->has_message()) << take_output();
    auto message = session_->take_message();
    EXPECT_EQ(message.content.size() - message.content.view().find(line), lines * line.size());
    const auto footprint = message.content.footprint();
    const auto charged = footprint + recipient_bytes(message.envelope.recipients[0]);
    EXPECT_EQ(budget.held(), charged > ContentBudget::kUncharged ? charged : 0);
    session_->storage_done(StorageResult::stored);
    take_output();
    return footprint;
  };
  const std::size_t declared = 400 * 1024;
  for (const std::size_t slice : {std::size_t{1000}, std::size_t{16384}, std::size_t{70000}}) {
    const auto footprint =
        store("MAIL FROM:<a@c> SIZE=" + std::to_string(declared) + "\r\n", 400, slice);
    EXPECT_GE(footprint, declared);
    EXPECT_LT(footprint, declared + 4096) << "slice " << slice;
  }
  EXPECT_EQ(store("MAIL FROM:<a@c>\r\n", 400, 16384), (512u << 10) + parser::kPadding);
  EXPECT_GE(store("MAIL FROM:<a@c> SIZE=1000\r\n", 400, 16384), declared);  // too little
  // Declaring much more than it sends makes the buffer no bigger than the data needs.
  EXPECT_LT(store("MAIL FROM:<a@c> SIZE=40000000\r\n", 10, 16384), std::size_t{32 << 10});
  EXPECT_EQ(budget.held(), 0u);
}

// A budget of content_memory_needed(max_message_size, 1) holds a message of that size however
// it comes: without SIZE, with a SIZE smaller than what follows, in one BDAT chunk. Its
// buffer doubling from 512 KiB to 1 MiB would not fit (600 KiB + 384 KiB), and it would be
// answered 452 at its end on every retry. One octet more is 552, the budget untouched.
TEST_F(SessionTest, AMessageOfTheLargestSizeFitsTheMemoryItIsSaidToNeed) {
  constexpr std::size_t kLargest = 600 << 10;
  auto& budget = start_with_needed_budget(kLargest, 1);
  const std::string line = std::string(1022, 'x') + "\r\n";
  std::string largest;
  for (std::size_t i = 0; i < kLargest / line.size(); ++i) largest += line;
  ASSERT_EQ(largest.size(), kLargest);
  const auto stored = [&]() {
    if (!session_->has_message()) return take_output();
    {
      const auto message = session_->take_message();
      EXPECT_TRUE(message.content.view().ends_with(largest));
      EXPECT_LE(message.content.footprint(), budget.limit());
      session_->storage_done(StorageResult::stored);
    }
    const auto answer = take_output();
    return answer.find("250 2.0.0 Ok: queued as ") != std::string::npos ? std::string("stored")
                                                                        : answer;
  };
  for (const char* mail : {"MAIL FROM:<a@c>\r\n", "MAIL FROM:<a@c> SIZE=1000\r\n"}) {
    feed(std::string(mail) + "RCPT TO:<b@mx.example>\r\nDATA\r\n");
    take_output();
    feed_sliced(largest + ".\r\n");
    EXPECT_EQ(stored(), "stored") << mail;
  }
  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nBDAT " + std::to_string(kLargest) +
       " LAST\r\n");
  feed_sliced(largest);
  EXPECT_EQ(stored(), "stored");
  EXPECT_EQ(budget.held(), 0u);

  feed("MAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n");
  take_output();
  feed_sliced(largest + "y\r\n.\r\n");
  EXPECT_EQ(take_output(), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_EQ(budget.held(), 0u);
}

}  // namespace
}  // namespace mxring::engine
