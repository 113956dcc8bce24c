#include "service_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace mxring::tools {

// sd_notify(3)'s protocol: one datagram to the AF_UNIX socket $NOTIFY_SOCKET names ("@" for
// the abstract namespace). Connected once here rather than by path at every call (as
// sd_notify does), because after --chroot that path no longer resolves.
ServiceNotifier::ServiceNotifier() : last_ping_(std::chrono::steady_clock::now()) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const auto length = std::strlen(path);
  if (length >= sizeof address.sun_path || (path[0] != '/' && path[0] != '@')) return;
  std::memcpy(address.sun_path, path, length);
  if (path[0] == '@') address.sun_path[0] = '\0';
  socket_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  if (socket_ >= 0 && connect(socket_, reinterpret_cast<sockaddr*>(&address), size) != 0) {
    close(socket_);
    socket_ = -1;
  }
}

ServiceNotifier::~ServiceNotifier() {
  if (socket_ >= 0) close(socket_);
}

void ServiceNotifier::send(const std::string& message) {
  if (socket_ >= 0) [[maybe_unused]]
    const auto sent = ::send(socket_, message.data(), message.size(), MSG_NOSIGNAL);
}

void ServiceNotifier::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
}

void ServiceNotifier::reloading() {
  send("RELOADING=1");
}

void ServiceNotifier::stopping() {
  send("STOPPING=1\nSTATUS=draining");
}

void ServiceNotifier::tick(std::uint64_t slowest_reactor_turns) {
  if (watchdog_.count() == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ping_ < watchdog_ / 2 || slowest_reactor_turns == last_turns_) return;
  last_turns_ = slowest_reactor_turns;
  last_ping_ = now;
  send("WATCHDOG=1");
}

}  // namespace mxring::tools
