// A whole file's octets, for the configuration files the engine and tools read at start and
// on SIGHUP (users, client access, credentials, certificates) and for messages mxring bench
// sends. Not for the spool: segments are read through spool_reader.h and spool_stream.h.
#pragma once

#include <optional>
#include <string>

namespace mxring::engine {

// The file's octets, unchanged (binary); nothing when it cannot be opened.
std::optional<std::string> read_file_text(const std::string& path);

}  // namespace mxring::engine
