// Listening sockets: the one place that turns a configured listener into a bound socket,
// for the reactors (SO_REUSEPORT, one each) and for the start-up check that nobody else
// listens there.
#pragma once

#include <string>

#include "mxring/engine/server.h"

namespace mxring::engine {

// A socket bound to the listener's address, or -1 with `error` set. `reuse_port`: the
// reactors' shared SO_REUSEPORT group; without it the bind fails if anyone listens there.
int bind_listener(const ListenerConfig& listener, bool reuse_port, std::string& error);

// What every listening socket is given, those the service manager hands over too: options
// the sockets it accepts inherit.
void set_listener_options(int fd);

}  // namespace mxring::engine
