// Sockets the service manager hands over (systemd socket activation, sd_listen_fds(3)): it
// binds them, keeps them open across restarts, and connections that arrive while mxringd
// restarts wait in their backlog instead of being refused. Each inherited socket serves the
// --listen (or --metrics) entry bound to the same address and port; a socket no entry names
// is an error, and entries no socket names are bound by mxringd itself as usual.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mxring/engine/address_range.h"
#include "mxring/engine/server.h"

namespace mxring::tools {

struct InheritedSocket {
  int fd = -1;
  engine::MappedOctets address{};  // where it is bound
  std::uint16_t port = 0;
  std::string text;  // the address as --listen writes it (IPv6 without brackets)
  bool used = false;
};

class InheritedSockets {
 public:
  // Takes the sockets passed to this process ($LISTEN_PID, $LISTEN_FDS; the variables are
  // unset, the descriptors made close-on-exec). None when there are none. False, with
  // `error`, when one is not a listening TCP socket (a .socket unit with Accept=yes, say).
  bool take(std::string& error);
  // Gives each listener and the metrics listener the socket bound to its address; false,
  // with `error`, when a socket is left over. The sockets stay open while this object
  // lives: reactors accept on duplicates, so the service manager's copy outlives a drain.
  bool assign(engine::ServerConfig& config, std::string& error);

  InheritedSockets() = default;
  InheritedSockets(const InheritedSockets&) = delete;
  InheritedSockets& operator=(const InheritedSockets&) = delete;
  ~InheritedSockets();

 private:
  int claim(const std::string& address, std::uint16_t port);

  std::vector<InheritedSocket> sockets_;
};

}  // namespace mxring::tools
