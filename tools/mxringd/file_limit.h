// Each connection is a file descriptor. mxringd raises RLIMIT_NOFILE to what its
// configuration needs (as root it may raise the hard limit too) and refuses to start with a
// clear error when it cannot; only the built-in default of --max-connections is lowered to
// fit instead, with a warning, so a plain `mxringd` starts anywhere.
#pragma once

#include <cstdint>
#include <string>

namespace mxring::tools {

// Descriptors needed besides connections: listeners, rings, eventfds, segment files, logs.
inline constexpr std::uint64_t kFileDescriptorReserve = 1024;

// Returns false with `error` set when `max_connections` (given explicitly when `explicit_max`)
// cannot be served; may lower a default `max_connections`, saying so in `warning`.
bool ensure_file_limit(std::uint32_t& max_connections, bool explicit_max, std::string& warning,
                       std::string& error);

}  // namespace mxring::tools
