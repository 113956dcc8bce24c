// "ADDR:PORT[:MORE]" as both programs take it (--listen, --target): a numeric address, IPv6
// in brackets ([::1]:2525), never a name to look up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "mxring/engine/socket_address.h"

namespace mxring::tools {

struct HostPort {
  std::string address;
  std::uint16_t port = 0;
  engine::SocketAddress socket;     // address and port as bind and connect take them
  std::optional<std::string> more;  // what followed a further ':' (a listener's role)
};

// Throws CLI::ValidationError naming `option` when `text` is not of that shape.
HostPort parse_host_port(const std::string& text, const std::string& option);

}  // namespace mxring::tools
