// parse_command: the RFC 5321 grammar, the extensions' parameters, and the leniency policy in
// parser/README.md, for the copy of the grammar every implementation this CPU supports runs
// (command_internal.h). Each line is placed flush against a guard page (no padding) so the
// command parser, which needs none, is proven never to read past the line.
#include "mxring/parser/command.h"

#include <gtest/gtest.h>

#include <string>

#include "command_internal.h"
#include "guarded_buffer.h"
#include "impl_param.h"
#include "mxring/parser/impl.h"
#include "mxring/parser/text.h"

namespace mxring::parser {
namespace {

class Command : public ::testing::TestWithParam<Impl> {
 protected:
  ParsedCommand parse(std::string_view line) {
    static test::GuardedBuffer buf(1 << 16);
    return detail::parse_command_for(GetParam())(buf.place(line, 0), {});
  }
  CommandError error_of(std::string_view line) { return parse(line).error; }
};

MXRING_INSTANTIATE_FOR_EVERY_IMPL(Command);

// Two copies of the grammar exist; each implementation runs the one built for it.
TEST(CommandDispatch, EachImplementationRunsTheCopyBuiltForIt) {
  EXPECT_EQ(detail::parse_command_for(Impl::avx512vbmi), &detail::vbmi::parse_command);
  for (const Impl impl : {Impl::scalar, Impl::sse, Impl::avx2, Impl::avx512})
    EXPECT_EQ(detail::parse_command_for(impl), &detail::portable::parse_command) << impl_name(impl);
}

TEST_P(Command, RecognisesEveryVerbInAnyCase) {
  const std::pair<const char*, Verb> cases[] = {
      {"HELO a.example", Verb::helo}, {"ehlo a.example", Verb::ehlo},
      {"Mail FROM:<>", Verb::mail},   {"RCPT TO:<b@c.example>", Verb::rcpt},
      {"DATA", Verb::data},           {"rset", Verb::rset},
      {"NOOP", Verb::noop},           {"NOOP anything at all", Verb::noop},
      {"QUIT", Verb::quit},           {"VRFY user", Verb::vrfy},
      {"EXPN list", Verb::expn},      {"HELP", Verb::help},
      {"HELP MAIL", Verb::help},      {"StartTLS", Verb::starttls},
      {"AUTH PLAIN", Verb::auth},     {"BDAT 100", Verb::bdat}};
  for (const auto& [line, verb] : cases) {
    const auto r = parse(line);
    EXPECT_EQ(r.error, CommandError::none) << line;
    EXPECT_EQ(r.command.verb, verb) << line;
  }
}

TEST_P(Command, UnknownVerbsAreUnrecognized) {
  for (const char* line : {"", "X", "MAI", "MAILX FROM:<>", "STARTTLSX", "FOO BAR",
                           "GET / HTTP/1.1", "\x80\x81\x82\x83", "HEL\0"})
    EXPECT_EQ(error_of(line), CommandError::unrecognized) << line;
}

TEST_P(Command, HeloTakesOneName) {
  EXPECT_EQ(parse("EHLO [192.0.2.1]").command.argument, "[192.0.2.1]");
  EXPECT_EQ(parse("HELO mx.example.org  ").command.argument, "mx.example.org");
  EXPECT_EQ(error_of("EHLO"), CommandError::syntax);
  EXPECT_EQ(error_of("EHLO "), CommandError::syntax);
  EXPECT_EQ(error_of("EHLO two words"), CommandError::syntax);
  EXPECT_EQ(error_of("EHLO bad\x01name"), CommandError::syntax);
}

TEST_P(Command, CommandsWithoutArgumentsRefuseThem) {
  for (const char* line : {"DATA x", "RSET now", "QUIT bye", "STARTTLS please"})
    EXPECT_EQ(error_of(line), CommandError::syntax) << line;
  EXPECT_EQ(error_of("DATA  "), CommandError::none);
  EXPECT_EQ(error_of("VRFY"), CommandError::syntax);
  EXPECT_EQ(error_of("EXPN "), CommandError::syntax);
}

TEST_P(Command, MailPaths) {
  auto r = parse("MAIL FROM:<user@example.com>");
  ASSERT_EQ(r.error, CommandError::none);
  EXPECT_EQ(r.command.path.mailbox, "user@example.com");
  EXPECT_EQ(r.command.path.local_part, "user");
  EXPECT_EQ(r.command.path.domain, "example.com");
  EXPECT_TRUE(parse("MAIL FROM:<>").command.path.null);
  EXPECT_EQ(parse("MAIL FROM:<\"john doe\"@example.com>").command.path.local_part, "\"john doe\"");
  EXPECT_EQ(parse("MAIL FROM:<\"a\\\"b\"@example.com>").error, CommandError::none);
  EXPECT_EQ(parse("MAIL FROM:<u@[192.0.2.1]>").command.path.domain, "[192.0.2.1]");
  EXPECT_EQ(parse("MAIL FROM:<u@[IPv6:2001:db8::1]>").error, CommandError::none);
  EXPECT_EQ(parse("MAIL FROM:<u@[x-tag:stuff]>").error, CommandError::none);
  // Source routes are accepted and ignored (RFC 5321 §4.1.2, Appendix C).
  r = parse("MAIL FROM:<@relay.example,@other.example:user@example.com>");
  ASSERT_EQ(r.error, CommandError::none);
  EXPECT_EQ(r.command.path.mailbox, "user@example.com");
}

TEST_P(Command, PostfixCompatibleLeniency) {
  auto r = parse("MAIL FROM: <user@example.com>");
  EXPECT_EQ(r.error, CommandError::none);
  EXPECT_EQ(r.command.path.mailbox, "user@example.com");
  r = parse("MAIL FROM:user@example.com SIZE=10");
  ASSERT_EQ(r.error, CommandError::none);
  EXPECT_FALSE(r.command.path.bracketed);
  EXPECT_EQ(r.command.path.mailbox, "user@example.com");
  EXPECT_EQ(r.command.mail.size, 10u);
  EXPECT_EQ(error_of("MAIL FROM:<a@b.example>  SIZE=1   BODY=8BITMIME  "), CommandError::none);
  EXPECT_EQ(error_of("mail from:<a@b.example>"), CommandError::none);
}

TEST_P(Command, MalformedPaths) {
  const char* senders[] = {"MAIL FROM:",
                           "MAIL FROM:<",
                           "MAIL FROM:<a@b.example",
                           "MAIL FROM:<a..b@c.example>",
                           "MAIL FROM:<.a@c.example>",
                           "MAIL FROM:<a.@c.example>",
                           "MAIL FROM:<a@-c.example>",
                           "MAIL FROM:<a@c..example>",
                           "MAIL FROM:<a@[300.1.1.1]>",
                           "MAIL FROM:<a@[IPv6:zz::1]>",
                           "MAIL FROM:<a b@c.example>",
                           "MAIL FROM:<a@b.example>x",
                           "MAIL FROM:<postmaster>",
                           "MAIL FROM:<a@b_c.example>",
                           "MAIL FROM:<caf\xc3\x28@x.example>"};
  for (const char* line : senders) EXPECT_EQ(error_of(line), CommandError::bad_sender) << line;
  EXPECT_EQ(error_of("RCPT TO:<>"), CommandError::bad_recipient);
  EXPECT_EQ(error_of("RCPT TO:<@a.example:>"), CommandError::bad_recipient);
  EXPECT_EQ(error_of("MAIL FROM :<a@b.example>"), CommandError::syntax);
  EXPECT_EQ(error_of("MAIL TO:<a@b.example>"), CommandError::syntax);
  EXPECT_EQ(error_of("RCPT FROM:<a@b.example>"), CommandError::syntax);
  const std::string long_path = "MAIL FROM:<" + std::string(250, 'a') + "@b.example>";
  EXPECT_EQ(error_of(long_path), CommandError::bad_sender);  // path over 256 octets
}

TEST_P(Command, PostmasterWithoutDomainOnlyForRcpt) {
  auto r = parse("RCPT TO:<Postmaster>");
  ASSERT_EQ(r.error, CommandError::none);
  EXPECT_TRUE(r.command.path.is_postmaster());
  EXPECT_TRUE(r.command.path.domain.empty());
  EXPECT_TRUE(parse("RCPT TO:<POSTMASTER@example.com>").command.path.is_postmaster());
}

TEST_P(Command, Smtputf8Addresses) {
  auto r = parse(
      "MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc"
      "cher.example> SMTPUTF8");
  ASSERT_EQ(r.error, CommandError::none);
  EXPECT_TRUE(r.command.path.utf8);
  EXPECT_TRUE(r.command.mail.smtputf8);
  EXPECT_EQ(error_of("RCPT TO:<\xff@x.example>"), CommandError::bad_recipient);
}

TEST_P(Command, MailParameters) {
  const auto r = parse(
      "MAIL FROM:<a@b.example> SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=QQ+2B314 "
      "AUTH=a+40b.example REQUIRETLS SMTPUTF8");
  ASSERT_EQ(r.error, CommandError::none);
  const auto& m = r.command.mail;
  EXPECT_TRUE(m.has_size);
  EXPECT_EQ(m.size, 1234u);
  EXPECT_EQ(m.body, Body::eight_bit_mime);
  EXPECT_EQ(m.ret, Ret::headers);
  EXPECT_EQ(m.envid, "QQ+2B314");
  EXPECT_EQ(m.auth, "a+40b.example");
  EXPECT_TRUE(m.requiretls);
  EXPECT_TRUE(m.smtputf8);
  EXPECT_EQ(parse("MAIL FROM:<> BODY=binarymime").command.mail.body, Body::binary_mime);
  EXPECT_EQ(parse("MAIL FROM:<> SIZE=99999999999999999999").command.mail.size, UINT64_MAX);
  EXPECT_EQ(parse("MAIL FROM:<> AUTH=<>").error, CommandError::none);
}

TEST_P(Command, ParameterErrorsAreDistinct) {
  EXPECT_EQ(error_of("MAIL FROM:<> FOO=1"), CommandError::unknown_parameter);
  EXPECT_EQ(error_of("MAIL FROM:<> NOTIFY=NEVER"), CommandError::unknown_parameter);
  EXPECT_EQ(error_of("RCPT TO:<a@b.example> SIZE=1"), CommandError::unknown_parameter);
  EXPECT_EQ(error_of("MAIL FROM:<> BODY=9BIT"), CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("MAIL FROM:<> SIZE=12a"), CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("MAIL FROM:<> SIZE"), CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("MAIL FROM:<> SIZE=1 SIZE=2"), CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("MAIL FROM:<> SMTPUTF8=yes"), CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("MAIL FROM:<> RET=ALL"), CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("MAIL FROM:<> ENVID=a+zz"), CommandError::bad_parameter_value);
  EXPECT_EQ(error_of(std::string("MAIL FROM:<> ENVID=") + std::string(101, 'e')),
            CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("MAIL FROM:<> BODY=9BIT FOO"), CommandError::unknown_parameter);
  EXPECT_EQ(error_of("MAIL FROM:<> =1"), CommandError::syntax);
  EXPECT_EQ(error_of("MAIL FROM:<> SIZE="), CommandError::syntax);
  EXPECT_EQ(error_of("MAIL FROM:<> -X=1"), CommandError::syntax);
}

// SIZE and BODY have a shortcut (common_mail_parameter); every edge of it must agree with the
// general grammar.
TEST_P(Command, CommonMailParametersAgreeWithTheGrammar) {
  const auto mail = [this](std::string_view params) {
    return parse(std::string("MAIL FROM:<a@b.example> ") + std::string(params));
  };
  EXPECT_EQ(mail("size=7 body=7bit").command.mail.size, 7u);
  EXPECT_EQ(mail("size=7 body=7bit").command.mail.body, Body::seven_bit);
  EXPECT_EQ(mail("BODY=8BITMIME").command.mail.body, Body::eight_bit_mime);
  EXPECT_FALSE(mail("BODY=8BITMIME").command.mail.has_size);
  EXPECT_EQ(mail("SIZE=0000000000000000001").command.mail.size, 1u);           // 19 digits
  EXPECT_EQ(mail("SIZE=18446744073709551615").command.mail.size, UINT64_MAX);  // 20 digits
  EXPECT_EQ(mail("SIZE=1234567890123456789").command.mail.size, 1234567890123456789u);
  // Folding must not let a control octet pass for the digit.
  EXPECT_EQ(mail("BODY=\x18"
                 "BITMIME")
                .error,
            CommandError::syntax);
  EXPECT_EQ(mail("BODY=\x17"
                 "BIT")
                .error,
            CommandError::syntax);
  EXPECT_EQ(mail("BODY=8BITMIMEX").error, CommandError::bad_parameter_value);
  EXPECT_EQ(mail("BODY=8BIT").error, CommandError::bad_parameter_value);
  EXPECT_EQ(mail("BODY=7BITS").error, CommandError::bad_parameter_value);
  EXPECT_EQ(mail("BODY=8BITMIME BODY=8BITMIME").error, CommandError::bad_parameter_value);
  EXPECT_EQ(mail("SIZE=12 SIZE=12").error, CommandError::bad_parameter_value);
  EXPECT_EQ(mail("SIZE=12x").error, CommandError::bad_parameter_value);
  EXPECT_EQ(mail("SIZE=12=").error, CommandError::syntax);
  EXPECT_EQ(mail("SIZE=-1").error, CommandError::bad_parameter_value);
  EXPECT_EQ(mail("SIZE=1 FOO=2").error, CommandError::unknown_parameter);
  EXPECT_EQ(mail("SIZE=x FOO=2").error, CommandError::unknown_parameter);
  EXPECT_EQ(mail("S\x09ZE=1").error, CommandError::syntax);
  // Every digit count, ended by a space, the line end or another octet: the in-place reader
  // and the grammar give the same value and the same error.
  const std::string digits = "9876543210987654321";
  for (std::size_t n = 1; n <= digits.size(); ++n) {
    const auto number = digits.substr(0, n);
    const auto value = std::stoull(number);
    for (const char* after : {"", " BODY=7BIT", "        ", " X=1"}) {
      const auto r = mail("SIZE=" + number + after);
      EXPECT_EQ(r.command.mail.size, value) << number << after;
      const bool unknown = std::string_view(after).starts_with(" X");
      EXPECT_EQ(r.error, unknown ? CommandError::unknown_parameter : CommandError::none)
          << number << after;
    }
    for (const char* after : {"x", ":", "/", "\xb9", "."})
      EXPECT_EQ(mail("SIZE=" + number + after + " BODY=7BIT").error,
                CommandError::bad_parameter_value)
          << number << after;
    // DEL is no esmtp-value octet at all (RFC 5321 §4.1.2): a syntax error.
    EXPECT_EQ(mail("SIZE=" + number + "\x7f BODY=7BIT").error, CommandError::syntax) << number;
  }
}

TEST_P(Command, RcptParameters) {
  auto r = parse("RCPT TO:<a@b.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+40b.example");
  ASSERT_EQ(r.error, CommandError::none);
  EXPECT_EQ(r.command.rcpt.notify, kNotifySuccess | kNotifyDelay);
  EXPECT_EQ(r.command.rcpt.orcpt_type, "rfc822");
  EXPECT_EQ(r.command.rcpt.orcpt_address, "a+40b.example");
  EXPECT_EQ(parse("RCPT TO:<a@b.example> NOTIFY=never").command.rcpt.notify, kNotifyNever);
  EXPECT_EQ(error_of("RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS"),
            CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("RCPT TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS"),
            CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("RCPT TO:<a@b.example> ORCPT=rfc822"), CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("RCPT TO:<a@b.example> ORCPT=utf-8;j\xc3\xb6rg@x"), CommandError::none);
  // xtext decoding to a control character (text.h: is_xtext).
  EXPECT_EQ(error_of("RCPT TO:<a@b.example> ORCPT=rfc822;a+0D@x"),
            CommandError::bad_parameter_value);
  EXPECT_EQ(error_of("MAIL FROM:<a@b.example> ENVID=e+0A1"), CommandError::bad_parameter_value);
}

TEST_P(Command, AuthAndBdat) {
  auto r = parse("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
  ASSERT_EQ(r.error, CommandError::none);
  EXPECT_EQ(r.command.argument, "PLAIN");
  EXPECT_EQ(r.command.auth_initial_response, "AGFsaWNlAHNlY3JldA==");
  EXPECT_EQ(parse("AUTH LOGIN =").command.auth_initial_response, "=");
  EXPECT_EQ(error_of("AUTH"), CommandError::syntax);
  EXPECT_EQ(error_of("AUTH PLAIN a*b"), CommandError::syntax);
  r = parse("BDAT 86 LAST");
  ASSERT_EQ(r.error, CommandError::none);
  EXPECT_EQ(r.command.bdat_size, 86u);
  EXPECT_TRUE(r.command.bdat_last);
  EXPECT_FALSE(parse("BDAT 0").command.bdat_last);
  EXPECT_EQ(error_of("BDAT"), CommandError::syntax);
  EXPECT_EQ(error_of("BDAT -1"), CommandError::syntax);
  EXPECT_EQ(error_of("BDAT 10 FIRST"), CommandError::syntax);
}

TEST_P(Command, LineLengthCapWithParameterAllowance) {
  const std::string noop_ok = "NOOP " + std::string(505, 'x');  // 510 + CRLF = 512
  const std::string noop_over = "NOOP " + std::string(506, 'x');
  EXPECT_EQ(error_of(noop_ok), CommandError::none);
  EXPECT_EQ(error_of(noop_over), CommandError::line_too_long);
  // The cap holds whatever the verb: an unknown command is too long before it is unknown.
  EXPECT_EQ(error_of("XYZZY" + std::string(506, 'x')), CommandError::line_too_long);
  EXPECT_EQ(error_of("XYZZY" + std::string(505, 'x')), CommandError::unrecognized);
  EXPECT_EQ(error_of("MAILX" + std::string(506, 'x')), CommandError::line_too_long);
  // MAIL may exceed 512 by its parameters' allowance, not beyond.
  const std::string mail =
      "MAIL FROM:<a@b.example> ENVID=" + std::string(100, 'e') + " AUTH=" + std::string(480, 'u');
  EXPECT_GT(mail.size() + 2, 512u);
  EXPECT_EQ(error_of(mail), CommandError::none);
  EXPECT_EQ(error_of(mail + " ORCPT=" + std::string(1024, 'o')), CommandError::line_too_long);
}

TEST(Text, XtextAndUtf8) {
  char out[32];
  EXPECT_EQ(xtext_decode("a+2Bb+3D", out).value_or(0), 4u);
  EXPECT_EQ(std::string(out, 4), "a+b=");
  EXPECT_FALSE(is_xtext("a+2b"));  // hex digits must be upper case (RFC 3461 §4)
  EXPECT_FALSE(is_xtext("a+2"));
  EXPECT_FALSE(is_xtext("a=b"));
  // Decoded control characters: a CR LF would go on into trace fields and headers.
  EXPECT_TRUE(is_xtext("a+20b+C3+A9"));
  EXPECT_FALSE(is_xtext("a+0D+0AX-Injected:+201"));
  EXPECT_FALSE(is_xtext("a+00b"));
  EXPECT_FALSE(is_xtext("+7F"));
  EXPECT_TRUE(is_printable_ascii("mx.example"));
  EXPECT_TRUE(is_printable_ascii(""));
  EXPECT_FALSE(is_printable_ascii("mx.example\r\nX: 1"));
  EXPECT_FALSE(is_printable_ascii("a b"));
  EXPECT_FALSE(is_printable_ascii("caf\xc3\xa9"));
  EXPECT_FALSE(is_printable_ascii("\x7f"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xf0\x9f\x93\xa7"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
}

}  // namespace
}  // namespace mxring::parser
