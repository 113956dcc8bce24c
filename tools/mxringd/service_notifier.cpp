#include "service_notifier.h"

#include <systemd/sd-daemon.h>

namespace mxring::tools {

ServiceNotifier::ServiceNotifier() : last_ping_(std::chrono::steady_clock::now()) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
}

void ServiceNotifier::ready(const std::string& status) {
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}

void ServiceNotifier::reloading() {
  sd_notify(0, "RELOADING=1");
}

void ServiceNotifier::stopping() {
  sd_notify(0, "STOPPING=1\nSTATUS=draining");
}

void ServiceNotifier::tick(std::uint64_t slowest_reactor_turns) {
  if (watchdog_.count() == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ping_ < watchdog_ / 2 || slowest_reactor_turns == last_turns_) return;
  last_turns_ = slowest_reactor_turns;
  last_ping_ = now;
  sd_notify(0, "WATCHDOG=1");
}

}  // namespace mxring::tools
