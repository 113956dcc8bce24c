// One io_uring, created and used by one thread: set up with the flags the design asks for
// (falling back, with a log line, where the kernel lacks them), probed, and owned (RAII).
#pragma once

#include <liburing.h>

#include <optional>
#include <string>

namespace mxring::engine {

struct RingSetup {
  unsigned sq_entries = 1024;
  unsigned cq_entries = 8192;  // CQ much larger than SQ: multishot requests post many CQEs
};

class Ring {
 public:
  // Must run on the thread that will use the ring (SINGLE_ISSUER binds it to its creator).
  // On failure returns nothing and says why in `error`.
  static std::optional<Ring> create(const RingSetup& setup, std::string& error);

  // What this kernel lacks of what mxring uses, or empty. Opcodes are probed; multishot
  // accept/recv and provided buffer rings have no probe bit, so they are checked by version.
  static std::string missing_features();

  Ring(Ring&& other) noexcept;
  Ring& operator=(Ring&&) = delete;
  Ring(const Ring&) = delete;
  ~Ring();

  io_uring* get() { return &ring_; }
  // A free SQE; submits what is queued first when the SQ is full.
  io_uring_sqe* sqe();
  // Room for `count` SQEs in a row (at most the SQ's size), submitting what is queued first
  // when there is less: a link chain goes to the kernel whole. The kernel ends a chain with
  // the submission that carries it, so the part of a cut chain submitted next would not wait
  // for the part before it.
  void reserve(unsigned count);
  bool defer_taskrun() const { return defer_taskrun_; }

 private:
  Ring() = default;
  io_uring ring_{};
  bool live_ = false;
  bool defer_taskrun_ = false;
};

}  // namespace mxring::engine
