// Address parsing, socket options and bind for listeners.
#include "listener_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mxring/engine/socket_address.h"

namespace mxring::engine {

void set_listener_options(int fd) {
  // Replies are small and each answers a command the client waits on: no Nagle delay.
  // Accepted sockets inherit the option (uring-wolfssl.md §2.2).
  const int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

int bind_listener(const ListenerConfig& listener, bool reuse_port, std::string& error) {
  const auto address = socket_address(listener.address, listener.port);
  if (!address) {
    error = "not a numeric address: " + listener.address;
    return -1;
  }
  const int fd = socket(address->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  set_listener_options(fd);
  if (address->family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (bind(fd, address->get(), address->length) != 0) {
    error = "cannot listen on " + listener.address + ":" + std::to_string(listener.port) + ": " +
            std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace mxring::engine
