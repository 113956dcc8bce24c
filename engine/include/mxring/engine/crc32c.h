// CRC32C (Castagnoli), the checksum of every spool record: SSE4.2's crc32 instruction in three
// chains at once joined with PCLMULQDQ when the CPU has them, a table otherwise.
// crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mxring::engine {

// Extends `crc` (0 to start) over `size` octets.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size);

}  // namespace mxring::engine
