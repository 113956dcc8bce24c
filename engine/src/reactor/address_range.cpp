#include "mxring/engine/address_range.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace mxring::engine {
namespace {

std::array<std::uint8_t, 16> mapped(const sockaddr_storage& address) {
  std::array<std::uint8_t, 16> octets{};
  if (address.ss_family == AF_INET6) {
    std::memcpy(octets.data(), &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, 16);
  } else {
    octets[10] = octets[11] = 0xff;
    std::memcpy(octets.data() + 12, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, 4);
  }
  return octets;
}

}  // namespace

std::optional<AddressRange> AddressRange::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  AddressRange range;
  range.text_ = std::string(text);
  unsigned width = 128;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    range.octets_[10] = range.octets_[11] = 0xff;
    std::memcpy(range.octets_.data() + 12, &v4, 4);
    width = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    std::memcpy(range.octets_.data(), &v6, 16);
  } else {
    return std::nullopt;
  }
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

bool AddressRange::contains(const sockaddr_storage& address) const {
  const auto octets = mapped(address);
  unsigned bits = prefix_;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
    const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((octets[i] & mask) != (octets_[i] & mask)) return false;
  }
  return true;
}

}  // namespace mxring::engine
