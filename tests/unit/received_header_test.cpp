// The trace header: protocol names (RFC 3848, RFC 6531 §3.7.3), address literals for IPv4
// and IPv6 (RFC 5321 §4.1.3), and the RFC 5322 date.
#include "received_header.h"

#include <gtest/gtest.h>

namespace mxring::engine {
namespace {

TEST(ReceivedHeader, ProtocolNames) {
  ReceivedFields f;
  EXPECT_EQ(received_protocol(f), "SMTP");
  f.esmtp = true;
  EXPECT_EQ(received_protocol(f), "ESMTP");
  f.tls_version = "TLSv1.3";
  EXPECT_EQ(received_protocol(f), "ESMTPS");
  f.authenticated = true;
  EXPECT_EQ(received_protocol(f), "ESMTPSA");
  f.tls_version = {};
  EXPECT_EQ(received_protocol(f), "ESMTPA");
  f.smtputf8 = true;
  EXPECT_EQ(received_protocol(f), "UTF8SMTPA");
  f.tls_version = "TLSv1.2";
  EXPECT_EQ(received_protocol(f), "UTF8SMTPSA");
}

TEST(ReceivedHeader, Ipv6ClientIsAnIpv6AddressLiteral) {
  ReceivedFields fields;
  fields.helo = "client.example";
  fields.esmtp = true;
  fields.client_address = "2001:db8::1";
  fields.host_name = "mx.example";
  fields.queue_id = "Q9";
  ByteBuffer out;
  append_received_header(out, fields);
  EXPECT_EQ(out.view(),
            "Received: from client.example ([IPv6:2001:db8::1])\r\n"
            "\tby mx.example (mxring) with ESMTP id Q9; Thu, 01 Jan 1970 00:00:00 +0000\r\n");
}

TEST(ReceivedHeader, DateIsRfc5322InUtc) {
  char date[32];
  const auto n = format_rfc5322_date(1795824000 + 3600 * 13 + 61, date);
  EXPECT_EQ(std::string_view(date, n), "Sat, 28 Nov 2026 13:01:01 +0000");
  const auto m = format_rfc5322_date(951782400, date);  // a leap day
  EXPECT_EQ(std::string_view(date, m), "Tue, 29 Feb 2000 00:00:00 +0000");
}

}  // namespace
}  // namespace mxring::engine
