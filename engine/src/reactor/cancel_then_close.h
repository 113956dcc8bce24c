// Closing a socket that io_uring still reads or writes: cancel those requests, then close.
//
// A plain close leaves an armed multishot recv holding the socket, so no FIN reaches the peer
// until the recv is cancelled (uring-wolfssl.md §2.2). The cancels name each request by its
// user_data: a cancel by file descriptor makes the kernel compare every pending request of the
// ring, so beside 15,000 idle connections each close cost ~420 µs of the reactor's time instead
// of ~45 (bench/e2e/RESULTS.md, "Closing beside idle connections").
#pragma once

#include <liburing.h>

#include <cstdint>
#include <span>

#include "ring.h"

namespace mxring::engine {

// Queues one cancel per request in `in_flight` (user_data values), hard-linked in order to the
// close of `fd`: the close runs whether or not a cancel found its request. A cancel that
// succeeds posts nothing; one that fails posts `cancel_user_data` with its error.
inline void cancel_then_close(Ring& ring, int fd, std::span<const std::uint64_t> in_flight,
                              std::uint64_t cancel_user_data, std::uint64_t close_user_data) {
  ring.reserve(static_cast<unsigned>(in_flight.size()) + 1);
  for (const auto request : in_flight) {
    auto* cancel = ring.sqe();
    io_uring_prep_cancel64(cancel, request, 0);
    io_uring_sqe_set_data64(cancel, cancel_user_data);
    cancel->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
  }
  auto* close = ring.sqe();
  io_uring_prep_close(close, fd);
  io_uring_sqe_set_data64(close, close_user_data);
}

}  // namespace mxring::engine
