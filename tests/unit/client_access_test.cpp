// ClientAccess (--client-access): the first rule holding the client decides, IPv4 and IPv6
// (IPv4 mapped), the refusal's text, and tables refused with the line that is wrong.
#include "mxring/engine/client_access.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "mxring/engine/address_range.h"

namespace mxring::engine {
namespace {

ClientAccess make(std::string_view table) {
  auto built = ClientAccess::build(table);
  if (auto* error = std::get_if<PolicyError>(&built))
    ADD_FAILURE() << "line " << error->line << ": " << error->message;
  return std::get<ClientAccess>(std::move(built));
}

// `address` as a session holds it: IPv4 mapped into IPv6.
MappedOctets client(const char* address) {
  const auto parsed = parse_address(address);
  EXPECT_TRUE(parsed) << address;
  return parsed ? parsed->octets : MappedOctets{};
}

// The reply a client gets, or "" when it is permitted.
std::string verdict(const ClientAccess& access, const char* address) {
  const auto* refusal = access.refusal(client(address));
  return refusal ? *refusal : std::string();
}

TEST(ClientAccess, AClientNoRuleHoldsIsPermitted) {
  const auto access = make("192.0.2.0/24 reject\n");
  EXPECT_EQ(verdict(access, "198.51.100.1"), "");
  EXPECT_EQ(verdict(access, "192.0.3.0"), "");
  EXPECT_EQ(verdict(access, "::1"), "");
  EXPECT_EQ(verdict(make(""), "192.0.2.1"), "");
}

TEST(ClientAccess, ARefusedClientGetsTheRulesTextOrAccessDenied) {
  const auto access = make(
      "192.0.2.0/24 reject\n"
      "198.51.100.0/24   REJECT   Listed as a source of spam; see https://example.org/why  \n");
  EXPECT_EQ(verdict(access, "192.0.2.0"), "554 5.7.1 Access denied\r\n");
  EXPECT_EQ(verdict(access, "192.0.2.255"), "554 5.7.1 Access denied\r\n");
  EXPECT_EQ(verdict(access, "198.51.100.9"),
            "554 5.7.1 Listed as a source of spam; see https://example.org/why\r\n");
}

// Postfix reads a cidr: table in order; so does this, whatever the prefix lengths.
TEST(ClientAccess, TheFirstRuleHoldingTheClientDecides) {
  const auto exception_first = make(
      "192.0.2.7 permit\n"
      "192.0.2.0/24 reject\n");
  EXPECT_EQ(verdict(exception_first, "192.0.2.7"), "");
  EXPECT_EQ(verdict(exception_first, "192.0.2.8"), "554 5.7.1 Access denied\r\n");
  const auto network_first = make(
      "192.0.2.0/24 reject\n"
      "192.0.2.7 ok\n");
  EXPECT_EQ(verdict(network_first, "192.0.2.7"), "554 5.7.1 Access denied\r\n");
  const auto wide_permit_first = make(
      "10.0.0.0/8 permit\n"
      "10.1.0.0/16 reject\n"
      "0.0.0.0/0 reject everyone else\n");
  EXPECT_EQ(verdict(wide_permit_first, "10.1.2.3"), "");
  EXPECT_EQ(verdict(wide_permit_first, "11.1.2.3"), "554 5.7.1 everyone else\r\n");
}

TEST(ClientAccess, IPv6RangesAndIPv4OnesStayApart) {
  const auto access = make(
      "2001:db8::/32 reject\n"
      "2001:db8:1::5 permit\n"
      "0.0.0.0/0 reject\n");
  EXPECT_EQ(verdict(access, "2001:db8:ffff::1"), "554 5.7.1 Access denied\r\n");
  EXPECT_EQ(verdict(access, "2001:db8:1::5"), "554 5.7.1 Access denied\r\n");  // first rule
  EXPECT_EQ(verdict(access, "2001:db9::1"), "");
  EXPECT_EQ(verdict(access, "::1"), "");  // 0.0.0.0/0 holds IPv4 clients only
  EXPECT_EQ(verdict(access, "127.0.0.1"), "554 5.7.1 Access denied\r\n");
  // An IPv4 client on a dual-stack socket arrives mapped; it is the same client.
  EXPECT_EQ(verdict(access, "::ffff:127.0.0.1"), "554 5.7.1 Access denied\r\n");
}

TEST(ClientAccess, PrefixesOfEveryLengthMatchExactly) {
  for (unsigned bits = 0; bits <= 32; ++bits) {
    // 255.255.255.255/bits with its host bits cleared: the range of the top addresses.
    const std::uint32_t network = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    in_addr a{htonl(network)};
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, text, sizeof text);
    const auto access = make(std::string(text) + "/" + std::to_string(bits) + " reject\n");
    EXPECT_NE(verdict(access, "255.255.255.255"), "") << bits;
    if (bits == 0) continue;
    // The last address below the range: the prefix's lowest bit differs.
    in_addr below{htonl(network - 1)};
    inet_ntop(AF_INET, &below, text, sizeof text);
    EXPECT_EQ(verdict(access, text), "") << bits << " " << text;
  }
}

TEST(ClientAccess, ALargeTableIsAHashLookupPerPrefixLength) {
  std::string table;
  for (int i = 0; i < 20000; ++i)
    table +=
        "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".0/24 reject\n";
  table += "172.16.0.1 reject last\n";
  const auto access = make(table);
  EXPECT_EQ(access.rules(), 20001u);
  EXPECT_EQ(verdict(access, "10.78.31.200"), "554 5.7.1 Access denied\r\n");
  EXPECT_EQ(verdict(access, "172.16.0.1"), "554 5.7.1 last\r\n");
  EXPECT_EQ(verdict(access, "172.16.0.2"), "");
}

TEST(ClientAccess, CommentsAndBlankLinesAreSkipped) {
  const auto access = make(
      "# refused networks\n"
      "\n"
      "   192.0.2.0/24 reject  # a comment after a rule\n"
      "\t\n");
  EXPECT_EQ(access.rules(), 1u);
  EXPECT_EQ(verdict(access, "192.0.2.1"), "554 5.7.1 Access denied\r\n");
}

TEST(ClientAccess, ATableThatWouldNotMeanWhatItSaysIsRefusedWithItsLine) {
  const auto refused = [](std::string_view table, std::size_t line, std::string_view says) {
    auto built = ClientAccess::build(table);
    const auto* error = std::get_if<PolicyError>(&built);
    ASSERT_NE(error, nullptr) << table;
    EXPECT_EQ(error->line, line) << table;
    EXPECT_NE(error->message.find(says), std::string::npos) << error->message;
  };
  refused("192.0.2.0/24\n", 1, "permit or reject");
  refused("# c\n192.0.2.0/24 deny\n", 2, "the action is permit or reject");
  refused("192.0.2.0/33 reject\n", 1, "not an address or CIDR range");
  refused("example.com reject\n", 1, "not an address or CIDR range");
  refused("192.0.2.1/24 reject\n", 1, "bits set past its prefix");
  refused("2001:db8::1/32 reject\n", 1, "bits set past its prefix");
  refused("192.0.2.0/24 permit but why\n", 1, "permit takes no text");
  refused("192.0.2.0/24 reject caf\xc3\xa9\n", 1, "printable ASCII");
  refused("192.0.2.0/24 reject " + std::string(401, 'x') + "\n", 1, "at most 400");
  refused("192.0.2.0/24 reject\n10.0.0.0/8 permit\n192.0.2.0/24 permit\n", 3,
          "given twice (first on line 1)");
}

}  // namespace
}  // namespace mxring::engine
