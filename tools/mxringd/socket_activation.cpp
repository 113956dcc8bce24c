// sd_listen_fds(3) through libsystemd, then each socket's bound address from getsockname().
#include "socket_activation.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstring>

namespace mxring::tools {
namespace {

std::string describe(const std::string& address, std::uint16_t port) {
  const bool ipv6 = address.find(':') != std::string::npos;
  return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

}  // namespace

bool InheritedSockets::take(std::string& error) {
  // unset_environment = 1: nothing this process starts could take them for its own.
  const int count = sd_listen_fds(1);
  if (count < 0) {
    error = std::string("socket activation: ") + std::strerror(-count);
    return false;
  }
  for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; ++fd) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    // Listening (Accept=no) TCP sockets only: with Accept=yes each would be one connection.
    if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
      error = "socket activation: inherited descriptor " + std::to_string(fd) +
              " is not a listening TCP socket (the .socket unit needs Accept=no and "
              "ListenStream= addresses)";
      return false;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    InheritedSocket socket;
    socket.fd = fd;
    socket.address = engine::mapped_octets(bound);
    socket.text = engine::numeric_address(bound, socket.port);
    sockets_.push_back(std::move(socket));
  }
  return true;
}

// By the address's octets, so "::1" and "0:0::1" are one address.
int InheritedSockets::claim(const std::string& address, std::uint16_t port) {
  const auto wanted = engine::parse_address(address);
  for (auto& socket : sockets_) {
    if (wanted && socket.port == port && socket.address == wanted->octets) {
      socket.used = true;
      return socket.fd;
    }
  }
  return -1;
}

bool InheritedSockets::assign(engine::ServerConfig& config, std::string& error) {
  for (auto& listener : config.listeners)
    listener.inherited_fd = claim(listener.address, listener.port);
  if (config.metrics_port != 0)
    config.metrics_inherited_fd = claim(config.metrics_address, config.metrics_port);
  for (const auto& socket : sockets_) {
    if (socket.used) continue;
    // Matched by address as written, not by what it would accept: systemd's
    // ListenStream=25 is [::]:25, which --listen 0.0.0.0:25 is not.
    error = "socket activation: the inherited socket " + describe(socket.text, socket.port) +
            " matches no --listen or --metrics address; add --listen " +
            describe(socket.text, socket.port) + "[:ROLE]";
    return false;
  }
  return true;
}

InheritedSockets::~InheritedSockets() {
  for (const auto& socket : sockets_) close(socket.fd);
}

}  // namespace mxring::tools
