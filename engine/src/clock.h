// The engine's two clocks, read the same way everywhere.
#pragma once

#include <cstdint>
#include <ctime>

namespace mxring::engine {

// CLOCK_MONOTONIC in nanoseconds: durations and deadlines.
inline std::int64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// CLOCK_REALTIME in microseconds since the epoch: envelopes and log lines.
inline std::int64_t unix_us() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
}

}  // namespace mxring::engine
