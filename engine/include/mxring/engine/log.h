// Plain operational log lines on stderr, one write(2) per line so threads never interleave.
// Structured per-transaction logs are a separate concern.
#pragma once

#include <string_view>

namespace mxring::engine {

enum class Level : unsigned char { debug, info, warning, error };

void set_log_level(Level minimum);
void log(Level level, std::string_view message);

}  // namespace mxring::engine
