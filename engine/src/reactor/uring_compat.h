// Kernel io_uring values that liburing 2.3 (Debian 12) does not define. <linux/io_uring.h>
// cannot be included beside <liburing.h> (same include guard), so they live here, pinned by
// a unit test.
#pragma once

#include <liburing.h>

namespace mxring::engine::uring {

inline constexpr unsigned kRecvsendBundle = 1U << 4;  // sqe->ioprio (kernel 6.10)
inline constexpr unsigned kBufRingRegisterPbufStatus = 26;

}  // namespace mxring::engine::uring
