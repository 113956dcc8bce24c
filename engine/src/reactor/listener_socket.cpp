// Address parsing, socket options and bind for listeners.
#include "listener_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mxring::engine {

void set_listener_options(int fd) {
  // Replies are small and each answers a command the client waits on: no Nagle delay.
  // Accepted sockets inherit the option (uring-wolfssl.md §2.2).
  const int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

int bind_listener(const ListenerConfig& listener, bool reuse_port, std::string& error) {
  sockaddr_storage address{};
  socklen_t length = 0;
  const bool ipv6 = listener.address.find(':') != std::string::npos;
  if (ipv6) {
    auto& a6 = reinterpret_cast<sockaddr_in6&>(address);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(listener.port);
    if (inet_pton(AF_INET6, listener.address.c_str(), &a6.sin6_addr) == 1) length = sizeof a6;
  } else {
    auto& a4 = reinterpret_cast<sockaddr_in&>(address);
    a4.sin_family = AF_INET;
    a4.sin_port = htons(listener.port);
    if (inet_pton(AF_INET, listener.address.c_str(), &a4.sin_addr) == 1) length = sizeof a4;
  }
  if (length == 0) {
    error = "not a numeric address: " + listener.address;
    return -1;
  }
  const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  set_listener_options(fd);
  if (ipv6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    error = "cannot listen on " + listener.address + ":" + std::to_string(listener.port) + ": " +
            std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace mxring::engine
