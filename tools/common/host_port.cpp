#include "host_port.h"

#include <sys/socket.h>

#include <CLI/CLI.hpp>

namespace mxring::tools {

HostPort parse_host_port(const std::string& text, const std::string& option) {
  HostPort parsed;
  std::string rest;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw CLI::ValidationError(option, "expected [IPv6]:PORT, got " + text);
    parsed.address = text.substr(1, close - 1);
    rest = text.substr(close + 2);
  } else {
    const auto colon = text.find(':');
    if (colon == std::string::npos)
      throw CLI::ValidationError(option, "expected ADDR:PORT, got " + text);
    parsed.address = text.substr(0, colon);
    rest = text.substr(colon + 1);
  }
  const auto colon = rest.find(':');
  try {
    std::size_t used = 0;
    const auto port_text = rest.substr(0, colon);
    const auto port = std::stoul(port_text, &used);
    if (used != port_text.size() || port == 0 || port > 65535) throw std::out_of_range("port");
    parsed.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    throw CLI::ValidationError(option, "bad port in " + text);
  }
  // Numeric only, IPv6 in brackets: a name would need a DNS query, which mxring never makes
  // unasked.
  const bool v6 = text[0] == '[';
  const auto socket = engine::socket_address(parsed.address, parsed.port);
  if (!socket || (socket->family() == AF_INET6) != v6)
    throw CLI::ValidationError(option, "not a numeric " + std::string(v6 ? "IPv6" : "IPv4") +
                                           " address: " + parsed.address +
                                           " (names are not looked up)");
  parsed.socket = *socket;
  if (colon != std::string::npos) parsed.more = rest.substr(colon + 1);
  return parsed;
}

}  // namespace mxring::tools
