// The attributes of Postfix's XCLIENT command (postfix.org/XCLIENT_README.html): a trusted
// proxy tells the server who its client really is. Pure syntax here; the session decides
// whether the sender may use it and what the values mean.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace mxring::parser {

enum class XclientAttribute : std::uint8_t {
  name,      // the client's host name (as the proxy looked it up)
  addr,      // its address: IPv4 dotted quad, or "IPV6:" and an IPv6 address
  port,      // its port
  proto,     // SMTP or ESMTP: how it greeted the proxy
  helo,      // its HELO/EHLO name
  login,     // the SASL login name the proxy authenticated
  destaddr,  // the address and port the client connected to (accepted, not used)
  destport,
};
inline constexpr std::size_t kXclientAttributes = 8;

// "[UNAVAILABLE]" and "[TEMPUNAVAIL]" stand for a value the proxy does not have.
inline constexpr std::string_view kXclientUnavailable = "[UNAVAILABLE]";
inline constexpr std::string_view kXclientTempUnavailable = "[TEMPUNAVAIL]";

struct XclientAttributes {
  std::array<std::string_view, kXclientAttributes> values{};  // xtext as sent, in the line
  std::uint8_t present = 0;                                   // a bit per XclientAttribute

  bool has(XclientAttribute a) const { return present & (1u << static_cast<unsigned>(a)); }
  std::string_view operator[](XclientAttribute a) const {
    return values[static_cast<std::size_t>(a)];
  }
};

// Reads "NAME=value ADDR=value ..." (names in any case, values xtext per RFC 3461 §4).
// False on an unknown name, a missing '=', a value that is not xtext, or a repeated name.
bool parse_xclient(std::string_view arguments, XclientAttributes& out);

}  // namespace mxring::parser
