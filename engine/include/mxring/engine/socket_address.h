// A numeric IPv4 or IPv6 address and a port, as bind(2) and connect(2) take them: the
// listeners, and the clients in tools (mxring bench, selftest, spool replay). mxring never
// looks a name up, so text that is not a numeric address has no socket address.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace mxring::engine {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// `address` as IPv4 ("127.0.0.1") or IPv6 ("::1", no brackets); nothing when it is neither.
std::optional<SocketAddress> socket_address(const std::string& address, std::uint16_t port);

}  // namespace mxring::engine
