// Input padding contract shared by every parser entry point.
// SIMD kernels load whole 64-byte blocks, so inputs carry readable bytes past their end.
#pragma once

#include <cstddef>

namespace mxring::parser {

// Readable (not necessarily initialised) bytes every parser input must have after its last
// byte, and writable bytes every output buffer must have after the space the data needs.
inline constexpr std::size_t kPadding = 64;

}  // namespace mxring::parser
