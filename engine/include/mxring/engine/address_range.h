// An address range in CIDR notation ("10.0.0.0/8", "2001:db8::/32", or one address): who may
// send PROXY headers (--proxy-trusted). IPv4 is kept IPv4-mapped, so "127.0.0.1" also covers
// "::ffff:127.0.0.1" on a dual-stack socket.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace mxring::engine {

// One client address as the engine keys, limits and looks it up: 16 octets, IPv4 mapped into
// IPv6 (::ffff:192.0.2.1), so a dual-stack socket's mapped clients are the same clients.
using MappedOctets = std::array<std::uint8_t, 16>;

inline MappedOctets mapped_octets(const sockaddr_storage& address) {
  MappedOctets octets{};
  if (address.ss_family == AF_INET6) {
    std::memcpy(octets.data(), &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, 16);
  } else {
    octets[10] = octets[11] = 0xff;
    std::memcpy(octets.data() + 12, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, 4);
  }
  return octets;
}

// A numeric address as written ("192.0.2.1", "2001:db8::1"), mapped likewise, and whether it
// was written as IPv4; nothing for anything else (no names: no DNS).
struct ParsedAddress {
  MappedOctets octets{};
  bool ipv4 = false;
};
std::optional<ParsedAddress> parse_address(std::string_view text);

// `octets` with every bit past the first `bits` (of the mapped 128) cleared: the network of an
// address at a prefix length.
MappedOctets masked(const MappedOctets& octets, unsigned bits);

// The numeric text of a socket address, and its port. An IPv4 client of a dual-stack IPv6
// socket (an inherited [::]:25, say) arrives as ::ffff:a.b.c.d and is named as the IPv4
// address it is, in the Received field's literal (RFC 5321 §4.1.3), the logs and the envelope.
std::string numeric_address(const sockaddr_storage& address, std::uint16_t& port);

class AddressRange {
 public:
  // nullopt for anything but a numeric address with an optional /prefix in range.
  static std::optional<AddressRange> parse(std::string_view text);
  bool contains(const MappedOctets& address) const {
    return masked(address, prefix_) == masked(octets_, prefix_);
  }
  bool contains(const sockaddr_storage& address) const { return contains(mapped_octets(address)); }
  const std::string& text() const { return text_; }
  // The network address, IPv4 mapped, as written (host bits included), and the prefix length
  // in the mapped 128-bit space (an IPv4 /24 is 120).
  const MappedOctets& octets() const { return octets_; }
  unsigned prefix() const { return prefix_; }

 private:
  MappedOctets octets_{};
  unsigned prefix_ = 128;  // in the mapped 128-bit space
  std::string text_;
};

}  // namespace mxring::engine
