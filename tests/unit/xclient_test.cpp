// XCLIENT attribute lists (Postfix's XCLIENT_README): names in any case, xtext values,
// nothing unknown, nothing twice.
#include "mxring/parser/xclient.h"

#include <gtest/gtest.h>

#include "mxring/parser/command.h"

namespace mxring::parser {
namespace {

TEST(XclientTest, ReadsEveryAttribute) {
  XclientAttributes a;
  ASSERT_TRUE(
      parse_xclient("NAME=mail.example ADDR=192.0.2.7 port=4711 PROTO=ESMTP "
                    "HELO=client+2Eexample LOGIN=[UNAVAILABLE] DESTADDR=198.51.100.1 "
                    "DESTPORT=25",
                    a));
  EXPECT_EQ(a[XclientAttribute::name], "mail.example");
  EXPECT_EQ(a[XclientAttribute::addr], "192.0.2.7");
  EXPECT_EQ(a[XclientAttribute::port], "4711");
  EXPECT_EQ(a[XclientAttribute::helo], "client+2Eexample");  // xtext, decoded by the session
  EXPECT_EQ(a[XclientAttribute::login], kXclientUnavailable);
  EXPECT_TRUE(a.has(XclientAttribute::destport));
}

TEST(XclientTest, RefusesWhatPostfixRefuses) {
  XclientAttributes a;
  EXPECT_FALSE(parse_xclient("", a));
  EXPECT_FALSE(parse_xclient("COLOUR=blue", a));
  EXPECT_FALSE(parse_xclient("ADDR", a));
  EXPECT_FALSE(parse_xclient("ADDR=1.2.3.4 ADDR=5.6.7.8", a));
  EXPECT_FALSE(parse_xclient("NAME=a+zz", a));  // not xtext
  EXPECT_FALSE(parse_xclient("NAME=a=b", a));   // '=' inside a value is not xtext
  EXPECT_TRUE(parse_xclient("ADDR=IPV6:2001:db8::1", a));
  EXPECT_EQ(a[XclientAttribute::addr], "IPV6:2001:db8::1");
}

TEST(XclientTest, IsAVerbWithAnAttributeList) {
  auto parsed = parse_command("xclient ADDR=192.0.2.7 NAME=x");
  EXPECT_EQ(parsed.error, CommandError::none);
  EXPECT_EQ(parsed.command.verb, Verb::xclient);
  EXPECT_EQ(parsed.command.argument, "ADDR=192.0.2.7 NAME=x");
  EXPECT_EQ(parse_command("XCLIENT").error, CommandError::syntax);
  EXPECT_EQ(parse_command("XCLIENTS ADDR=1.2.3.4").error, CommandError::unrecognized);
}

}  // namespace
}  // namespace mxring::parser
