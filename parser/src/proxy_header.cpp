// PROXY protocol v1 (a text line) and v2 (binary), per HAProxy's specification.
#include "mxring/parser/proxy_header.h"

#include <cstring>

namespace mxring::parser {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::size_t kV1Max = 107;  // spec §2.1: the worst case, CRLF included
constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

ProxyHeader invalid() {
  ProxyHeader h;
  h.status = ProxyStatus::invalid;
  return h;
}

bool is_prefix_of(std::string_view bytes, std::string_view whole) {
  return whole.substr(0, bytes.size()) == bytes.substr(0, whole.size());
}

// A decimal port: 1-5 digits, no leading zero (spec §2.1), at most 65535.
bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  std::uint32_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool plausible_address(std::string_view text, bool ipv6) {
  if (text.empty() || text.size() > 45) return false;
  for (const char c : text) {
    const bool digit = c >= '0' && c <= '9';
    const bool hex = digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!(ipv6 ? hex || c == ':' || c == '.' : digit || c == '.')) return false;
  }
  return true;
}

ProxyHeader parse_v1(std::string_view bytes) {
  const auto end = bytes.substr(0, kV1Max).find("\r\n");
  if (end == std::string_view::npos) return bytes.size() >= kV1Max ? invalid() : ProxyHeader{};
  ProxyHeader h;
  h.version = 1;
  h.length = end + 2;
  std::string_view rest = bytes.substr(kV1Prefix.size(), end - kV1Prefix.size());
  std::string_view fields[5];
  std::size_t count = 0;
  while (!rest.empty() && count < 5) {
    const auto space = rest.find(' ');
    fields[count++] = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  if (count >= 1 && fields[0] == "UNKNOWN") {  // the balancer could not tell: use the peer
    h.status = ProxyStatus::ok;
    h.command = ProxyCommand::local;
    return h;
  }
  if (count != 5 || !rest.empty()) return invalid();
  if (fields[0] != "TCP4" && fields[0] != "TCP6") return invalid();
  h.ipv6 = fields[0] == "TCP6";
  if (!plausible_address(fields[1], h.ipv6) || !plausible_address(fields[2], h.ipv6) ||
      !parse_port(fields[3], h.source_port) || !parse_port(fields[4], h.destination_port))
    return invalid();
  h.source_text = fields[1];
  h.destination_text = fields[2];
  h.command = ProxyCommand::proxied;
  h.status = ProxyStatus::ok;
  return h;
}

ProxyHeader parse_v2(std::string_view bytes) {
  if (bytes.size() < 16) return ProxyHeader{};
  const auto version_command = static_cast<std::uint8_t>(bytes[12]);
  const auto family_transport = static_cast<std::uint8_t>(bytes[13]);
  const std::size_t body =
      static_cast<std::uint8_t>(bytes[14]) << 8 | static_cast<std::uint8_t>(bytes[15]);
  if (version_command >> 4 != 2 || (version_command & 15) > 1 || body > kMaxProxyV2Body)
    return invalid();
  if (bytes.size() < 16 + body) return ProxyHeader{};
  ProxyHeader h;
  h.version = 2;
  h.length = 16 + body;
  const auto payload = bytes.substr(16, body);
  if ((version_command & 15) == 0) {  // LOCAL: the balancer itself; addresses are ignored
    h.status = ProxyStatus::ok;
    return h;
  }
  const auto family = family_transport >> 4;
  const auto transport = family_transport & 15;
  if (family == 0) {  // UNSPEC: the receiver ignores what follows (spec §2.2)
    h.status = ProxyStatus::ok;
    return h;
  }
  // TCP over IPv4 or IPv6; UDP and UNIX sockets do not carry SMTP from a client.
  if ((family != 1 && family != 2) || transport != 1) return invalid();
  const std::size_t addresses = family == 1 ? 12 : 36;
  if (payload.size() < addresses) return invalid();
  h.tlvs = payload.substr(addresses);
  h.ipv6 = family == 2;
  const std::size_t width = h.ipv6 ? 16 : 4;
  std::memcpy(h.source.data(), payload.data(), width);
  std::memcpy(h.destination.data(), payload.data() + width, width);
  const auto* ports = reinterpret_cast<const unsigned char*>(payload.data() + 2 * width);
  h.source_port = static_cast<std::uint16_t>(ports[0] << 8 | ports[1]);
  h.destination_port = static_cast<std::uint16_t>(ports[2] << 8 | ports[3]);
  h.command = ProxyCommand::proxied;
  h.status = for_each_proxy_tlv(h.tlvs, [](std::uint8_t, std::string_view) {})
                 ? ProxyStatus::ok
                 : ProxyStatus::invalid;
  return h;
}

}  // namespace

ProxyHeader parse_proxy_header(std::string_view bytes) {
  if (bytes.size() >= kV2Signature.size() && bytes.substr(0, 12) == kV2Signature)
    return parse_v2(bytes);
  if (bytes.size() >= kV1Prefix.size() && bytes.substr(0, 6) == kV1Prefix) return parse_v1(bytes);
  if (is_prefix_of(bytes, kV2Signature) || is_prefix_of(bytes, kV1Prefix)) return ProxyHeader{};
  return invalid();
}

}  // namespace mxring::parser
