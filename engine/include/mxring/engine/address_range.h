// An address range in CIDR notation ("10.0.0.0/8", "2001:db8::/32", or one address): who may
// send PROXY headers (--proxy-trusted). IPv4 is kept IPv4-mapped, so "127.0.0.1" also covers
// "::ffff:127.0.0.1" on a dual-stack socket.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mxring::engine {

class AddressRange {
 public:
  // nullopt for anything but a numeric address with an optional /prefix in range.
  static std::optional<AddressRange> parse(std::string_view text);
  bool contains(const sockaddr_storage& address) const;
  const std::string& text() const { return text_; }
  // The network address, IPv4 mapped, as written (host bits included), and the prefix length
  // in the mapped 128-bit space (an IPv4 /24 is 120).
  const std::array<std::uint8_t, 16>& octets() const { return octets_; }
  unsigned prefix() const { return prefix_; }

 private:
  std::array<std::uint8_t, 16> octets_{};
  unsigned prefix_ = 128;  // in the mapped 128-bit space
  std::string text_;
};

}  // namespace mxring::engine
