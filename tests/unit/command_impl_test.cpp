// Every implementation parses MAIL and RCPT arguments exactly as the scalar grammar does: the
// AVX-512 kernel's common-shape path (parser/src/kernels/avx512_argument.h) against the full
// grammar, over typical lines and every single-octet mutation of them, each placed flush
// against a guard page.
#include <gtest/gtest.h>

#include <string>

#include "guarded_buffer.h"
#include "mxring/parser/command.h"

namespace mxring::parser {
namespace {

void expect_same(const ParsedCommand& got, const ParsedCommand& want, std::string_view line,
                 Impl impl) {
  const auto& g = got.command;
  const auto& w = want.command;
  const auto where = std::string(impl_name(impl)) + ": " + std::string(line);
  EXPECT_EQ(got.error, want.error) << where;
  EXPECT_EQ(g.verb, w.verb) << where;
  EXPECT_EQ(g.path.mailbox, w.path.mailbox) << where;
  EXPECT_EQ(g.path.local_part, w.path.local_part) << where;
  EXPECT_EQ(g.path.domain, w.path.domain) << where;
  EXPECT_EQ(g.path.null, w.path.null) << where;
  EXPECT_EQ(g.path.utf8, w.path.utf8) << where;
  EXPECT_EQ(g.path.bracketed, w.path.bracketed) << where;
  EXPECT_EQ(g.mail.has_size, w.mail.has_size) << where;
  EXPECT_EQ(g.mail.size, w.mail.size) << where;
  EXPECT_EQ(g.mail.body, w.mail.body) << where;
  EXPECT_EQ(g.mail.smtputf8, w.mail.smtputf8) << where;
  EXPECT_EQ(g.mail.requiretls, w.mail.requiretls) << where;
  EXPECT_EQ(g.mail.ret, w.mail.ret) << where;
  EXPECT_EQ(g.mail.envid, w.mail.envid) << where;
  EXPECT_EQ(g.mail.auth, w.mail.auth) << where;
  EXPECT_EQ(g.rcpt.notify, w.rcpt.notify) << where;
  EXPECT_EQ(g.rcpt.orcpt_type, w.rcpt.orcpt_type) << where;
  EXPECT_EQ(g.rcpt.orcpt_address, w.rcpt.orcpt_address) << where;
}

const char* const kLines[] = {
    "MAIL FROM:<user@example.com> SIZE=1234 BODY=8BITMIME",
    "MAIL FROM:<bounce-1234=a.b=example.org@lists.example.org> SIZE=18230 BODY=8BITMIME",
    "RCPT TO:<bob.smith@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@example.com",
    "RCPT TO:<carol+news@mail-1.example.com>",
    "MAIL FROM:<a_b@c.d>  SMTPUTF8   REQUIRETLS RET=HDRS ENVID=x+2By AUTH=<>  ",
    "MAIL FROM:<x@y.z> SIZE=1 SIZE=2",
    "MAIL FROM:<x@y.z> XFOO=1 SIZE=abc",
    "RCPT TO:<postmaster>",
    "MAIL FROM:<>",
    "MAIL FROM:<@route.example:user@example.com>",
    "MAIL FROM:<\"quoted local\"@example.com> SIZE=10",
    "MAIL FROM:user@example.com SIZE=10",
    "MAIL FROM: <user@example.com>",
    "RCPT TO:<user@[192.0.2.1]>",
    "RCPT TO:<user@\xc3\xa9xample.com>",
    "MAIL FROM:<a@b.example> A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 I=9",
    "MAIL FROM:<a-very-long-local-part.with.dots@a-very-long-domain.example.com> SIZE=99",
};

TEST(CommandImplTest, EveryImplementationParsesMailAndRcptAsTheScalarGrammar) {
  static test::GuardedBuffer buffer(1 << 16);
  const std::string interesting = ".-@<> =_+:;\"[]\x80\x01\taZ09,";
  std::size_t compared = 0;
  for (const std::string base : kLines) {
    std::vector<std::string> variants{base};
    for (std::size_t i = 5; i < base.size(); ++i) {
      for (const char c : interesting) {
        variants.push_back(base.substr(0, i) + c + base.substr(i + 1));  // replaced
        variants.push_back(base.substr(0, i) + c + base.substr(i));      // inserted
      }
      variants.push_back(base.substr(0, i) + base.substr(i + 1));  // removed
      variants.push_back(base.substr(0, i));                       // cut short
    }
    for (const auto& line : variants) {
      const auto want = parse_command(buffer.place(line, 0), {}, Impl::scalar);
      for (const auto impl : supported_impls()) {
        expect_same(parse_command(buffer.place(line, 0), {}, impl), want, line, impl);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 10'000u);
}

}  // namespace
}  // namespace mxring::parser
