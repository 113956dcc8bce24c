#include "mxring/engine/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace mxring::engine {

std::optional<SocketAddress> socket_address(const std::string& address, std::uint16_t port) {
  SocketAddress result;
  auto& a4 = reinterpret_cast<sockaddr_in&>(result.storage);
  auto& a6 = reinterpret_cast<sockaddr_in6&>(result.storage);
  if (inet_pton(AF_INET, address.c_str(), &a4.sin_addr) == 1) {
    a4.sin_family = AF_INET;
    a4.sin_port = htons(port);
    result.length = sizeof a4;
  } else if (inet_pton(AF_INET6, address.c_str(), &a6.sin6_addr) == 1) {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(port);
    result.length = sizeof a6;
  } else {
    return std::nullopt;
  }
  return result;
}

}  // namespace mxring::engine
