// io_uring setup with SINGLE_ISSUER|DEFER_TASKRUN (COOP_TASKRUN fallback) and the probe.
#include "ring.h"

#include <sys/utsname.h>

#include <cstring>
#include <utility>

#include "mxring/engine/log.h"

namespace mxring::engine {
namespace {

bool kernel_at_least(int major, int minor) {
  utsname name{};
  if (uname(&name) != 0) return false;
  int have_major = 0, have_minor = 0;
  if (std::sscanf(name.release, "%d.%d", &have_major, &have_minor) != 2) return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

}  // namespace

std::string Ring::missing_features() {
  std::string missing;
  io_uring_probe* probe = io_uring_get_probe();
  if (probe == nullptr) return "io_uring (io_uring_setup failed; is kernel.io_uring_disabled set?)";
  const struct {
    int op;
    const char* name;
  } needed[] = {
      {IORING_OP_ACCEPT, "IORING_OP_ACCEPT"},   {IORING_OP_RECV, "IORING_OP_RECV"},
      {IORING_OP_SEND, "IORING_OP_SEND"},       {IORING_OP_CLOSE, "IORING_OP_CLOSE"},
      {IORING_OP_READ, "IORING_OP_READ"},       {IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"},
      {IORING_OP_TIMEOUT, "IORING_OP_TIMEOUT"},
  };
  for (const auto& op : needed) {
    if (!io_uring_opcode_supported(probe, op.op)) {
      if (!missing.empty()) missing += ", ";
      missing += op.name;
    }
  }
  io_uring_free_probe(probe);
  // Multishot recv (6.0) is the newest behaviour relied on; multishot accept and provided
  // buffer rings came in 5.19.
  if (!kernel_at_least(6, 0)) {
    if (!missing.empty()) missing += ", ";
    missing += "multishot recv and provided buffer rings (Linux 6.0 or later)";
  }
  return missing;
}

std::optional<Ring> Ring::create(const RingSetup& setup, std::string& error) {
  Ring ring;
  io_uring_params params{};
  params.cq_entries = setup.cq_entries;
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
                 IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(setup.sq_entries, &ring.ring_, &params);
  ring.defer_taskrun_ = rc == 0;
  if (rc == -EINVAL) {
    // Before Linux 6.1: completions run at our next io_uring_enter instead (same CPU cost
    // per request here, uring-wolfssl.md §3.2).
    log(Level::warning, "io_uring: DEFER_TASKRUN unavailable, using COOP_TASKRUN");
    params = {};
    params.cq_entries = setup.cq_entries;
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                   IORING_SETUP_TASKRUN_FLAG;
    rc = io_uring_queue_init_params(setup.sq_entries, &ring.ring_, &params);
  }
  if (rc < 0) {
    error = std::string("io_uring_queue_init: ") + std::strerror(-rc);
    return std::nullopt;
  }
  ring.live_ = true;
  // Saves the fd table lookup on every io_uring_enter; optional.
  if (io_uring_register_ring_fd(&ring.ring_) < 0)
    log(Level::info, "io_uring: ring fd registration unavailable");
  return std::optional<Ring>(std::move(ring));
}

Ring::Ring(Ring&& other) noexcept
    : ring_(other.ring_),
      live_(std::exchange(other.live_, false)),
      defer_taskrun_(other.defer_taskrun_) {}

Ring::~Ring() {
  if (live_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Ring::reserve(unsigned count) {
  while (io_uring_sq_space_left(&ring_) < count) io_uring_submit(&ring_);
}

}  // namespace mxring::engine
