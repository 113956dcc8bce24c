// The PROXY protocol header a load balancer (HAProxy, AWS NLB) sends before the client's
// bytes, so the server learns the real client address (HAProxy's "PROXY protocol"
// specification, versions 1 and 2). Parsed before the SMTP greeting on listeners that
// require it; the caller decides whom to believe (only trusted peers may send one).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mxring::parser {

enum class ProxyStatus : std::uint8_t {
  need_more,  // a valid beginning: wait for more octets
  ok,
  invalid,  // not a PROXY header, malformed, or longer than any header mxring accepts
};

enum class ProxyCommand : std::uint8_t {
  proxied,  // the addresses are the client's and the balancer's listener
  local,    // v2 LOCAL (the balancer's own health check) or v1 UNKNOWN: use the TCP peer
};

struct ProxyHeader {
  ProxyStatus status = ProxyStatus::need_more;
  std::size_t length = 0;  // octets the header takes (when ok); the client's bytes follow
  int version = 0;         // 1 or 2
  ProxyCommand command = ProxyCommand::local;
  bool ipv6 = false;
  // v1 carries addresses as text (syntax checked here; the caller converts them), v2 as
  // octets (4 or 16 used).
  std::string_view source_text, destination_text;
  std::array<std::uint8_t, 16> source{}, destination{};
  std::uint16_t source_port = 0, destination_port = 0;
  std::string_view tlvs;  // v2: the type-length-value area after the addresses
};

// The longest header accepted: v1's 107 octets; v2 with up to 1,024 octets of addresses and
// TLVs (HAProxy sends a few dozen). A longer v2 length is refused, not waited for.
inline constexpr std::size_t kMaxProxyV2Body = 1024;

ProxyHeader parse_proxy_header(std::string_view bytes);

// v2 TLV types mxring records (spec §2.2.x).
enum ProxyTlvType : std::uint8_t {
  kProxyTlvAuthority = 0x02,   // the server name the client asked for (SNI)
  kProxyTlvSsl = 0x20,         // the client's TLS connection to the balancer; sub-TLVs:
  kProxyTlvSslVersion = 0x21,  // e.g. "TLSv1.3"
  kProxyTlvSslCipher = 0x23,   // e.g. "TLS_AES_128_GCM_SHA256"
};

// Calls visit(type, value) for each TLV; for kProxyTlvSsl also for each of its sub-TLVs
// (after its own). False when a length overruns its container.
template <typename Visit>
bool for_each_proxy_tlv(std::string_view tlvs, Visit&& visit) {
  while (!tlvs.empty()) {
    if (tlvs.size() < 3) return false;
    const auto type = static_cast<std::uint8_t>(tlvs[0]);
    const std::size_t length =
        static_cast<std::uint8_t>(tlvs[1]) << 8 | static_cast<std::uint8_t>(tlvs[2]);
    if (tlvs.size() - 3 < length) return false;
    const auto value = tlvs.substr(3, length);
    visit(type, value);
    // PP2_TYPE_SSL: client (1 octet), verify (4 octets), then sub-TLVs.
    if (type == kProxyTlvSsl && (value.size() < 5 || !for_each_proxy_tlv(value.substr(5), visit)))
      return false;
    tlvs.remove_prefix(3 + length);
  }
  return true;
}

}  // namespace mxring::parser
