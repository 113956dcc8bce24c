// Counting Received fields for loop detection (RFC 5321 §6.3): only in the header section,
// whatever the case of the name or the white space before its colon, with CRLF or LF lines.
#include "mxring/parser/header_fields.h"

#include <gtest/gtest.h>

#include <string>

namespace mxring::parser {
namespace {

TEST(ReceivedFields, CountsOnlyFieldsNamedReceivedInTheHeaderSection) {
  const std::string message =
      "Received: from a\r\n"
      "RECEIVED:from b\r\n"
      "received \t : from c\r\n"
      " Received: a continuation line\r\n"
      "Received-SPF: pass\r\n"
      "X-Received: from d\r\n"
      "Receive: from e\r\n"
      "Received\r\n"
      "Subject: s\r\n"
      "\r\n"
      "Received: from the body\r\n";
  EXPECT_EQ(count_received_fields(message, 100), 3u);
}

TEST(ReceivedFields, StopsAtTheLimit) {
  std::string message;
  for (int i = 0; i < 500; ++i) message += "Received: x\r\n";
  EXPECT_EQ(count_received_fields(message, 100), 100u);
  EXPECT_EQ(count_received_fields(message, 1000), 500u);
}

TEST(ReceivedFields, ReadsLfLinesAndAMessageWithoutABody) {
  EXPECT_EQ(count_received_fields("Received: a\nReceived: b\n\nReceived: c\n", 100), 2u);
  EXPECT_EQ(count_received_fields("Received: a\r\nReceived: b", 100), 2u);  // no line end
  EXPECT_EQ(count_received_fields("\r\nReceived: a\r\n", 100), 0u);         // empty header
  EXPECT_EQ(count_received_fields("", 100), 0u);
}

}  // namespace
}  // namespace mxring::parser
