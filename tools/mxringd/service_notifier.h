// Telling systemd how the service is doing (sd_notify(3), libsystemd): READY=1 once every
// listener is bound, RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 when draining,
// and WATCHDOG=1 while every reactor's event loop keeps turning (a stuck reactor stops the
// pings and systemd restarts the service). Without $NOTIFY_SOCKET each call does nothing.
// The socket is connected when the notifier is made, so it keeps working after --chroot.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mxring::tools {

class ServiceNotifier {
 public:
  ServiceNotifier();
  ~ServiceNotifier();
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;
  void ready(const std::string& status);
  void reloading();
  void stopping();
  // Called often (every main-loop tick) with the slowest reactor's turn count; pings at half
  // the watchdog interval, and only when that count has moved since the last ping.
  void tick(std::uint64_t slowest_reactor_turns);

 private:
  void send(const std::string& message);

  int socket_ = -1;  // connected to $NOTIFY_SOCKET
  std::chrono::microseconds watchdog_{0};
  std::chrono::steady_clock::time_point last_ping_;
  std::uint64_t last_turns_ = 0;
};

}  // namespace mxring::tools
