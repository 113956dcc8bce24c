// Timestamped stderr lines, written whole.
#include "mxring/engine/log.h"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <string>

namespace mxring::engine {
namespace {

std::atomic<Level> minimum_level{Level::info};

constexpr std::string_view name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warning:
      return "warning";
    case Level::error:
      return "error";
  }
  return "info";
}

}  // namespace

void set_log_level(Level minimum) {
  minimum_level.store(minimum, std::memory_order_relaxed);
}

void log(Level level, std::string_view message) {
  if (level < minimum_level.load(std::memory_order_relaxed)) return;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char stamp[32];
  const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string line(stamp, n);
  char millis[16];
  std::snprintf(millis, sizeof millis, ".%03dZ ", static_cast<int>(now.tv_nsec / 1'000'000));
  line += millis;
  line += name(level);
  line += ": mxringd: ";
  line += message;
  line += '\n';
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace mxring::engine
