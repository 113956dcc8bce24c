// Typed io_uring user_data: {operation, generation, slot} in 64 bits, so a completion that
// arrives after its connection closed (and the slot was reused) is recognised as stale.
#pragma once

#include <cstdint>

namespace mxring::engine {

enum class Op : std::uint8_t {
  accept = 1,  // slot = listener index
  recv,
  send,
  cancel,  // slot = connection
  close,
  wake,     // the reactor's eventfd
  release,  // the error tarpit's timeout: the connection's held replies may go
};

struct UserData {
  Op op;
  std::uint32_t generation;  // 24 bits are kept
  std::uint32_t slot;

  static constexpr std::uint32_t kGenerationMask = (1u << 24) - 1;

  std::uint64_t pack() const {
    return static_cast<std::uint64_t>(op) << 56 |
           static_cast<std::uint64_t>(generation & kGenerationMask) << 32 | slot;
  }
  static UserData unpack(std::uint64_t v) {
    return {static_cast<Op>(v >> 56), static_cast<std::uint32_t>(v >> 32) & kGenerationMask,
            static_cast<std::uint32_t>(v)};
  }
};

}  // namespace mxring::engine
