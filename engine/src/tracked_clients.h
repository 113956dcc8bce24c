// The most clients (or networks) a per-client table holds: the rate limiter's windows and the
// AUTH throttle's failures. About 100 octets each; every reactor holds every client of a
// rate window. An IPv6 sender has more addresses (and /64s) than memory, so past this a
// client not yet held goes uncounted rather than grow the table: a limit fails open, it
// never refuses every new client.
#pragma once

#include <cstddef>

namespace mxring::engine {

inline constexpr std::size_t kMaxTrackedClients = 1u << 18;

}  // namespace mxring::engine
