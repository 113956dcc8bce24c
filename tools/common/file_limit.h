// Each connection is a file descriptor. mxringd and `mxring bench` raise RLIMIT_NOFILE to
// what their connections need (as root the hard limit too) and refuse to start with a clear
// error when they cannot; only mxringd's built-in default of --max-connections is lowered to
// fit instead, with a warning, so a plain `mxringd` starts anywhere.
#pragma once

#include <cstdint>
#include <string>

namespace mxring::tools {

struct ConnectionFiles {
  const char* option;     // what sets the count: "--max-connections", "--connections"
  bool given = true;      // set explicitly (else a default, which may be lowered to fit)
  std::uint64_t reserve;  // descriptors needed besides connections
};

// mxringd's descriptors besides connections: listeners, rings, eventfds, segments, logs.
inline constexpr std::uint64_t kServerFileReserve = 1024;

// Returns false with `error` set when `connections` cannot be open at once; may lower a
// default `connections`, saying so in `warning`.
bool ensure_file_limit(std::uint32_t& connections, const ConnectionFiles& need,
                       std::string& warning, std::string& error);

}  // namespace mxring::tools
