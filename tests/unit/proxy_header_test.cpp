// PROXY protocol headers (HAProxy's specification v1 and v2): every accepted shape, every
// prefix waits for more, and malformed or oversized headers are refused at once.
#include "mxring/parser/proxy_header.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxring::parser {
namespace {

using namespace std::string_literals;

const std::string kSignature("\r\n\r\n\0\r\nQUIT\n", 12);

std::string v2(unsigned char command, unsigned char family, const std::string& body) {
  return kSignature + static_cast<char>(command) + static_cast<char>(family) +
         static_cast<char>(body.size() >> 8) + static_cast<char>(body.size() & 255) + body;
}

std::string tlv(unsigned char type, const std::string& value) {
  return std::string(1, static_cast<char>(type)) + static_cast<char>(value.size() >> 8) +
         static_cast<char>(value.size() & 255) + value;
}

void expect_every_prefix_waits(const std::string& header) {
  for (std::size_t n = 0; n < header.size(); ++n)
    EXPECT_EQ(parse_proxy_header(header.substr(0, n)).status, ProxyStatus::need_more) << n;
}

TEST(ProxyHeader, Version1Tcp4AndTcp6) {
  const std::string header = "PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n";
  const std::string received = header + "EHLO x\r\n";
  const auto h = parse_proxy_header(received);
  ASSERT_EQ(h.status, ProxyStatus::ok);
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.length, header.size());
  EXPECT_EQ(h.command, ProxyCommand::proxied);
  EXPECT_FALSE(h.ipv6);
  EXPECT_EQ(h.source_text, "192.0.2.7");
  EXPECT_EQ(h.destination_text, "198.51.100.1");
  EXPECT_EQ(h.source_port, 40000);
  EXPECT_EQ(h.destination_port, 25);
  expect_every_prefix_waits(header);

  const auto six = parse_proxy_header("PROXY TCP6 2001:db8::1 ::ffff:192.0.2.1 1 65535\r\n");
  ASSERT_EQ(six.status, ProxyStatus::ok);
  EXPECT_TRUE(six.ipv6);
  EXPECT_EQ(six.source_text, "2001:db8::1");
  EXPECT_EQ(six.destination_port, 65535);

  const auto unknown = parse_proxy_header("PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n");
  ASSERT_EQ(unknown.status, ProxyStatus::ok);
  EXPECT_EQ(unknown.command, ProxyCommand::local);
}

TEST(ProxyHeader, Version1Refusals) {
  for (const std::string& bad : std::vector<std::string>{
           "PROXY TCP4 192.0.2.7 198.51.100.1 40000\r\n", "PROXY TCP4 192.0.2.7 1.1.1.1 1 2 3\r\n",
           "PROXY TCP5 192.0.2.7 1.1.1.1 1 2\r\n", "PROXY TCP4 2001:db8::1 1.1.1.1 1 2\r\n",
           "PROXY TCP4 1.1.1.1 1.1.1.1 65536 2\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 01 2\r\n",
           "PROXY TCP4 1.1.1.1 1.1.1.1 -1 2\r\n", "PROXY TCP4  1.1.1.1 1.1.1.1 1 2\r\n",
           "PROXY " + std::string(120, '1'), "proxy TCP4 1.1.1.1 1.1.1.1 1 2\r\n", "HELO x\r\n",
           "\r\n\r\nX"})
    EXPECT_EQ(parse_proxy_header(bad).status, ProxyStatus::invalid) << bad;
}

TEST(ProxyHeader, Version2AddressesAndTlvs) {
  const std::string addresses = "\xc0\x00\x02\x07\x7f\x00\x00\x01\x9c\x40\x00\x19"s;
  const std::string ssl = "\x01\x00\x00\x00\x00"s + tlv(kProxyTlvSslVersion, "TLSv1.3") +
                          tlv(kProxyTlvSslCipher, "TLS_AES_128_GCM_SHA256");
  const std::string tlvs =
      tlv(kProxyTlvAuthority, "mx.example") + tlv(0x04, "pad") + tlv(kProxyTlvSsl, ssl);
  const auto header = v2(0x21, 0x11, addresses + tlvs);
  const std::string received = header + "EHLO x\r\n";
  const auto h = parse_proxy_header(received);
  ASSERT_EQ(h.status, ProxyStatus::ok);
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.length, header.size());
  EXPECT_EQ(h.command, ProxyCommand::proxied);
  EXPECT_EQ(h.source[0], 192);
  EXPECT_EQ(h.source[3], 7);
  EXPECT_EQ(h.source_port, 40000);
  EXPECT_EQ(h.destination_port, 25);
  std::vector<std::pair<int, std::string>> seen;
  EXPECT_TRUE(for_each_proxy_tlv(h.tlvs, [&](std::uint8_t type, std::string_view value) {
    seen.emplace_back(type, std::string(value));
  }));
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], (std::pair<int, std::string>{kProxyTlvAuthority, "mx.example"}));
  EXPECT_EQ(seen[3], (std::pair<int, std::string>{kProxyTlvSslVersion, "TLSv1.3"}));
  EXPECT_EQ(seen[4].second, "TLS_AES_128_GCM_SHA256");
  expect_every_prefix_waits(header);

  const auto six = parse_proxy_header(v2(0x21, 0x21, std::string(36, '\1')));
  ASSERT_EQ(six.status, ProxyStatus::ok);
  EXPECT_TRUE(six.ipv6);
  EXPECT_EQ(six.source_port, 0x0101);

  const auto local = parse_proxy_header(v2(0x20, 0x00, ""));
  ASSERT_EQ(local.status, ProxyStatus::ok);
  EXPECT_EQ(local.command, ProxyCommand::local);
  const auto unspec = parse_proxy_header(v2(0x21, 0x00, "ignored"));
  ASSERT_EQ(unspec.status, ProxyStatus::ok);
  EXPECT_EQ(unspec.command, ProxyCommand::local);
  EXPECT_TRUE(unspec.tlvs.empty());  // ignored whole (found by proxy_header_fuzz)
}

TEST(ProxyHeader, Version2Refusals) {
  const std::string addresses(12, '\1');
  EXPECT_EQ(parse_proxy_header(v2(0x11, 0x11, addresses)).status, ProxyStatus::invalid);  // v1
  EXPECT_EQ(parse_proxy_header(v2(0x22, 0x11, addresses)).status, ProxyStatus::invalid);
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x12, addresses)).status, ProxyStatus::invalid);  // UDP
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x31, std::string(216, 'u'))).status,
            ProxyStatus::invalid);                                                        // UNIX
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x21, addresses)).status, ProxyStatus::invalid);  // short
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, addresses + "\x02\x00\x09"s + "ab")).status,
            ProxyStatus::invalid);  // a TLV longer than what is left
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, addresses + tlv(kProxyTlvSsl, "\x01"))).status,
            ProxyStatus::invalid);  // an SSL TLV too short for its fixed part
  // A length past what mxring accepts is refused at once, not waited for.
  EXPECT_EQ(parse_proxy_header(kSignature + "\x21\x11\xff\xff"s).status, ProxyStatus::invalid);
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, std::string(kMaxProxyV2Body + 1, 'x'))).status,
            ProxyStatus::invalid);
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, std::string(kMaxProxyV2Body, 'x'))).status,
            ProxyStatus::invalid);  // long enough, but its TLVs do not parse
}

}  // namespace
}  // namespace mxring::parser
