#include "mxring/engine/address_range.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace mxring::engine {

std::optional<ParsedAddress> parse_address(std::string_view text) {
  const std::string address(text);
  ParsedAddress parsed;
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    parsed.octets[10] = parsed.octets[11] = 0xff;
    std::memcpy(parsed.octets.data() + 12, &v4, 4);
    parsed.ipv4 = true;
    return parsed;
  }
  if (inet_pton(AF_INET6, address.c_str(), parsed.octets.data()) == 1) return parsed;
  return std::nullopt;
}

std::string numeric_address(const sockaddr_storage& address, std::uint16_t& port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr))
      inet_ntop(AF_INET, &a6.sin6_addr.s6_addr[12], text, sizeof text);
    else
      inet_ntop(AF_INET6, &a6.sin6_addr, text, sizeof text);
    port = ntohs(a6.sin6_port);
  } else {
    const auto& a4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &a4.sin_addr, text, sizeof text);
    port = ntohs(a4.sin_port);
  }
  return text;
}

std::optional<AddressRange> AddressRange::parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto address = parse_address(text.substr(0, slash));
  if (!address) return std::nullopt;
  AddressRange range;
  range.text_ = std::string(text);
  range.octets_ = address->octets;
  const unsigned width = address->ipv4 ? 32 : 128;
  unsigned prefix = width;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
        prefix > width)
      return std::nullopt;
  }
  range.prefix_ = prefix + (128 - width);
  return range;
}

MappedOctets masked(const MappedOctets& octets, unsigned bits) {
  MappedOctets network{};
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0)
    network[i] = octets[i] & (bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits)));
  return network;
}

}  // namespace mxring::engine
